import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { createStaticHasher, type StaticHasher, type StaticHasherStats } from '../../src/index';
import { redisGenerationStore, type RedisGenerationStore } from '../../adapters/redis';
import { RedisServer, freePort, guardChild, waitFor } from '../fixtures/redis/redis-server';

jest.setTimeout(90_000);

type Client = ReturnType<typeof createClient>;

const quiet = { warn() {}, info() {}, error() {} };

/** A logger that keeps what it was told, to check what operators would read. */
function recordingLogger() {
  const lines: string[] = [];
  return { lines, warn: (line: string) => lines.push(`warn ${line}`), info: (line: string) => lines.push(`info ${line}`) };
}

let server: RedisServer;
let admin: Client;
let root: string;
const clients: Client[] = [];
let keyCounter = 0;

/** A key (and channel) no other test uses. */
function freshKey(): string {
  keyCounter += 1;
  return `static-hash-test:${process.pid}:${keyCounter}`;
}

/** A connected client that retries quickly, as a test wants after restarting redis-server. */
async function connectedClient(url = server.url): Promise<Client> {
  const client = createClient({ url, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {});
  clients.push(client);
  await client.connect();
  return client;
}

beforeAll(async () => {
  server = new RedisServer(await freePort());
  await server.start();
  admin = await connectedClient();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-redis-'));
  fs.writeFileSync(path.join(root, 'app.js'), 'console.log(1);\n');
});

afterAll(async () => {
  for (const client of clients) if (client.isOpen) client.destroy();
  await server.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('redisGenerationStore() options', () => {
  it('rejects unknown keys, naming the closest one', async () => {
    const client = await connectedClient();
    expect(() => redisGenerationStore({ client, kye: 'x' } as never)).toThrow(expect.objectContaining({
      code: 'ERR_STATIC_INVALID_OPTION', option: 'kye', message: expect.stringContaining('did you mean "key"'),
    }));
  });

  it('rejects a missing or foreign client, a bad key, channel, interval or logger', async () => {
    const client = await connectedClient();
    const bad: Array<[string, unknown]> = [
      ['options', undefined],
      ['client', undefined],
      ['client', { get: () => 1 }],
      ['key', ''],
      ['key', 42],
      ['channel', ''],
      ['resyncIntervalMs', 0],
      ['resyncIntervalMs', 1.5],
      ['resyncIntervalMs', '1000'],
      ['logger', { info() {} }],
    ];
    for (const [option, value] of bad) {
      const options = option === 'options' ? value : option === 'client' ? { client: value } : { client, [option]: value };
      expect(() => redisGenerationStore(options as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION', option }));
    }
  });

  it('rejects, at open(), a client that was never connected', async () => {
    const client = createClient({ url: server.url });
    const store = redisGenerationStore({ client, logger: quiet });
    await expect(createStaticHasher({ root, generation: store })).rejects.toMatchObject({ code: 'ERR_STATIC_INVALID_OPTION', option: 'client' });
    await store.close();
  });
});

describe('one process', () => {
  const open: Array<{ hasher: StaticHasher; store: RedisGenerationStore }> = [];

  async function openHasher(key: string, client?: Client, resyncIntervalMs = 10_000) {
    const store = redisGenerationStore({ client: client ?? (await connectedClient()), key, resyncIntervalMs, logger: quiet });
    const hasher = await createStaticHasher({ root, generation: store, logger: quiet });
    open.push({ hasher, store });
    return { hasher, store };
  }

  afterEach(async () => {
    // A hasher leaves the store it was given open: the test closes it, as an application would.
    for (const { hasher, store } of open.splice(0)) {
      await hasher.close();
      await store.close();
    }
  });

  it('starts from the generation stored in Redis', async () => {
    const key = freshKey();
    await admin.set(key, '41');
    const { hasher, store } = await openHasher(key);
    expect(hasher.generation).toBe(41);
    expect(store.fresh).toBe(true);
    expect(hasher.stats().bypass).toBe(false);
  });

  it('starts at 0 on an absent key and caches at once', async () => {
    const { hasher } = await openHasher(freshKey());
    expect(hasher.generation).toBe(0);
    hasher.url('app.js');
    hasher.url('app.js');
    expect(hasher.stats()).toMatchObject({ bypass: false, hits: 1, misses: 1 });
  });

  it('bump() answers at once and Redis follows', async () => {
    const key = freshKey();
    await admin.set(key, '7');
    const { hasher } = await openHasher(key);
    expect(hasher.invalidate()).toBe(8);
    expect(hasher.generation).toBe(8);
    await waitFor('the key to reach 8', async () => (await admin.get(key)) === '8');
  });

  it('moves every mirror when another process invalidates, and counts concurrent bumps separately', async () => {
    const key = freshKey();
    const a = await openHasher(key);
    const b = await openHasher(key);
    a.hasher.invalidate();
    await waitFor('b to see generation 1', () => b.hasher.generation === 1);
    // Both bump from 1 before either hears of the other: the script gives the second one 3.
    a.hasher.invalidate();
    b.hasher.invalidate();
    await waitFor('both at 3', () => a.hasher.generation === 3 && b.hasher.generation === 3);
    expect(await admin.get(key)).toBe('3');
  });

  it('shares one store between hashers that open it together', async () => {
    const key = freshKey();
    await admin.set(key, '5');
    const store = redisGenerationStore({ client: await connectedClient(), key, logger: quiet });
    const [first, second] = await Promise.all([
      createStaticHasher({ root, generation: store, logger: quiet }),
      createStaticHasher({ root, generation: store, logger: quiet }),
    ]);
    open.push({ hasher: first, store }, { hasher: second, store });
    expect([first.generation, second.generation]).toEqual([5, 5]);
  });

  it('a store shared by two hashers keeps serving the survivor after the other hasher closes (issue #13)', async () => {
    const key = freshKey();
    const store = redisGenerationStore({ client: await connectedClient(), key, logger: quiet });
    const closing = await createStaticHasher({ root, generation: store, logger: quiet });
    const survivor = await createStaticHasher({ root, generation: store, logger: quiet });
    open.push({ hasher: survivor, store });
    const elsewhere = await openHasher(key);
    await closing.close();
    expect(store.fresh).toBe(true);
    elsewhere.hasher.invalidate();
    await waitFor('the survivor to hear the other process', () => survivor.generation === 1);
    expect(survivor.stats().bypass).toBe(false);
    expect((await admin.pubSubNumSub(key))[key]).toBe(2);
  });

  it('catches a move that was never announced, at the resync interval', async () => {
    const key = freshKey();
    const { hasher } = await openHasher(key, undefined, 100);
    await admin.set(key, '100'); // as if the announcement were lost
    await waitFor('the mirror to read 100', () => hasher.generation === 100);
  });

  it('never moves back: a lowered key counts as a change and is moved past, a deleted one is put back', async () => {
    const key = freshKey();
    await admin.set(key, '20');
    const { hasher } = await openHasher(key, undefined, 100);
    expect(hasher.generation).toBe(20);
    // Someone may have invalidated from the lowered value: this process cannot tell, so it moves on.
    await admin.set(key, '3');
    await waitFor('the key moved past 20', async () => (await admin.get(key)) === '21');
    expect(hasher.generation).toBe(21);
    // A deleted key (a FLUSHALL, a restart without persistence) is put back as it was: nothing new.
    await admin.del(key);
    await waitFor('the deleted key restored to 21', async () => (await admin.get(key)) === '21');
    expect(hasher.generation).toBe(21);
  });

  it('store.close() unsubscribes and quits its own connection, and leaves the caller’s client open', async () => {
    const key = freshKey();
    const client = await connectedClient();
    const before = Number((await admin.clientList()).length);
    const { hasher, store } = await openHasher(key, client);
    expect((await admin.pubSubNumSub(key))[key]).toBe(1);
    expect((await admin.clientList()).length).toBe(before + 1);
    await hasher.close();
    // The hasher was given the store: closing the hasher leaves it subscribed for other hashers.
    expect((await admin.pubSubNumSub(key))[key]).toBe(1);
    await store.close();
    await waitFor('no subscriber left', async () => (await admin.pubSubNumSub(key))[key] === 0);
    await waitFor('the subscriber connection gone', async () => (await admin.clientList()).length === before);
    expect(client.isReady).toBe(true);
    expect(await client.ping()).toBe('PONG');
    await store.close(); // idempotent
  });

  it('starts out of touch when Redis is unreachable, hashing afresh, and catches up when it comes', async () => {
    const late = new RedisServer(await freePort());
    const client = createClient({ url: late.url, socket: { reconnectStrategy: () => 50 } });
    client.on('error', () => {});
    clients.push(client);
    const connecting = client.connect(); // keeps retrying until the server exists
    const logger = recordingLogger();
    const store = redisGenerationStore({ client, key: 'k', logger });
    const hasher = await createStaticHasher({ root, generation: store, logger: quiet });
    try {
      expect(store.fresh).toBe(false);
      expect(hasher.stats().bypass).toBe(true);
      expect(logger.lines).toEqual([expect.stringMatching(/^warn static-hash\/redis: out of touch with Redis/)]);
      hasher.invalidate(); // while unreachable: applied once Redis is there
      await late.start();
      await connecting;
      await waitFor('the store in touch', () => store.fresh);
      expect(hasher.stats().bypass).toBe(false);
      expect(await client.get('k')).toBe('1');
      expect(logger.lines[1]).toMatch(/^info static-hash\/redis: back in touch with Redis at generation 1/);
    } finally {
      await hasher.close();
      await store.close();
      client.destroy();
      await late.stop();
    }
  });

  it('stays out of touch while its script fails on a live connection, and recovers once it succeeds', async () => {
    const key = freshKey();
    await admin.hSet(key, 'not', 'a number'); // WRONGTYPE for GET
    const logger = recordingLogger();
    const store = redisGenerationStore({ client: await connectedClient(), key, logger });
    const hasher = await createStaticHasher({ root, generation: store, logger: quiet });
    open.push({ hasher, store });
    expect(store.fresh).toBe(false);
    expect(hasher.stats().bypass).toBe(true);
    expect(logger.lines).toEqual([expect.stringContaining('WRONGTYPE')]);
    await admin.del(key);
    await waitFor('the store in touch', () => store.fresh);
    expect(hasher.stats().bypass).toBe(false);
  });

  it('says so, once, when a connection gives up reconnecting, and stays out of touch', async () => {
    const doomed = new RedisServer(await freePort());
    await doomed.start();
    const client = createClient({ url: doomed.url, socket: { reconnectStrategy: false } });
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    const logger = recordingLogger();
    const store = redisGenerationStore({ client, key: 'k', logger });
    const hasher = await createStaticHasher({ root, generation: store, logger: quiet });
    try {
      expect(hasher.stats().bypass).toBe(false);
      await doomed.stop();
      await waitFor('the warning', () => logger.lines.some((line) => line.includes('gave up reconnecting')));
      expect(hasher.stats().bypass).toBe(true);
      expect(logger.lines.filter((line) => line.includes('gave up reconnecting'))).toHaveLength(1);
    } finally {
      await hasher.close();
      await store.close();
      await doomed.stop();
    }
  });
});

/** A forked worker (test/fixtures/redis/worker.cjs) with a request/response channel. */
class Worker {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  #nextId = 0;
  readonly ready: Promise<void>;

  constructor(url: string, key: string, resyncIntervalMs = 300) {
    const script = path.join(__dirname, '../fixtures/redis/worker.cjs');
    this.#child = guardChild(fork(script, [root, url, key, String(resyncIntervalMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.ready = new Promise((resolve, reject) => {
      this.#child.on('message', (message: any) => {
        if (message.ready) resolve();
        else if (message.failed) reject(new Error(message.failed));
        const request = this.#pending.get(message.id);
        if (!request) return;
        this.#pending.delete(message.id);
        if ('error' in message) request.reject(new Error(message.error));
        else request.resolve(message.result);
      });
      this.#child.once('exit', (code) => {
        reject(new Error(`worker exited (${code})`));
        for (const request of this.#pending.values()) request.reject(new Error(`worker exited (${code})`));
      });
    });
  }

  request<T>(op: string, extra: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, op, ...extra });
    });
  }

  url(reference = 'app.js'): Promise<string> {
    return this.request('url', { reference });
  }

  state(): Promise<{ generation: number; fresh: boolean; stats: StaticHasherStats }> {
    return this.request('state');
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    // A worker that does not exit promptly after being asked to close is killed: no test leaves one behind.
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    this.request('close').catch(() => this.#child.kill('SIGKILL'));
    await exited;
    clearTimeout(timer);
  }
}

