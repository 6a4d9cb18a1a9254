// Load test of static-hash/express against serve-static on the same files and the same requests,
// each server in its own child process on 127.0.0.1, driven by autocannon from this process.
// Mixed traffic: current-version URLs (?v=HASH, immutable), unversioned URLs (no-cache) and
// conditional requests answered 304. The servers take turns in short phases so that load from the
// other engineers on this machine falls on both alike; each gets 10 s of measured traffic.
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
const TARGET = 0.9; // our requests/s at least 0.9x serve-static's

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
  const files = [];
  for (let index = 0; index < 10; index++) {
    const name = `js/module-${index}.js`;
    files.push(name);
    fs.mkdirSync(path.join(root, 'js'), { recursive: true });
    fs.writeFileSync(path.join(root, name), `export const value${index} = ${JSON.stringify('x'.repeat(1000 + index * 3000))};\n`);
  }
  for (let index = 0; index < 6; index++) {
    const name = `img/photo-${index}.png`;
    files.push(name);
    fs.mkdirSync(path.join(root, 'img'), { recursive: true });
    fs.writeFileSync(path.join(root, name), crypto.randomBytes(4096 + index * 8192));
  }
  for (let index = 0; index < 4; index++) {
    const name = `fonts/font-${index}.woff2`;
    files.push(name);
    fs.mkdirSync(path.join(root, 'fonts'), { recursive: true });
    fs.writeFileSync(path.join(root, name), crypto.randomBytes(20_000));
  }
  return { root, files };
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

async function main() {
  const { root, files } = makeFiles();
  const { createStaticHasher } = await import('../dist/esm/src/index.js');
  const hasher = await createStaticHasher({ root });
  const urls = files.map((file) => ({ versioned: hasher.url(file), plain: `/static/${file}` }));
  await hasher.close();

  const servers = {};
  try {
    for (const kind of ['static-hash', 'serve-static']) {
      const { child, port } = await startServer(kind, root);
      servers[kind] = { child, port, requests: await buildRequests(port, urls), total: 0, seconds: 0, bad: 0, ok: 0, notModified: 0 };
    }
    for (const server of Object.values(servers)) await load(server.port, server.requests, WARMUP_SECONDS);

    for (let phase = 0; phase < PHASES; phase++) {
      for (const server of Object.values(servers)) {
        const result = await load(server.port, server.requests, PHASE_SECONDS);
        server.total += result.requests.total;
        server.seconds += result.duration;
        server.bad += result.errors + result.timeouts + result['4xx'] + result['5xx'];
        server.ok += result['2xx'];
        server.notModified += result['3xx'];
      }
    }

    const ours = servers['static-hash'];
    const theirs = servers['serve-static'];
    const ourRate = ours.total / ours.seconds;
    const theirRate = theirs.total / theirs.seconds;
    console.log(`mixed traffic: ${urls.length} files x (current ?v=, unversioned, 304), ${CONNECTIONS} connections, ${PHASES} x ${PHASE_SECONDS} s per server, alternating`);
    const ratio = report({
      name: 'static-hash/express',
      value: ourRate,
      floor: theirRate,
      floorName: 'serve-static 2, same files and requests',
      unit: 'req/s',
    });
    console.log(`throughput ratio ${ratio.toFixed(2)}x (target >= ${TARGET}x: ${ratio >= TARGET ? 'met' : 'NOT met'})`);
    console.log(`errors, timeouts, 4xx and 5xx for valid URLs: static-hash ${ours.bad} of ${ours.total}, serve-static ${theirs.bad} of ${theirs.total}`);
    console.log(`2xx / 3xx answers: static-hash ${ours.ok} / ${ours.notModified}, serve-static ${theirs.ok} / ${theirs.notModified}`);
    if (ours.bad > 0) process.exitCode = 1;
  } finally {
    for (const server of Object.values(servers)) server.child.kill();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
