// Load test of each static-hash server adapter against its framework's usual static server, on the
// same files and the same requests: static-hash/express vs serve-static, static-hash/fastify vs
// @fastify/static, static-hash/koa vs koa-static (with koa-conditional-get, as koa-static's README
// pairs it, for 304s). Each server in its own child process on 127.0.0.1, driven by autocannon.
// Mixed traffic: current-version URLs (?v=HASH, immutable), unversioned URLs (no-cache) and
// conditional requests answered 304. Two sets of files, each with its own ratio: small assets
// (1-64 KiB: static-hash answers them from the exact bytes it hashed, in memory) and MiB-sized ones
// (streamed from a descriptor checked against the hashed file). The servers take turns in short
// phases so that load from the other engineers on this machine falls on both alike; each gets 10 s
// of measured traffic per set.
//
// The bodies are text (scripts, SVG, JSON: base64 of random bytes, so no two files hash alike).
// No server here looks at the bytes it sends, but autocannon does: it appends every response body
// to a string (pipelinedRequestsQueue.js `req.body += data`, mcollina/autocannon#485), and decoding
// random binary as UTF-8 costs it about 20x more than ASCII. With binary bodies the load generator
// was the bottleneck: a bare server answering 64 KiB from memory fell from ~24,000 to ~1,170 req/s,
// and every server, ours and the peers, measured the same ~6,000 req/s. To show where that ceiling
// is, each set also measures a bare node:http server that answers every URL with the same bytes
// from memory and no HTTP semantics at all: no static server can beat it with this client.
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
// Issue #17: the Fastify plugin and the Koa middleware at least on a par with their peers on small assets.
const FRAMEWORK_TARGETS = { small: 1.0, large: 0.95 };

// Each pair: ours, the peer, the label.
const PAIRS = [
  ['static-hash', 'serve-static', 'static-hash/express', 'serve-static 2'],
  ['static-hash-fastify', 'fastify-static', 'static-hash/fastify', '@fastify/static 10'],
  ['static-hash-koa', 'koa-static', 'static-hash/koa', 'koa-static 5 + koa-conditional-get'],
];

if (process.argv[2] === 'server') {
  await runServer(process.argv[3], process.argv[4], process.argv[5]);
} else {
  await main();
}


/** The Fastify and Koa servers, each as its users set it up, under /static/. */
async function frameworkServer(kind, root) {
  if (kind === 'static-hash-fastify' || kind === 'fastify-static') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ keepAliveTimeout: 60_000 });
    if (kind === 'static-hash-fastify') {
      const { createStaticHasher } = await import('../dist/esm/src/index.js');
      const { default: staticHash } = await import('../dist/esm/adapters/fastify.js');
      const hasher = await createStaticHasher({ root });
      await hasher.warm();
      await app.register(staticHash, { hasher }); // defaults: the views hook included
    } else {
      const { default: fastifyStatic } = await import('@fastify/static');
      await app.register(fastifyStatic, { root, prefix: '/static/' });
    }
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app.server.address().port;
  }
  const { default: Koa } = await import('koa');
  const app = new Koa();
  // autocannon closes its connections mid-response at each phase's end; Koa would log every one
  // (ERR_STREAM_PREMATURE_CLOSE). Both Koa servers alike.
  app.silent = true;
  if (kind === 'static-hash-koa') {
    const { createStaticHasher } = await import('../dist/esm/src/index.js');
    const { serveStatic } = await import('../dist/esm/adapters/koa.js');
    const hasher = await createStaticHasher({ root });
    await hasher.warm();
    app.use(serveStatic(hasher));
  } else {
    const { default: conditional } = await import('koa-conditional-get');
    const { default: koaStatic } = await import('koa-static');
    const serve = koaStatic(root);
    app.use(conditional());
    // koa-static serves from its root at '/': mounted under /static/ as koa-mount would.
    app.use(async (ctx, next) => {
      if (!ctx.path.startsWith('/static/')) return next();
      ctx.path = ctx.path.slice('/static'.length);
      return serve(ctx, next);
    });
  }
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

/**
 * The load generator's ceiling: every URL in the request mix answered with its file's bytes from
 * memory (304 for a conditional request), with the headers written once. No static server does less.
 */
function ceilingServer(root, urlsFile) {
  const answers = new Map();
  for (const { versioned, plain, file } of JSON.parse(fs.readFileSync(urlsFile, 'utf8'))) {
    const body = fs.readFileSync(path.join(root, file));
    const headers = { 'Content-Type': 'text/plain', 'Content-Length': String(body.length), ETag: '"ceiling"' };
    answers.set(versioned, { body, headers });
    answers.set(plain, { body, headers });
  }
  return (req, res, next) => {
    const answer = answers.get(req.url);
    if (answer === undefined) return next();
    if (req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined) {
      res.writeHead(304, { ETag: '"ceiling"' });
      res.end();
      return;
    }
    res.writeHead(200, answer.headers);
    res.end(answer.body);
  };
}