describe('four worker processes', () => {
  const workers: Worker[] = [];
  let key: string;
  let file: string;

  const everyWorker = <T>(fn: (worker: Worker) => Promise<T>) => Promise.all(workers.map(fn));

  beforeAll(async () => {
    if (!fs.existsSync(path.join(__dirname, '../../dist/cjs/adapters/redis.js'))) {
      throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
    }
    key = freshKey();
    file = path.join(root, 'shared.css');
    fs.writeFileSync(file, 'body { color: red }\n');
    for (let i = 0; i < 4; i++) workers.push(new Worker(server.url, key));
    await everyWorker((worker) => worker.ready);
  });

  afterAll(async () => {
    if (!server.running) await server.start(); // let the workers close cleanly
    await everyWorker((worker) => worker.stop());
  });

  it('all serve the new URL after one of them invalidates a changed file', async () => {
    const before = await everyWorker((worker) => worker.url('shared.css'));
    expect(new Set(before).size).toBe(1);
    fs.writeFileSync(file, 'body { color: blue }\n');
    // Cached: without an invalidation nobody hashes the file again.
    expect(await everyWorker((worker) => worker.url('shared.css'))).toEqual(before);
    const generation = await workers[0]!.request<number>('invalidate');
    const after = await waitFor('every worker to serve the new URL', async () => {
      const urls = await everyWorker((worker) => worker.url('shared.css'));
      return urls.every((url) => url !== before[0]) && urls;
    });
    expect(new Set(after).size).toBe(1);
    const states = await everyWorker((worker) => worker.state());
    expect(states.map((state) => state.generation)).toEqual([generation, generation, generation, generation]);
  });

  it('keep answering with fresh hashes while Redis is down, and resync forward when it restarts empty', async () => {
    const settled = await everyWorker((worker) => worker.url('shared.css'));
    const generationBefore = (await workers[0]!.state()).generation;

    await server.stop(); // SIGKILL: a crash, not a shutdown
    await waitFor('every worker out of touch', async () => (await everyWorker((worker) => worker.state())).every((state) => state.stats.bypass));

    // Changed without any invalidate(): visible at once, because nothing is cached while out of touch.
    fs.writeFileSync(file, 'body { color: green }\n');
    const down = await everyWorker((worker) => worker.url('shared.css'));
    expect(new Set(down).size).toBe(1);
    expect(down[0]).not.toBe(settled[0]);
    const missesWhileDown = (await workers[1]!.state()).stats.misses;
    await workers[1]!.url('shared.css');
    expect((await workers[1]!.state()).stats.misses).toBe(missesWhileDown + 1);

    // An invalidate() while down moves that worker at once and the others once Redis is back. Two
    // workers invalidating while down both count: whichever comes back second still moves the first.
    expect(await workers[2]!.request<number>('invalidate')).toBe(generationBefore + 1);
    expect(await workers[0]!.request<number>('invalidate')).toBe(generationBefore + 1);
    const bumped = generationBefore + 2;

    await server.start(); // no persistence: the database comes back empty
    // Every worker ends on one generation, at least both invalidations past the one before, and the
    // key holds it. It may be more: a worker whose subscription was not back yet when a write after
    // the restart was announced meets that write in the key as a state it never heard of, and moves
    // past it to be safe (adapters/redis.ts, #apply); at most once each here (seen: one, in about one
    // run of three). A move too many costs one hash each; a move too few would be stale.
    let last: unknown;
    const states = await waitFor('every worker back in touch on one generation, the key holding it', async () => {
      const all = await everyWorker((worker) => worker.state());
      const stored = await admin.get(key);
      last = [stored, all.map((state) => [state.generation, state.fresh, state.stats.bypass])];
      const generation = all[0]!.generation;
      return all.every((state) => state.fresh && !state.stats.bypass && state.generation === generation)
        && generation >= bumped && generation <= bumped + workers.length && stored === String(generation) && all;
    }).catch((error: Error) => {
      throw new Error(`${error.message}; expected ${bumped} to ${bumped + workers.length}, [key, workers [generation, fresh, bypass]]: ${JSON.stringify(last)}`);
    });
    expect(states.map((state) => state.stats.bypass)).toEqual([false, false, false, false]);

    // Caching resumes, with the content hashed while down: no worker goes back to the old hash.
    const resumed = await everyWorker((worker) => worker.url('shared.css'));
    expect(resumed).toEqual(down);
    const hitsBefore = (await workers[3]!.state()).stats.hits;
    await workers[3]!.url('shared.css');
    expect((await workers[3]!.state()).stats.hits).toBe(hitsBefore + 1);
  });

  it('a restart with an empty database and no bump meanwhile moves nobody back, nor back to old hashes', async () => {
    const generation = (await workers[0]!.state()).generation;
    expect(generation).toBeGreaterThan(0);
    const cached = await everyWorker((worker) => worker.url('shared.css'));
    await server.stop();
    await waitFor('every worker out of touch', async () => (await everyWorker((worker) => worker.state())).every((state) => !state.fresh));
    fs.writeFileSync(file, 'body { color: yellow }\n'); // no invalidate() anywhere
    const down = await everyWorker((worker) => worker.url('shared.css'));
    expect(down[0]).not.toBe(cached[0]);
    await server.start();
    const states = await waitFor('every worker back in touch', async () => {
      const all = await everyWorker((worker) => worker.state());
      return all.every((state) => state.fresh) && all;
    });
    expect(states.map((state) => state.generation)).toEqual([generation, generation, generation, generation]);
    // Same generation as before the outage, yet the hashes cached before it are not served again.
    expect(await everyWorker((worker) => worker.url('shared.css'))).toEqual(down);
    await waitFor('the key re-seeded', async () => (await admin.get(key)) === String(generation));

    // And invalidation works across them again.
    const before = await workers[1]!.url('shared.css');
    fs.writeFileSync(file, 'body { color: purple }\n');
    expect(await workers[1]!.url('shared.css')).toBe(before); // cached again
    const next = await workers[3]!.request<number>('invalidate');
    expect(next).toBe(generation + 1);
    await waitFor('every worker at the new generation with the new URL', async () => {
      const all = await everyWorker(async (worker) => ({ state: await worker.state(), url: await worker.url('shared.css') }));
      return all.every(({ state, url }) => state.generation === next && url !== before);
    });
  });
});

