/**
 * A sender thread (see send-threads.ts): makes the calls the main thread hands it with sendOnce, through a guarded
 * client of its own built from the same outbound settings, and answers each call's outcome. Calls come and
 * outcomes go in batches: one message per turn of either event loop, not one per call.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../../config.js';
import { createHttpClient } from '../../infra/http.js';
import { sendOnce, type AttemptOutcome, type SendInput } from './sender.js';

export type Call = [id: number, input: SendInput];
export type Answer = [id: number, outcome: AttemptOutcome];

const port = parentPort!;
const http = createHttpClient((workerData as { outbound: Config['outbound'] }).outbound);
let answers: Answer[] = [];
const answer = () => {
  port.postMessage(answers);
  answers = [];
};

port.on('message', (calls: Call[]) => {
  for (const [id, input] of calls) {
    // Keys arrive as plain bytes (Buffers are cloned as Uint8Arrays): viewed as Buffers again, not copied.
    if (input.signing) input.signing = { ...input.signing, keys: input.signing.keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.byteLength)) };
    void sendOnce({ http }, input).then((outcome) => {
      if (!answers.length) setImmediate(answer);
      answers.push([id, outcome]);
    });
  }
});