/** Child process: one server, files under /static/. */
async function runServer(kind, root, urlsFile) {
  if (kind !== 'static-hash' && kind !== 'serve-static' && kind !== 'ceiling') {
    const port = await frameworkServer(kind, root);
    process.send({ port });
    process.on('disconnect', () => process.exit(0));
    return;
  }
  let handle;
  if (kind === 'ceiling') {
    handle = ceilingServer(root, urlsFile);
  } else if (kind === 'static-hash') {
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
  // Text of exactly `bytes` bytes: base64 of random bytes (see the top of this file for why text).
  const text = (bytes, head, tail) => head + crypto.randomBytes(bytes).toString('base64').slice(0, bytes - head.length - tail.length) + tail;
  const small = [];
  // 1 KiB to 64 KiB: scripts, images and data as a page loads them.
  const sizes = [1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 56, 60, 64];
  sizes.forEach((kib, index) => {
    const bytes = kib * 1024;
    if (index % 3 === 0) write(`js/module-${index}.js`, text(bytes, 'export const value = "', '";\n'));
    else if (index % 3 === 1) write(`img/icon-${index}.svg`, text(bytes, '<svg xmlns="http://www.w3.org/2000/svg"><desc>', '</desc></svg>\n'));
    else write(`data/table-${index}.json`, text(bytes, '{"rows":"', '"}\n'));
    small.push(index % 3 === 0 ? `js/module-${index}.js` : index % 3 === 1 ? `img/icon-${index}.svg` : `data/table-${index}.json`);
  });
  const large = [];
  for (const mib of [1.5, 2, 4]) {
    const name = `media/bundle-${mib}.js`;
    write(name, text(mib * 1024 * 1024, '/* bundle */ export const data = "', '";\n'));
    large.push(name);
  }
  return { root, sets: { small, large } };
}

function startServer(kind, root, urlsFile) {
  const child = fork(fileURLToPath(import.meta.url), ['server', kind, root, urlsFile], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
    // koa-send gives no ETag: its revalidation is by Last-Modified.
    const revalidate = first.headers.etag !== undefined ? { 'If-None-Match': first.headers.etag } : { 'If-Modified-Since': first.headers['last-modified'] };
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
  for (const [set, files] of Object.entries(sets)) urls[set] = files.map((file) => ({ versioned: hasher.url(file), plain: `/static/${file}`, file }));
  await hasher.close();
  const urlsFile = `${root}.urls.json`; // beside the root, not in it: no server may see it
  fs.writeFileSync(urlsFile, JSON.stringify(Object.values(urls).flat()));

  const servers = {};
  let failed = false;
  const summary = [];
  try {
    console.log(`mixed traffic: per file (current ?v=, unversioned, 304), ${CONNECTIONS} connections, ${PHASES} x ${PHASE_SECONDS} s per server and set, alternating within each pair`);
    console.log(`machine: ${os.cpus().length} cores, shared with other work while measuring (figures are ratios within a pair, measured in turns)`);
    for (const [oursKind, theirsKind, oursName, theirsName] of PAIRS) {
      const pair = {};
      for (const kind of [oursKind, theirsKind, 'ceiling']) {
        const { child, port } = await startServer(kind, root, urlsFile);
        pair[kind] = servers[kind] = { child, port, requests: {} };
        for (const set of Object.keys(sets)) pair[kind].requests[set] = await buildRequests(port, urls[set]);
      }
      for (const set of Object.keys(sets)) {
        await measure(pair, (server) => server.requests[set]);
        const ours = pair[oursKind];
        const theirs = pair[theirsKind];
        const label = set === 'small' ? `small assets (${sets.small.length} files, 1-64 KiB)` : `large assets (${sets.large.length} files, 1.5-4 MiB)`;
        const ratio = report({
          name: `${oursName}, ${label}`,
          value: ours.total / ours.seconds,
          floor: theirs.total / theirs.seconds,
          floorName: `${theirsName}, same files and requests`,
          unit: 'req/s',
        });
        const target = oursKind === 'static-hash' ? TARGETS[set] : FRAMEWORK_TARGETS[set];
        console.log(`  ratio ${ratio.toFixed(2)}x (target >= ${target}x: ${ratio >= target ? 'met' : 'NOT met'})`);
        const ceiling = pair.ceiling.total / pair.ceiling.seconds;
        console.log(`  load generator ceiling (bare node:http, same bytes from memory, no HTTP semantics): ${Math.round(ceiling)} req/s; ${oursName} at ${Math.round((100 * ours.total) / ours.seconds / ceiling)}% of it, ${theirsName} at ${Math.round((100 * theirs.total) / theirs.seconds / ceiling)}%`);
        console.log(`  errors, timeouts, 4xx and 5xx for valid URLs: ${oursName} ${ours.bad} of ${ours.total}, ${theirsName} ${theirs.bad} of ${theirs.total}`);
        console.log(`  2xx / 3xx answers: ${oursName} ${ours.ok} / ${ours.notModified}, ${theirsName} ${theirs.ok} / ${theirs.notModified}`);
        summary.push(`${oursName} vs ${theirsName}, ${set}: ${ratio.toFixed(2)}x`);
        if (ours.bad > 0) failed = true;
      }
      for (const kind of [oursKind, theirsKind, 'ceiling']) {
        pair[kind].child.kill();
        delete servers[kind];
      }
    }
    console.log(`\nsummary (ours / peer, req/s):\n  ${summary.join('\n  ')}`);
    if (failed) process.exitCode = 1;
  } finally {
    for (const server of Object.values(servers)) server.child.kill();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(urlsFile, { force: true });
  }
}
