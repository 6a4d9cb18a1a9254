// Fault injection (issue #13): several forked workers share one generation through a real
// redis-server while the test kills it, flushes it, lowers the key, restores an old snapshot of it,
// flaps it, kills the subscribers' connections, and replaces workers by newcomers. Every worker
// keeps editing files (each edit followed by invalidate()) and checking, whenever it caches, that
// its URL carries the hash of the file's current bytes. A mismatch lasting longer than
// resyncIntervalMs is a violation; the suite prints the counts and requires none.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { RedisServer, freePort, guardChild, waitFor } from '../fixtures/redis/redis-server';

jest.setTimeout(60_000);

const RESYNC_MS = 400;
const FILES = ['a.js', 'b.txt'];
const KEY = 'static-hash-faults:generation';

interface Report {
  pid: number;
  checks: number;
  cachedChecks: number;
  edits: number;
  violations: number;
  longestMs: number;
  episodes: number;
  generation: number;
}

class FaultWorker {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly holding: Promise<void>;
  #report: Promise<Report>;
  #done = new Map<string, (value?: any) => void>();

  constructor(root: string, url: string, hold = false) {
    const script = path.join(__dirname, 'worker.cjs');
    const args = [root, url, KEY, String(RESYNC_MS), FILES.join(','), hold ? 'hold' : 'run'];
    this.child = guardChild(fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    let resolveReport!: (report: Report) => void;
    let rejectAll!: (error: Error) => void;
    this.#report = new Promise((resolve, reject) => {
      resolveReport = resolve;
      rejectAll = reject;
    });
    this.#report.catch(() => {});
    let resolveHolding!: () => void;
    this.holding = new Promise((resolve) => {
      resolveHolding = resolve;
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (message: any) => {
        if (message.holding) resolveHolding();
        if (message.ready) resolve();
        if (message.failed) reject(new Error(message.failed));
        if (message.report) resolveReport(message.report);
        if (message.done) this.#done.get(message.done)?.();
        if (message.state) this.#done.get('state')?.(message.state);
      });
      this.child.once('exit', (code) => {
        const error = new Error(`fault worker exited (${code})`);
        reject(error);
        rejectAll(error);
      });
    });
    this.ready.catch(() => {});
  }

  /** Sends an op ('pause', 'resume', 'edit') and waits for the worker to have done it. */
  async do(op: string): Promise<void> {
    const done = new Promise<void>((resolve) => this.#done.set(op, resolve));
    this.child.send({ op });
    await done;
  }

  /** Generation, bypass and the URL of every file, as this worker sees them now. */
  state(): Promise<{ generation: number; bypass: boolean; urls: string[] }> {
    const answer = new Promise<any>((resolve) => this.#done.set('state', resolve));
    this.child.send({ op: 'state' });
    return answer;
  }

  /** Lets a held newcomer read the key now; with `edit`, it edits and invalidates straight after. */
  async go(options: { edit?: boolean; paused?: boolean } = {}): Promise<void> {
    await this.holding;
    this.child.send({ op: 'go', ...options });
    await this.ready;
  }

  /** Stops the loops and returns what the worker counted; kills a worker that does not answer. */
  async stop(): Promise<Report> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    this.child.send({ op: 'stop' });
    try {
      return await this.#report;
    } finally {
      clearTimeout(timer);
      // The worker exits once its hasher, store and client are closed; one stuck there (a store
      // closing while Redis is away) would keep Jest alive after the run: end it, bounded.
      if (this.child.exitCode === null && this.child.signalCode === null) {
        const exited = new Promise((resolve) => this.child.once('exit', resolve));
        const kill = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(kill);
      }
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: RedisServer;
let root: string;
const reports: Report[] = [];
const workers: FaultWorker[] = [];

beforeAll(async () => {
  if (!fs.existsSync(path.join(__dirname, '../../dist/cjs/adapters/redis.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
  }
  server = new RedisServer(await freePort());
  await server.start();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-faults-'));
  for (const file of FILES) fs.writeFileSync(path.join(root, file), `/* ${file} */\n`);
});

afterAll(async () => {
  if (!server.running) await server.start();
  await Promise.all(workers.splice(0).map((worker) => worker.stop().catch(() => undefined)));
  await server.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

async function admin() {
  const client = createClient({ url: server.url, socket: { reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function startWorker(): Promise<void> {
  const worker = new FaultWorker(root, server.url);
  workers.push(worker);
  await worker.ready;
}

const everyWorker = (op: string) => Promise.all(workers.map((worker) => worker.do(op)));

/**
 * A worker leaves (its counts kept) and a newcomer takes its place: held until `fault` has been
 * injected, it then reads the key as the fault left it and, first thing, edits a file and
 * invalidates, while the others stay quiet: only that invalidation can tell them of the edit.
 */
async function newcomerAfter(fault: () => Promise<void>): Promise<void> {
  const leaving = workers.shift()!;
  reports.push(await leaving.stop());
  const newcomer = new FaultWorker(root, server.url, true);
  await newcomer.holding;
  await everyWorker('pause');
  await fault();
  await newcomer.go({ edit: true, paused: true });
  workers.push(newcomer);
  await sleep(RESYNC_MS * 3);
  await everyWorker('resume');
}

it('no worker serves a stale URL for longer than resyncIntervalMs, whatever happens to Redis', async () => {
  for (let i = 0; i < 4; i++) await startWorker();
  const faults: string[] = [];
  const phase = async (name: string, action: () => Promise<void>, settleMs = 1_200) => {
    faults.push(name);
    await action();
    await sleep(settleMs);
  };

  await sleep(1_500); // steady state
  const redis = await admin();
  const snapshot = [await redis.get(KEY), await redis.get(`${KEY}:writer`)] as const;
  await redis.quit();

  await phase('killed, restarted empty', async () => {
    await server.stop();
    await sleep(800);
    await server.start();
  });
  await phase('FLUSHALL, then a newcomer', () => newcomerAfter(async () => {
    const client = await admin();
    await client.flushAll();
    await client.quit();
  }));
  await phase('key lowered by hand, then a newcomer', () => newcomerAfter(async () => {
    const client = await admin();
    await client.set(KEY, '1');
    await client.quit();
  }));
  await phase('old snapshot restored, then a newcomer', () => newcomerAfter(async () => {
    const client = await admin();
    if (snapshot[0] !== null) await client.set(KEY, snapshot[0]);
    if (snapshot[1] !== null) await client.set(`${KEY}:writer`, snapshot[1]);
    await client.quit();
  }));
  await phase('flapped 5 times', async () => {
    for (let i = 0; i < 5; i++) {
      await server.stop();
      await sleep(150 + Math.random() * 150);
      await server.start();
      await sleep(250 + Math.random() * 250);
    }
  });
  await phase('subscriber connections killed', async () => {
    const client = await admin();
    await client.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await client.quit();
  });
  let restarted: Promise<void> | undefined;
  await phase('killed, a newcomer starts while it is down, restarted empty', async () => {
    await newcomerAfter(async () => {
      await server.stop();
      restarted = sleep(600).then(() => server.start());
    });
    await restarted;
  }, 1_500);

  // Once the edits stop, everyone settles on one generation with the same URLs: no two workers hold
  // different hashes under one generation number.
  await everyWorker('pause');
  const settled = await waitFor('every worker on one generation', async () => {
    const states = await Promise.all(workers.map((worker) => worker.state()));
    return states.every((state) => !state.bypass && state.generation === states[0]!.generation) && states;
  });
  expect(new Set(settled.map((state) => state.urls.join(' '))).size).toBe(1);

  for (const worker of workers.splice(0)) reports.push(await worker.stop());

  const total = (field: keyof Report) => reports.reduce((sum, report) => sum + (report[field] as number), 0);
  console.log([
    `faults injected: ${faults.join('; ')}`,
    ...reports.map((r) => `worker ${r.pid}: ${r.checks} checks, ${r.cachedChecks} while caching, ${r.edits} edits+invalidate(), `
      + `${r.episodes} mismatches seen, longest ${r.longestMs.toFixed(0)} ms, ${r.violations} violations (> ${RESYNC_MS} ms)`),
    `total: ${total('cachedChecks')} checks while caching, ${total('edits')} invalidations, ${total('violations')} violations`,
  ].join('\n'));

  // Not vacuous: every worker checked while caching, and files kept changing.
  expect(reports).toHaveLength(4 + 4);
  for (const report of reports) expect(report.cachedChecks).toBeGreaterThan(0);
  expect(total('edits')).toBeGreaterThan(40);
  expect(total('episodes')).toBeGreaterThan(0);
  expect(total('violations')).toBe(0);
});
