/**
 * The pool of worker threads that `warm()` and `buildManifest()` (and so `static-hash build`'s
 * manifest walk) read and digest files with (issue #20). Workers only read and hash; the calling
 * thread keeps every cache and the generation, and stores a result only if the generation it was
 * asked under is still current. Started per call, lazily (node:worker_threads is loaded on first use),
 * and terminated when the call's work is done or fails: no thread outlives the call.
 */
import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { nodeCrypto, nodeOs } from './deferred.js';
import { digestBytes, digestFile } from './digest.js';
import { StaticHashError, type StaticHashErrorCode } from './errors.js';
import { poolWorkerFile } from './pool-location.js';
import { readRegularFile } from './read-file.js';

/** One file to digest: its real path inside its root, and the reference (for error messages). */
export interface PoolJob {
  file: string;
  reference: string;
}

/** A job's outcome: the full xxHash64 (undefined: the file vanished), or the StaticHashError it raised. */
export type PoolOutcome =
  | { digest: string | undefined; integrity?: string }
  | { error: { code: StaticHashErrorCode; message: string; file: string | undefined } };

/**
 * Below this many files to digest, a call stays on its own thread. Measured on the development
 * machine: a worker is ready with xxhash-wasm after about 35 ms (W), during which it takes CPU from
 * the calling thread, and one thread digests the benchmark tree's files (42 KiB on average) at about
 * 20 µs each. n threads pay off when the digest work D exceeds W·n/(n-1): about 3,500 such files
 * for 2 threads, 2,000 for 8 (docs/performance.md, "Worker threads").
 */
export const POOL_MIN_FILES = 4096;
// Files per message: large enough that messaging is a small share, small enough to balance the load.
const BATCH = 32;

let live = 0;

/** Worker threads of the pool alive in this process right now (a test seam: 0 after every call). */
export function liveWorkers(): number {
  return live;
}

/** Digests one job, on whichever thread runs it. Never throws a StaticHashError: it becomes the outcome. */
export function digestJob(job: PoolJob, integrity: boolean): PoolOutcome {
  try {
    if (!integrity) return { digest: digestFile(job.file, job.reference) };
    const bytes = readRegularFile(job.file, job.reference);
    if (bytes === undefined) return { digest: undefined };
    return { digest: digestBytes(bytes), integrity: `sha384-${nodeCrypto().createHash('sha384').update(bytes).digest('base64')}` };
  } catch (error) {
    if (!(error instanceof StaticHashError)) throw error;
    return { error: { code: error.code, message: error.message, file: error.file } };
  }
}

let workerFile: string | null | undefined;

/**
 * The built worker file, or null when there is none beside this module: the TypeScript sources run
 * directly (ts-jest, ts-node) have no pool-worker.js, and a walk then stays on its own thread.
 */
function builtWorkerFile(): string | null {
  if (workerFile === undefined) {
    const file = poolWorkerFile();
    workerFile = fs.existsSync(file) ? file : null;
  }
  return workerFile;
}

/** Whether this copy of the package can start workers (see builtWorkerFile). */
export function poolAvailable(): boolean {
  return builtWorkerFile() !== null;
}

/** The thread count a `threads` option means: by default the cores available (node:os loaded only here). */
export function threadCount(threads: number | undefined): number {
  return threads ?? nodeOs().availableParallelism();
}

/**
 * Digests `jobs` on `threads` threads: `threads - 1` workers and the calling thread, which works
 * through the same queue of batches while the workers start and between their messages. Outcomes
 * come back in job order. A worker that dies fails the call with `ERR_STATIC_WORKER`, after every
 * worker of the call has been terminated.
 */
export async function digestInPool(jobs: readonly PoolJob[], threads: number, integrity: boolean): Promise<PoolOutcome[]> {
  const { Worker: WorkerClass } = await import('node:worker_threads');
  const outcomes: PoolOutcome[] = new Array<PoolOutcome>(jobs.length);
  let next = 0;
  const take = (): [number, number] | undefined => {
    if (next >= jobs.length) return undefined;
    const start = next;
    next = Math.min(jobs.length, next + BATCH);
    return [start, next];
  };

  // STATIC_HASH_POOL_CRASH=1, the crash test seam: workers exit on their first batch
  // (src/pool-worker.ts), and every batch is left to them, so that one surely gets one.
  const crashSeam = process.env.STATIC_HASH_POOL_CRASH === '1';
  const workers: Worker[] = [];
  const idle: Array<() => void> = [];
  const drives: Array<Promise<void>> = [];
  const file = builtWorkerFile();
  for (let index = 1; file !== null && index < threads; index++) {
    // No execArgv from the process: a worker refuses some of them (`node --input-type=module -e …`
    // made every worker fail), and it loads only this package's own files.
    const worker = new WorkerClass(file, { execArgv: [], stdout: false, stderr: false, workerData: { crash: crashSeam } });
    live++;
    worker.once('exit', () => live--);
    workers.push(worker);
    drives.push(new Promise<void>((resolve, reject) => {
      let range: [number, number] | undefined;
      let finished = false;
      const finish = () => {
        finished = true;
        resolve();
      };
      const send = () => {
        range = take();
        if (range === undefined) finish();
        else worker.postMessage({ jobs: jobs.slice(range[0], range[1]), integrity });
      };
      // Still starting when the queue runs dry: the call does not wait for it.
      idle.push(() => {
        if (range === undefined && !finished && next >= jobs.length) finish();
      });
      worker.on('message', (message: 'ready' | PoolOutcome[]) => {
        if (finished) return;
        if (message !== 'ready' && range !== undefined) {
          for (let offset = 0; offset < message.length; offset++) outcomes[range[0] + offset] = message[offset]!;
        }
        send();
      });
      worker.once('error', (error) => reject(workerFailed(String(error), error)));
      worker.once('exit', (code) => {
        if (!finished) reject(workerFailed(`it exited with code ${code}`));
      });
    }));
  }
  // A rejection is handled below, after the calling thread's share; no unhandled rejection meanwhile.
  const all = Promise.all(drives);
  all.catch(() => {});
  try {
    for (let range = crashSeam ? undefined : take(); range !== undefined; range = take()) {
      for (let index = range[0]; index < range[1]; index++) outcomes[index] = digestJob(jobs[index]!, integrity);
      // Let the workers' messages in: each gets its next batch at once.
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const settle of idle) settle();
    await all;
  } catch (error) {
    // No thread is left running when the call fails.
    await Promise.all(workers.map((worker) => worker.terminate()));
    throw error;
  }
  // Done: a worker still starting (or just finishing) is stopped without waiting for it, and can no
  // longer keep the process alive.
  for (const worker of workers) {
    worker.unref();
    void worker.terminate();
  }
  return outcomes;
}

function workerFailed(why: string, cause?: unknown): StaticHashError {
  return new StaticHashError('ERR_STATIC_WORKER', `static-hash: a hashing worker thread failed (${why}); nothing the call hashed was stored`, { cause });
}