describe('whatever happens to the key (issue #13)', () => {
  // A resync interval far beyond the test: what moves the running workers here is the announcement
  // of the newcomer's invalidation, which they must act on even though it is not above them.
  const LONG_RESYNC = 600_000;
  const started: Worker[] = [];
  let file: string;

  async function startWorker(key: string): Promise<Worker> {
    const worker = new Worker(server.url, key, LONG_RESYNC);
    started.push(worker);
    await worker.ready;
    return worker;
  }

  /** Two workers at generation 5 serving (and caching) the file's URL. */
  async function runningAtFive(key: string): Promise<{ old: Worker[]; cached: string }> {
    const old = [await startWorker(key), await startWorker(key)];
    for (let i = 0; i < 5; i++) await old[0]!.request('invalidate');
    await waitFor('both at 5', async () => (await Promise.all(old.map((w) => w.state()))).every((s) => s.generation === 5));
    const cached = await old[1]!.url('lost.css');
    expect(await old[0]!.url('lost.css')).toBe(cached);
    return { old, cached };
  }

  /** The newcomer invalidates after an edit: every worker serves the new URL, on one generation. */
  async function expectEveryoneMoves(all: Worker[], newcomer: Worker, cached: string): Promise<void> {
    fs.writeFileSync(file, `body { color: #${Math.random().toString(16).slice(2, 8)} }\n`);
    await newcomer.request('invalidate');
    const fresh = await newcomer.url('lost.css');
    expect(fresh).not.toBe(cached);
    await waitFor('every worker serving the new URL', async () => {
      const urls = await Promise.all(all.map((worker) => worker.url('lost.css')));
      return urls.every((url) => url === fresh);
    });
    // And they settle on one generation, so no two of them hold different hashes under one number.
    const states = await waitFor('one generation everywhere', async () => {
      const all2 = await Promise.all(all.map((worker) => worker.state()));
      return new Set(all2.map((state) => state.generation)).size === 1 && all2;
    });
    expect(states.every((state) => !state.stats.bypass)).toBe(true);
    expect(states[0]!.generation).toBeGreaterThan(5);
    expect(await Promise.all(all.map((worker) => worker.url('lost.css')))).toEqual(all.map(() => fresh));
  }

  beforeAll(() => {
    file = path.join(root, 'lost.css');
    fs.writeFileSync(file, 'body { color: red }\n');
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((worker) => worker.stop()));
  });

  it('after FLUSHALL, a process started afterwards invalidates: the running ones move too', async () => {
    const key = freshKey();
    const { old, cached } = await runningAtFive(key);
    await admin.flushAll();
    const newcomer = await startWorker(key);
    expect((await newcomer.state()).generation).toBe(0);
    await expectEveryoneMoves([...old, newcomer], newcomer, cached);
  });

  it('after the key is lowered by hand, a process started afterwards invalidates: the running ones move too', async () => {
    const key = freshKey();
    const { old, cached } = await runningAtFive(key);
    await admin.set(key, '2');
    const newcomer = await startWorker(key);
    expect((await newcomer.state()).generation).toBe(2);
    await expectEveryoneMoves([...old, newcomer], newcomer, cached);
  });

  it('after the key is restored from an old snapshot, a process started afterwards invalidates: the running ones move too', async () => {
    const key = freshKey();
    const first = await startWorker(key);
    await first.request('invalidate');
    await first.request('invalidate');
    await waitFor('the key at 2', async () => (await admin.get(key)) === '2');
    const snapshot = [await admin.get(key), await admin.get(`${key}:writer`)] as const;
    const second = await startWorker(key);
    for (let i = 0; i < 3; i++) await first.request('invalidate');
    await waitFor('both at 5', async () => (await Promise.all([first, second].map((w) => w.state()))).every((s) => s.generation === 5));
    const cached = await second.url('lost.css');
    await admin.set(key, snapshot[0]!);
    if (snapshot[1] !== null) await admin.set(`${key}:writer`, snapshot[1]);
    const newcomer = await startWorker(key);
    expect((await newcomer.state()).generation).toBe(2);
    await expectEveryoneMoves([first, second, newcomer], newcomer, cached);
  });
});

