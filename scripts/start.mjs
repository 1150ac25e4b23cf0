/**
 * `npm start`: runs the gateway from its build (dist/main.js, see scripts/build.mjs), rebuilding it first
 * when a source file or the installed packages changed since it was built. Plain JavaScript, so that no
 * TypeScript loader sits in front of the gateway's imports.
 */
import { pathToFileURL } from 'node:url';
import { buildGateway, entry, staleReason } from './build.mjs';

const reason = staleReason();
if (reason) {
  const ms = await buildGateway();
  console.log(`built dist/main.js in ${ms} ms (${reason})`);
}
await import(pathToFileURL(entry).href);
