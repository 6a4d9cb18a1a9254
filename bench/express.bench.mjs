// Load test of static-hash/express against serve-static on the same files and the same requests,
// each server in its own child process on 127.0.0.1, driven by autocannon from this process.
// Mixed traffic: current-version URLs (?v=HASH, immutable), unversioned URLs (no-cache) and
// conditional requests answered 304. Two sets of files, each with its own ratio: small assets
// (1-64 KiB: static-hash answers them from the exact bytes it hashed, in memory) and MiB-sized ones
// (streamed from a descriptor checked against the hashed file). The servers take turns in short
// phases so that load from the other engineers on this machine falls on both alike; each gets 10 s
// of measured traffic per set.
//
//   npm run bench express
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { report } from './report.mjs';

const PHASES = 4; // per server
const PHASE_SECONDS = 2.5; // 4 x 2.5 s = 10 s measured per server
const WARMUP_SECONDS = 1;
const CONNECTIONS = 10;
// Our requests/s against serve-static's (issue #15): memory-served exact bytes on small assets,
// streaming on a par on large ones.
const TARGETS = { small: 1.5, large: 0.95 };

if (process.argv[2] === 'server') {
  await runServer(process.argv[3], process.argv[4]);
} else {
  await main();
}

/** Child process: one server, plain node:http, files under /static/. */
async function runServer(kind, root) {
  let handle;
  if (kind === 'static-hash') {
    const { createStaticHasher } = await import('../dist/esm/src/index.js');
    const { serveStatic } = await import('../dist/esm/adapters/express.js');
    const hasher = await createStaticHasher({ root });
    await hasher.warm();
    const middleware = serveStatic(hasher);
    handle = (req, res, next) => middleware(req, res, next);
  } else {
    const serveStaticModule = await import('serve-static');
    const middleware = serveStaticModule.default(root);
    // serve-static serves relative to where it is mounted: strip the mount as Express would.
    handle = (req, res, next) => {
      if (!req.url.startsWith('/static/')) return next();
      req.url = req.url.slice('/static'.length);
      middleware(req, res, next);
    };
  }
  const server = http.createServer((req, res) => handle(req, res, () => {
    res.statusCode = 404;
    res.end('not found');
  }));
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
}

function makeFiles() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-bench-express-'));
  const write = (name, bytes) => {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), bytes);
  };
  const small = [];
  // 1 KiB to 64 KiB: scripts, images and fonts as a page loads them.
  const sizes = [1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 56, 60, 64];
  sizes.forEach((kib, index) => {
    const name = index % 3 === 0 ? `js/module-${index}.js` : index % 3 === 1 ? `img/photo-${index}.png` : `fonts/font-${index}.woff2`;
    write(name, name.endsWith('.js') ? `export const value = ${JSON.stringify('x'.repeat(kib * 1024 - 30))};\n` : crypto.randomBytes(kib * 1024));
    small.push(name);
  });
  const large = [];
  for (const mib of [1.5, 2, 4]) {
    const name = `media/video-${mib}.bin`;
    write(name, crypto.randomBytes(mib * 1024 * 1024));
    large.push(name);
  }
  return { root, sets: { small, large } };
}

function startServer(kind, root) {
  const child = fork(fileURLToPath(import.meta.url), ['server', kind, root], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', ({ port }) => resolve({ child, port }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

function get(port, requestPath, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: requestPath, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    }).on('error', reject);
  });
}

/**
 * The request mix for one server: per file a current-version URL, an unversioned URL and an
 * unversioned URL revalidated with the ETag that server gave (304). Every one is checked first.
 */
async function buildRequests(port, urls) {
  const requests = [];
  for (const { versioned, plain } of urls) {
    const first = await get(port, plain);
    const revalidate = { 'If-None-Match': first.headers.etag };
    const checks = [[versioned, {}, 200], [plain, {}, 200], [plain, revalidate, 304]];
    for (const [requestPath, headers, status] of checks) {
      const reply = await get(port, requestPath, headers);
      if (reply.status !== status) throw new Error(`${requestPath}: expected ${status}, got ${reply.status}`);
      requests.push({ method: 'GET', path: requestPath, headers });
    }
  }
  return requests;
}

function load(port, requests, seconds) {
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests,
  });
}

async function measure(servers, requestsOf) {
  for (const server of Object.values(servers)) Object.assign(server, { total: 0, seconds: 0, bad: 0, ok: 0, notModified: 0 });
  for (const server of Object.values(servers)) await load(server.port, requestsOf(server), WARMUP_SECONDS);
  for (let phase = 0; phase < PHASES; phase++) {
    for (const server of Object.values(servers)) {
      const result = await load(server.port, requestsOf(server), PHASE_SECONDS);
      server.total += result.requests.total;
      server.seconds += result.duration;
      server.bad += result.errors + result.timeouts + result['4xx'] + result['5xx'];
      server.ok += result['2xx'];
      server.notModified += result['3xx'];
    }
  }
}

async function main() {
  const { root, sets } = makeFiles();
  const { createStaticHasher } = await import('../dist/esm/src/index.js');
  const hasher = await createStaticHasher({ root });
  const urls = {};
  for (const [set, files] of Object.entries(sets)) urls[set] = files.map((file) => ({ versioned: hasher.url(file), plain: `/static/${file}` }));
  await hasher.close();

  const servers = {};
  let failed = false;
  try {
    for (const kind of ['static-hash', 'serve-static']) {
      const { child, port } = await startServer(kind, root);
      servers[kind] = { child, port, requests: {} };
      for (const set of Object.keys(sets)) servers[kind].requests[set] = await buildRequests(port, urls[set]);
    }
    console.log(`mixed traffic: per file (current ?v=, unversioned, 304), ${CONNECTIONS} connections, ${PHASES} x ${PHASE_SECONDS} s per server and set, alternating`);
    for (const set of Object.keys(sets)) {
      await measure(servers, (server) => server.requests[set]);
      const ours = servers['static-hash'];
      const theirs = servers['serve-static'];
      const label = set === 'small' ? `small assets (${sets.small.length} files, 1-64 KiB)` : `large assets (${sets.large.length} files, 1.5-4 MiB)`;
      const ratio = report({
        name: `static-hash/express, ${label}`,
        value: ours.total / ours.seconds,
        floor: theirs.total / theirs.seconds,
        floorName: 'serve-static 2, same files and requests',
        unit: 'req/s',
      });
      console.log(`  ratio ${ratio.toFixed(2)}x (target >= ${TARGETS[set]}x: ${ratio >= TARGETS[set] ? 'met' : 'NOT met'})`);
      console.log(`  errors, timeouts, 4xx and 5xx for valid URLs: static-hash ${ours.bad} of ${ours.total}, serve-static ${theirs.bad} of ${theirs.total}`);
      console.log(`  2xx / 3xx answers: static-hash ${ours.ok} / ${ours.notModified}, serve-static ${theirs.ok} / ${theirs.notModified}`);
      if (ours.bad > 0) failed = true;
    }
    if (failed) process.exitCode = 1;
  } finally {
    for (const server of Object.values(servers)) server.child.kill();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
