// The Redis generation store: how long an invalidate() in one process takes to change the URL in
// all the others, against a bare PUBLISH reaching the same processes (the floor: what any
// Redis-based propagation costs); and what url() costs with the Redis store against the in-memory
// store, in the same process and run (the mirror should make them equal).
//
// Starts its own redis-server (no persistence) on a free 127.0.0.1 port; skips if there is none.
// This file is also the worker: forked with 'worker' as its first argument.
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { createStaticHasher } from '../dist/esm/src/index.js';
import { redisGenerationStore } from '../dist/esm/adapters/redis.js';
import { median, percentile, report } from './report.mjs';

const ROUNDS = 100;
const OBSERVERS = 3; // processes that must see each invalidation, besides the one that makes it
const KEY = 'static-hash-bench:generation';
const FLOOR_CHANNEL = 'static-hash-bench:floor';
const quiet = { warn() {}, info() {}, error() {} };
const now = () => performance.timeOrigin + performance.now(); // comparable across processes

if (process.argv[2] === 'worker') await worker(process.argv[3], process.argv[4]);
else await main();

async function worker(root, url) {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  const store = redisGenerationStore({ client, key: KEY, logger: quiet });
  const hasher = await createStaticHasher({ root, generation: store, logger: quiet });
  let last = hasher.url('app.js');
  // Subscribed after the hasher, so the hasher has applied a move by the time this listener runs:
  // the URL read here is what a template rendering at that instant would get.
  store.subscribe(() => {
    const current = hasher.url('app.js');
    if (current === last) return;
    last = current;
    process.send({ seen: current, at: now() });
  });
  const floor = client.duplicate();
  floor.on('error', () => {});
  await floor.connect();
  await floor.subscribe(FLOOR_CHANNEL, (message) => process.send({ floor: message, at: now() }));

  process.on('message', async (message) => {
    if (message.op === 'invalidate') {
      const t0 = now();
      hasher.invalidate();
      process.send({ id: message.id, t0, url: hasher.url('app.js') });
    } else if (message.op === 'publish') {
      const t0 = now();
      await client.publish(FLOOR_CHANNEL, message.tag);
      process.send({ id: message.id, t0 });
    } else if (message.op === 'close') {
      await hasher.close();
      await floor.quit();
      await client.quit();
      process.disconnect();
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}

function findRedisServer() {
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/bin', '/usr/local/bin', '/usr/sbin')) {
    if (dir !== '' && fs.existsSync(path.join(dir, 'redis-server'))) return path.join(dir, 'redis-server');
  }
  return undefined;
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis(binary, port) {
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
  });
  child.stdout.resume();
  return child;
}

/** A forked worker with request/response by id, and a stream of unsolicited reports. */
function startWorker(root, url, onReport) {
  const child = fork(fileURLToPath(import.meta.url), ['worker', root, url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let nextId = 0;
  const ready = new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message.ready) return resolve();
      if (message.id !== undefined) {
        pending.get(message.id)?.(message);
        pending.delete(message.id);
        return;
      }
      onReport(message);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code})`)));
  });
  const request = (op, extra = {}) => new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    child.send({ id, op, ...extra });
  });
  return { child, ready, request };
}

/** Times `rounds` propagations: `start()` returns { t0, match }, then every observer must report a match. */
async function measurePropagation(rounds, reports, start) {
  const latencies = [];
  for (let round = 0; round < rounds; round++) {
    reports.length = 0;
    const { t0, match } = await start(round);
    const deadline = Date.now() + 5_000;
    for (;;) {
      const seen = reports.filter(match);
      if (seen.length === OBSERVERS) {
        latencies.push(Math.max(...seen.map((entry) => entry.at)) - t0);
        break;
      }
      if (Date.now() > deadline) throw new Error(`round ${round}: only ${seen.length} of ${OBSERVERS} observers reported`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return latencies;
}

/** ns per cached url() call over `references`, measured over `iterations` calls. */
function timeUrl(hasher, references, iterations) {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += hasher.url(references[i % references.length]).length;
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sink === 0) throw new Error('unreachable');
  return elapsed / iterations;
}

async function main() {
  const binary = findRedisServer();
  if (binary === undefined) {
    console.log('skipped: redis-server not found (apt-get install -y redis-server) — this benchmark needs a real one');
    return;
  }
  const port = await freePort();
  const redis = await startRedis(binary, port);
  const url = `redis://127.0.0.1:${port}`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-bench-redis-'));
  const workers = [];
  const clients = [];
  const hashers = [];
  // A failure anywhere must not leave redis-server or a worker behind.
  process.on('exit', () => {
    redis.kill('SIGKILL');
    for (const { child } of workers) child.kill('SIGKILL');
  });
  try {
    const references = [];
    for (let i = 0; i < 50; i++) {
      fs.writeFileSync(path.join(root, `file-${i}.js`), `export const n = ${i};\n`);
      references.push(`file-${i}.js`);
    }
    fs.writeFileSync(path.join(root, 'app.js'), 'round -1\n');

    // --- propagation across processes ---
    const reports = [];
    // Worker 0 invalidates (and publishes the floor's messages); only the others' reports count.
    for (let i = 0; i <= OBSERVERS; i++) {
      workers.push(startWorker(root, url, (message) => {
        if (i > 0) reports.push(message);
      }));
    }
    await Promise.all(workers.map((w) => w.ready));
    const [invalidator] = workers;

    const floor = await measurePropagation(ROUNDS, reports, async (round) => {
      const tag = `floor-${round}`;
      const { t0 } = await invalidator.request('publish', { tag });
      return { t0, match: (entry) => entry.floor === tag };
    });
    const propagation = await measurePropagation(ROUNDS, reports, async (round) => {
      fs.writeFileSync(path.join(root, 'app.js'), `round ${round}\n`);
      const { t0, url: expected } = await invalidator.request('invalidate');
      return { t0, match: (entry) => entry.seen === expected };
    });
    console.log(`propagation over ${ROUNDS} rounds, ${OBSERVERS} other processes, all of them counted (max per round):`);
    report({
      name: 'invalidate() -> new URL in every other process, p50', value: median(propagation),
      floor: median(floor), floorName: 'bare PUBLISH -> every subscriber, p50', unit: 'ms',
    });
    report({
      name: 'invalidate() -> new URL in every other process, p95', value: percentile(propagation, 95),
      floor: percentile(floor, 95), floorName: 'bare PUBLISH -> every subscriber, p95', unit: 'ms',
    });

    // --- url() on cached references: Redis store vs in-memory store ---
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    clients.push(client);
    const withRedis = await createStaticHasher({
      root, generation: redisGenerationStore({ client, key: `${KEY}:url-cost`, logger: quiet }), logger: quiet,
    });
    const inMemory = await createStaticHasher({ root, logger: quiet });
    hashers.push(withRedis, inMemory);
    if (withRedis.stats().bypass) throw new Error('the Redis store is not in touch: url() would not be cached');
    const iterations = 1_000_000;
    timeUrl(withRedis, references, iterations); // warm both: JIT and caches
    timeUrl(inMemory, references, iterations);
    const redisTimes = [];
    const memoryTimes = [];
    // Interleaved, alternating which goes first, so machine noise (other processes on the shared
    // cores) and any order effect fall on both alike.
    for (let run = 0; run < 10; run++) {
      if (run % 2 === 0) {
        redisTimes.push(timeUrl(withRedis, references, iterations));
        memoryTimes.push(timeUrl(inMemory, references, iterations));
      } else {
        memoryTimes.push(timeUrl(inMemory, references, iterations));
        redisTimes.push(timeUrl(withRedis, references, iterations));
      }
    }
    report({
      name: 'url() cached, Redis store', value: median(redisTimes),
      floor: median(memoryTimes), floorName: 'url() cached, in-memory store', unit: 'ns', target: 1.1,
    });
  } finally {
    for (const hasher of hashers) await hasher.close();
    for (const client of clients) await client.quit();
    await Promise.all(workers.map(({ child, request }) => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      request('close');
    })));
    redis.kill('SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  }
}
