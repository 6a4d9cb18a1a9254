/**
 * A worker thread of the hashing pool (src/pool.ts): reads and digests the files it is sent, with
 * the same safe open and the same xxHash64 (and sha384) as the main thread, and posts the results
 * back. It keeps no cache and knows no generation: the main thread decides what is stored.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadDigester } from './digest.js';
import { digestJob, type PoolJob } from './pool.js';

// A test seam (STATIC_HASH_POOL_CRASH=1 in the calling thread, see src/pool.ts): the worker exits as
// if it had crashed, on its first batch.
const crash = (workerData as { crash?: boolean } | null)?.crash === true;

// Not a top-level await: this file is also built as CommonJS.
void loadDigester().then(() => {
  parentPort!.on('message', (batch: { jobs: PoolJob[]; integrity: boolean }) => {
    if (crash) process.exit(70);
    parentPort!.postMessage(batch.jobs.map((job) => digestJob(job, batch.integrity)));
  });
  parentPort!.postMessage('ready');
});
