/**
 * A worker thread of the hashing pool (src/pool.ts): reads and digests the files it is sent (the
 * run's list once, then ranges of it), with
 * the same safe open and the same xxHash64 (and sha384) as the main thread, and posts the results
 * back. It keeps no cache and knows no generation: the main thread decides what is stored.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadDigester } from './digest.js';
import { digestJob, type PoolMessage } from './pool.js';

// A test seam (STATIC_HASH_POOL_CRASH=1 in the calling thread, see src/pool.ts): the worker exits as
// if it had crashed, on its first batch.
const crash = (workerData as { crash?: boolean } | null)?.crash === true;

// Not a top-level await: this file is also built as CommonJS.
void loadDigester().then(() => {
  let list: Exclude<PoolMessage, [number, number]> | undefined;
  parentPort!.on('message', (message: PoolMessage) => {
    if (!Array.isArray(message)) {
      list = message;
      return;
    }
    if (crash) process.exit(70);
    const { files, references, integrity } = list!;
    const outcomes = [];
    for (let index = message[0]; index < message[1]; index++) outcomes.push(digestJob(files[index]!, references[index]!, integrity));
    parentPort!.postMessage(outcomes);
  });
  parentPort!.postMessage('ready');
});
