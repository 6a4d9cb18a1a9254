/**
 * The pool of worker threads that `warm()` and `buildManifest()` (and so `static-hash build`'s
 * manifest walk) read and digest files with (issue #20). Workers only read and hash; the calling
 * thread keeps every cache and the generation, and stores a result only if the generation it was
 * asked under is still current. Started per call, lazily (node:worker_threads is loaded on first use),
 * and terminated when the call's work is done or fails: no thread outlives the call.
 */
import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { nodeCrypto, nodeOs, nodeWorkerThreads as loadWorkerThreads } from './deferred.js';
import { digestBytes, digestFile } from './digest.js';
import { StaticHashError, type StaticHashErrorCode } from './errors.js';
import { poolWorkerFile } from './pool-location.js';
import { readRegularFile } from './read-file.js';

/** One file to digest: its real path inside its root, and the reference (for error messages). */
export interface PoolJob {
  file: string;
  reference: string;
}

/**
 * A job's outcome, compact because thousands cross between threads: the full xxHash64 as a string
 * (the common case), `null` when the file vanished, the digest with its integrity value, or the
 * StaticHashError it raised.
 */
export type PoolOutcome = string | null | PoolDigest;

/** An outcome decoded: the full digest (undefined: the file vanished) with its integrity value, or the error it carries. */
export type PoolDigest =
  | { digest: string | undefined; integrity?: string }
  | { error: { code: StaticHashErrorCode; message: string; file: string | undefined } };

/** What the calling thread sends a worker: the run's jobs once, then ranges of them to digest. */
export type PoolMessage = { files: string[]; references: string[]; integrity: boolean } | [start: number, end: number];

/** An outcome decoded (see {@link PoolDigest}). */
export function outcomeDigest(outcome: PoolOutcome): PoolDigest {
  if (typeof outcome === 'string') return { digest: outcome };
  if (outcome === null) return { digest: undefined };
  return outcome;
}

// Below POOL_MIN_FILES files (src/options.ts, beside the `threads` option) a walk stays on its own thread.
export { POOL_MIN_FILES } from './options.js';
// Files per message: large enough that messaging is a small share, small enough to balance the load.
const BATCH = 32;
// Batches a worker holds at once (see HashPool.run).
const IN_FLIGHT = 2;

let live = 0;

/** Worker threads of the pool alive in this process right now (a test seam: 0 after every call). */
export function liveWorkers(): number {
  return live;
}

