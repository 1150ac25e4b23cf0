/**
 * One gateway process for multi-process tests and benchmarks: builds the app from the environment
 * (as main.ts does), prints one JSON line `{"url": ...}` on stdout once listening, and stops cleanly on
 * SIGTERM or when its stdin closes (so a parent that dies never leaves it running).
 */
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const app = await buildApp(loadConfig());
const url = await app.start();
process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await app.stop();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();