describe('the start-up code of docs/multi-process.md (issue #13)', () => {
  it('starts while Redis is down, hashing afresh, and caches once redis-server comes up', async () => {
    const docs = fs.readFileSync(path.join(__dirname, '../../docs/multi-process.md'), 'utf8');
    const block = /<!-- start-up example[^>]*-->\s*```js\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(block).toContain('redisGenerationStore({ client })');
    // Inside the package, so `import 'static-hash'` resolves to this package (self-reference) as
    // it would to the installed one; the block runs unchanged, followed by a probe.
    const dir = path.join(__dirname, '../../test-output');
    fs.mkdirSync(dir, { recursive: true });
    const script = path.join(dir, `startup-example-${process.pid}.mjs`);
    fs.writeFileSync(script, `${block}
process.on('message', () => process.send({ bypass: hasher.bypass, url: hasher.url('app.js'), stats: hasher.stats() }));
process.on('disconnect', () => process.exit(0));
process.send({ started: true, bypass: hasher.bypass });
`);
    const site = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-startup-'));
    fs.mkdirSync(path.join(site, 'public'));
    fs.writeFileSync(path.join(site, 'public/app.js'), 'console.log("app");\n');
    const late = new RedisServer(await freePort()); // nothing listens there yet
    let output = '';
    const child = guardChild(fork(script, [], {
      cwd: site, env: { ...process.env, REDIS_URL: late.url }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }));
    child.stdout!.on('data', (chunk) => { output += chunk; });
    child.stderr!.on('data', (chunk) => { output += chunk; });
    const messages: any[] = [];
    child.on('message', (message) => messages.push(message));
    const ask = async () => {
      const count = messages.length;
      child.send('state');
      return waitFor('the probe to answer', () => messages.length > count && messages[messages.length - 1]);
    };
    try {
      const started = await waitFor(`the app to start with Redis down (output: ${output})`, () => messages.find((m) => m.started));
      expect(started.bypass).toBe(true);
      expect(output).toContain('ECONNREFUSED');
      await late.start();
      await waitFor(`caching to resume (output: ${output})`, async () => (await ask()).bypass === false);
      const first = await ask();
      const second = await ask();
      expect(second.url).toBe(first.url);
      expect(second.url).toMatch(/^\/static\/app\.js\?v=[0-9a-f]{12}$/);
      expect(second.stats.hits).toBe(first.stats.hits + 1);
      expect(second.stats.misses).toBe(first.stats.misses);
    } finally {
      child.kill('SIGKILL');
      await late.stop();
      fs.rmSync(site, { recursive: true, force: true });
      fs.rmSync(script, { force: true });
    }
  });

  it('names the reason in its warning, or says it is unknown, never "undefined"', async () => {
    const client = await connectedClient();
    const logger = recordingLogger();
    const store = redisGenerationStore({ client, key: freshKey(), logger });
    const hasher = await createStaticHasher({ root, generation: store, logger: quiet });
    try {
      expect(store.fresh).toBe(true);
      // node-redis's 'reconnecting' event carries no argument (seen on v5: a dropped socket may report
      // it before any 'error' the store hears); here it is the first sign of trouble.
      (client as unknown as NodeJS.EventEmitter).emit('reconnecting');
      expect(logger.lines).toEqual([
        'warn static-hash/redis: out of touch with Redis (the connection dropped and is reconnecting; reason unknown); every lookup hashes afresh until it is back',
      ]);
      expect(hasher.bypass).toBe(true);
    } finally {
      await hasher.close();
      await store.close();
    }
  });
});