/** Digests one file, on whichever thread runs it. Never throws a StaticHashError: it becomes the outcome. */
export function digestJob(file: string, reference: string, integrity: boolean): PoolOutcome {
  try {
    if (!integrity) return digestFile(file, reference) ?? null;
    const bytes = readRegularFile(file, reference);
    if (bytes === undefined) return null;
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
 * A pool of `threads - 1` worker threads, started at once (each boots on its own OS thread while
 * the caller goes on: a walk starts it as soon as it has listed enough files, and goes on listing).
 * {@link HashPool.run} digests one list of jobs with the workers and the calling thread; whatever
 * happens, no worker outlives the run (or {@link HashPool.stop}).
 */
export class HashPool {
  readonly #workers: Worker[] = [];
  // Set by run(): what a worker does with a message. Until then a worker only says it is ready.
  readonly #ready = new Set<Worker>();
  #onReady: ((worker: Worker) => void) | undefined;
  #failure: ((error: StaticHashError) => void) | undefined;
  #failed: StaticHashError | undefined;
  readonly #answer = new Map<Worker, (outcomes: PoolOutcome[]) => void>();

  private constructor(threads: number, WorkerClass: typeof Worker, file: string) {
    // STATIC_HASH_POOL_CRASH=1, the crash test seam: workers exit on their first batch
    // (src/pool-worker.ts), and every batch is left to them, so that one surely gets one.
    const crash = process.env.STATIC_HASH_POOL_CRASH === '1';
    for (let index = 1; index < threads; index++) {
      // No execArgv from the process: a worker refuses some of them (`node --input-type=module -e …`
      // made every worker fail), and it loads only this package's own files.
      const worker = new WorkerClass(file, { execArgv: [], stdout: false, stderr: false, workerData: { crash } });
      live++;
      worker.once('exit', () => live--);
      worker.on('message', (message: 'ready' | PoolOutcome[]) => {
        if (message === 'ready') {
          this.#ready.add(worker);
          this.#onReady?.(worker);
        } else {
          this.#answer.get(worker)?.(message);
        }
      });
      worker.once('error', (error) => this.#fail(workerFailed(String(error), error)));
      worker.once('exit', (code) => {
        if (this.#workers.includes(worker)) this.#fail(workerFailed(`it exited with code ${code}`));
      });
      this.#workers.push(worker);
    }
  }

  /**
   * Starts the workers of a pool of `threads` threads, or returns undefined when this copy of the
   * package has no built worker file (see builtWorkerFile) or `threads` is 1.
   */
  static start(threads: number): HashPool | undefined {
    const file = builtWorkerFile();
    if (file === null || threads <= 1) return undefined;
    return new HashPool(threads, loadWorkerThreads().Worker, file);
  }

  #fail(error: StaticHashError): void {
    this.#failed ??= error;
    this.#failure?.(error);
  }

  /**
   * Digests `jobs` with the workers and the calling thread, which works through the same queue of
   * batches from the first moment (while workers start) and between their messages. Outcomes come
   * back in job order. A worker that dies fails the call with `ERR_STATIC_WORKER`, after every
   * worker has been terminated. The pool is stopped when the run ends: one run per pool.
   */
  async run(jobs: readonly PoolJob[], integrity: boolean): Promise<PoolOutcome[]> {
    const outcomes: PoolOutcome[] = new Array<PoolOutcome>(jobs.length);
    // The jobs cross to each worker once (two arrays of strings clone fast); batches are ranges.
    const list: PoolMessage = { files: jobs.map((job) => job.file), references: jobs.map((job) => job.reference), integrity };
    let next = 0;
    const take = (): [number, number] | undefined => {
      if (next >= jobs.length) return undefined;
      const start = next;
      next = Math.min(jobs.length, next + BATCH);
      return [start, next];
    };
    // Batches sent to each worker and not answered yet, oldest first (a worker answers in order).
    // IN_FLIGHT are kept in flight, so that a worker never waits for the calling thread (busy with
    // its own batch) to see an answer before it has its next batch.
    const pending = new Map<Worker, Array<[number, number]>>();
    let outstanding = 0;
    let wake: (() => void) | undefined;
    const done = (): boolean => next >= jobs.length && outstanding === 0;
    const send = (worker: Worker): boolean => {
      const range = take();
      if (range === undefined) return false;
      pending.get(worker)!.push(range);
      outstanding++;
      worker.postMessage(range satisfies PoolMessage);
      return true;
    };
    const failed = new Promise<never>((_, reject) => {
      this.#failure = reject;
      if (this.#failed !== undefined) reject(this.#failed);
    });
    failed.catch(() => {}); // handled below, after the calling thread's share
    for (const worker of this.#workers) {
      pending.set(worker, []);
      this.#answer.set(worker, (message) => {
        const range = pending.get(worker)!.shift()!;
        outstanding--;
        for (let offset = 0; offset < message.length; offset++) outcomes[range[0] + offset] = message[offset]!;
        send(worker);
        if (done()) wake?.();
      });
    }
    this.#onReady = (worker) => {
      if (next >= jobs.length) return; // nothing left for it
      worker.postMessage(list);
      for (let inFlight = 0; inFlight < IN_FLIGHT && send(worker); inFlight++);
    };
    for (const worker of this.#ready) this.#onReady(worker);
    const crashSeam = process.env.STATIC_HASH_POOL_CRASH === '1';
    try {
      for (let range = crashSeam ? undefined : take(); range !== undefined; range = take()) {
        for (let index = range[0]; index < range[1]; index++) outcomes[index] = digestJob(jobs[index]!.file, jobs[index]!.reference, integrity);
        // Let the workers' messages in: each gets its next batch at once.
        await Promise.race([failed, new Promise((resolve) => setImmediate(resolve))]);
      }
      // The calling thread is done; wait for the batches still out (a worker still starting has none;
      // under the crash seam the workers have every batch).
      if (!done()) await Promise.race([failed, new Promise<void>((resolve) => { wake = resolve; })]);
      if (this.#failed !== undefined) throw this.#failed;
    } catch (error) {
      // No thread is left running when the call fails.
      await this.#terminate();
      throw error;
    }
    this.stop();
    return outcomes;
  }

  /**
   * Stops every worker without waiting for it (a worker still starting, or just finishing), so
   * that none can keep the process alive.
   */
  stop(): void {
    for (const worker of this.#workers.splice(0)) {
      worker.unref();
      void worker.terminate();
    }
  }

  async #terminate(): Promise<void> {
    await Promise.all(this.#workers.splice(0).map((worker) => worker.terminate()));
  }
}

function workerFailed(why: string, cause?: unknown): StaticHashError {
  return new StaticHashError('ERR_STATIC_WORKER', `static-hash: a hashing worker thread failed (${why}); nothing the call hashed was stored`, { cause });
}
