// The shared contract suite: ONE table of cases, run against a real server on 127.0.0.1 for each
// framework static-hash serves natively (Express 4, Express 5, Fastify 5, Koa 3). Every adapter
// translates the same serving core (adapters/serve/decide.ts); this checks each translation keeps
// the contract: immutable only for the exact bytes of the current version, no-cache otherwise,
// 304, 206, HEAD, precompressed siblings, 400/404 for hostile paths and never the secret.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import Koa from 'koa';
import { createStaticHasher, type StaticHasher } from '../../src/index';
import { serveStatic as expressStatic } from '../../adapters/express';
import staticHash from '../../adapters/fastify';
import { serveStatic as koaStatic } from '../../adapters/koa';
import { IMMUTABLE, contractOutcome, decodedBody, listen, request, versionOf, type Reply, type Server } from '../helpers/http';

type Framework = 'express4' | 'express5' | 'fastify' | 'koa';

interface Fixture {
  dir: string;
  root: string;
  secret: string;
  appJs: Buffer;
  big: Buffer;
}

function makeFixture(): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-contract-'));
  const root = path.join(dir, 'public');
  const secret = `TOP-SECRET-${crypto.randomUUID()}`;
  fs.writeFileSync(path.join(dir, 'secret.txt'), secret);
  const write = (relative: string, content: string | Buffer): void => {
    const file = path.join(root, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  };
  const appJs = Buffer.from('console.log("app, version one");\n'.repeat(40));
  write('js/app.js', appJs);
  write('js/app.js.br', zlib.brotliCompressSync(appJs));
  // Larger than cache.maxFileBytes (1 MiB): streamed from a checked descriptor, not from memory.
  const big = crypto.randomBytes(1536 * 1024);
  write('media/big.bin', big);
  write('.env', 'DATABASE_PASSWORD=hunter2\n');
  fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'link-out'));
  return { dir, root, secret, appJs, big };
}

// Each framework as its users set it up, with nothing after the static layer but the framework's own 404.
interface Running extends Server {
  /** The URLs Fastify's onSend hook saw (Fastify only). */
  sent: string[];
}

async function start(framework: Framework, hasher: StaticHasher): Promise<Running> {
  const sent: string[] = [];
  if (framework === 'express4' || framework === 'express5') {
    const app = (framework === 'express4' ? (express4 as unknown as () => express.Express) : express)();
    app.use(expressStatic(hasher));
    return { ...(await listen(http.createServer(app))), sent };
  }
  if (framework === 'koa') {
    const app = new Koa();
    app.use(koaStatic(hasher));
    return { ...(await listen(http.createServer(app.callback()))), sent };
  }
  const app = Fastify();
  app.addHook('onSend', async (request, _reply, payload) => {
    sent.push(request.url);
    return payload;
  });
  await app.register(staticHash, { hasher });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { port, sent, close: () => app.close() };
}

interface Context {
  fixture: Fixture;
  hasher: StaticHasher;
  port: number;
  framework: Framework;
}

// What each framework does with a POST to an asset: Express and Koa pass the request through the
// middleware, which answers 405 with Allow (as serve-static does); Fastify routes by method, and
// this plugin declares GET and HEAD only, so a POST gets Fastify's own 404 (as @fastify/static).
const POST_STATUS: Record<Framework, number> = { express4: 405, express5: 405, fastify: 404, koa: 405 };

const corpus = [
  '/static/../secret.txt', '/static/../../secret.txt', '/static/js/../../secret.txt', '/static/%2e%2e/secret.txt',
  '/static/.%2e/secret.txt', '/static/%2e%2e%2fsecret.txt', '/static/..%2fsecret.txt', '/static/%252e%252e%252fsecret.txt',
  '/static/..;/secret.txt', '/static/%c0%ae%c0%ae/secret.txt', '/static/..%5csecret.txt', '/static/..\\secret.txt',
  '/static/%00', '/static/js/app.js%00.png', '/static//etc/passwd', '/static/%2f%2fevil.example/secret.txt',
  '/static/file:///etc/passwd', '/static/C:%5cWindows%5cwin.ini', '/static/link-out', '/static/.env',
  `/static/${'../'.repeat(200)}secret.txt`, `/static/${'x'.repeat(3000)}`, 'http://127.0.0.1/static/%2e%2e/secret.txt',
];

/** The table: every case runs, unchanged, against every framework. */
const CASES: Array<[string, (context: Context) => Promise<void>]> = [
  ['current version: immutable, exactly the bytes its version names', async ({ hasher, port, fixture }) => {
    const url = hasher.url('js/app.js');
    const reply = await request(port, url);
    expect(reply.status).toBe(200);
    expect(reply.headers['cache-control']).toBe(IMMUTABLE);
    expect(reply.body.equals(fixture.appJs)).toBe(true);
    expect(await contractOutcome(reply, new URL(url, 'http://x').searchParams.get('v')!)).toBe('exact');
  }],
  ['current version of a streamed (large) file: immutable, exact bytes', async ({ hasher, port, fixture }) => {
    const url = hasher.url('media/big.bin');
    const reply = await request(port, url);
    expect([reply.status, reply.headers['cache-control'], reply.complete]).toEqual([200, IMMUTABLE, true]);
    expect(reply.body.equals(fixture.big)).toBe(true);
    expect(await contractOutcome(reply, await versionOf(fixture.big))).toBe('exact');
  }],
  ['stale version: the current bytes with no-cache', async ({ port, fixture }) => {
    const reply = await request(port, '/static/js/app.js?v=000000000000');
    expect([reply.status, reply.headers['cache-control']]).toEqual([200, 'no-cache']);
    expect(reply.body.equals(fixture.appJs)).toBe(true);
  }],
  ['unversioned: no-cache, with validators', async ({ port, fixture }) => {
    const reply = await request(port, '/static/js/app.js');
    expect([reply.status, reply.headers['cache-control']]).toEqual([200, 'no-cache']);
    expect(reply.headers.etag).toMatch(/^W\/"[0-9a-f]+"$/);
    expect(reply.headers['last-modified']).toBeDefined();
    expect(reply.body.equals(fixture.appJs)).toBe(true);
  }],
  ['If-None-Match with the ETag: 304, no body', async ({ hasher, port }) => {
    const url = hasher.url('js/app.js');
    const first = await request(port, url);
    const reply = await request(port, url, { headers: { 'If-None-Match': String(first.headers.etag) } });
    expect(reply.status).toBe(304);
    expect(reply.body.length).toBe(0);
    expect(reply.headers.etag).toBe(first.headers.etag);
  }],
  ['Range: 206 with exactly the bytes asked for', async ({ hasher, port, fixture }) => {
    for (const name of ['js/app.js', 'media/big.bin']) {
      const bytes = name === 'js/app.js' ? fixture.appJs : fixture.big;
      const reply = await request(port, hasher.url(name), { headers: { Range: 'bytes=10-29' } });
      expect([name, reply.status, reply.headers['content-range']]).toEqual([name, 206, `bytes 10-29/${bytes.length}`]);
      expect(reply.body.equals(bytes.subarray(10, 30))).toBe(true);
    }
    const beyond = await request(port, hasher.url('js/app.js'), { headers: { Range: 'bytes=999999-' } });
    expect(beyond.status).toBe(416);
  }],
  ['HEAD: the GET headers, no body', async ({ hasher, port, fixture }) => {
    const reply = await request(port, hasher.url('js/app.js'), { method: 'HEAD' });
    expect([reply.status, reply.headers['cache-control'], reply.headers['content-length']]).toEqual([200, IMMUTABLE, String(fixture.appJs.length)]);
    expect(reply.body.length).toBe(0);
  }],
  ['Accept-Encoding: br gets the verified .br sibling', async ({ hasher, port, fixture }) => {
    const reply = await request(port, hasher.url('js/app.js'), { headers: { 'Accept-Encoding': 'br' } });
    expect([reply.status, reply.headers['content-encoding'], reply.headers.vary]).toEqual([200, 'br', 'Accept-Encoding']);
    expect(decodedBody(reply).equals(fixture.appJs)).toBe(true);
    expect(reply.headers['cache-control']).toBe(IMMUTABLE);
  }],
  ['POST: 405 or fall-through, as the framework expects; never the file', async ({ hasher, port, framework, fixture }) => {
    const reply = await request(port, hasher.url('js/app.js'), { method: 'POST' });
    expect(reply.status).toBe(POST_STATUS[framework]);
    if (reply.status === 405) expect(reply.headers.allow).toBe('GET, HEAD');
    expect(reply.body.includes(fixture.appJs)).toBe(false);
  }],
  ['missing file: 404 (the framework\'s own not-found)', async ({ port }) => {
    const reply = await request(port, '/static/js/nope.js');
    expect(reply.status).toBe(404);
  }],
  ['traversal corpus: 400 or 404, never a 5xx, never the secret', async ({ port, fixture }) => {
    let checked = 0;
    for (const rawPath of corpus) {
      const reply = await request(port, rawPath);
      expect([rawPath, [400, 404].includes(reply.status)]).toEqual([rawPath, true]);
      expect(reply.body.toString('latin1')).not.toContain(fixture.secret);
      expect(reply.body.toString('latin1')).not.toContain('hunter2');
      checked++;
    }
    expect(checked).toBe(corpus.length);
  }],
];

const FRAMEWORKS: Framework[] = ['express4', 'express5', 'fastify', 'koa'];

describe.each(FRAMEWORKS)('the serving contract on %s', (framework) => {
  let fixture: Fixture;
  let hasher: StaticHasher;
  let server: Running;

  beforeAll(async () => {
    fixture = makeFixture();
    hasher = await createStaticHasher({ root: fixture.root, baseUrl: '/static/' });
    server = await start(framework, hasher);
  });
  afterAll(async () => {
    await server.close();
    await hasher.close();
    fs.rmSync(fixture.dir, { recursive: true, force: true });
  });

  it.each(CASES)('%s', async (_name, run) => {
    await run({ fixture, hasher, port: server.port, framework });
  });

  if (framework === 'fastify') {
    it('an onSend hook sees the asset responses', async () => {
      server.sent.length = 0;
      const url = hasher.url('js/app.js');
      await request(server.port, url);
      await request(server.port, hasher.url('media/big.bin'));
      expect(server.sent).toEqual([url, hasher.url('media/big.bin')]);
    });
  }
});
