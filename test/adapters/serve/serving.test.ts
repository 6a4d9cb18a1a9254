// The serving core through the Connect middleware, on the cases the race tests do not cover:
// manifest drift, the Koa bridge (koa-connect), large files streamed from a checked descriptor (and
// written in place while they stream), the memory budget, and what a release version promises.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import Koa from 'koa';
import koaConnect from 'koa-connect';
import { buildManifest, createStaticHasher, writeManifest, type StaticHasher, type StaticHasherOptions } from '../../../src/index';
import { serveStatic, type ServeStaticOptions } from '../../../adapters/express';
import { makeFixture, recordingLogger, type Fixture } from '../../helpers/fixture';
import { IMMUTABLE, contractOutcome, listen, request, versionOf, type Server } from '../../helpers/http';

const open: Array<{ close(): Promise<void> }> = [];
const fixtures: Fixture[] = [];

afterEach(async () => {
  for (const entry of open.splice(0).reverse()) await entry.close();
  for (const fixture of fixtures.splice(0)) fixture.cleanup();
});

function fixtureWith(files: Record<string, string | Buffer>): Fixture {
  const fixture = makeFixture(files);
  fixtures.push(fixture);
  return fixture;
}

async function nodeServer(hasher: StaticHasher, options: ServeStaticOptions = {}): Promise<Server> {
  const middleware = serveStatic(hasher, options);
  const server = await listen(http.createServer((req, res) => middleware(req, res, (error?: unknown) => {
    res.statusCode = error === undefined ? 404 : 500;
    res.end();
  })));
  open.push(server);
  return server;
}

async function hasherFor(fixture: Fixture, options: StaticHasherOptions = {}): Promise<StaticHasher> {
  const hasher = await createStaticHasher({ root: fixture.dir, logger: { warn: () => {} }, ...options });
  open.push(hasher);
  return hasher;
}

describe('manifest drift', () => {
  it('a file edited after the manifest was built is never immutable under the manifest\'s version, and one warning says to rebuild', async () => {
    const fixture = fixtureWith({ 'js/app.js': 'console.log("built");\n', 'js/other.js': 'other\n', 'css/site.css': 'a { color: red; }\n' });
    const { manifest } = await buildManifest({ root: fixture.dir });
    const manifestFile = fixture.path('static-manifest.json');
    writeManifest(manifestFile, manifest);
    const logger = recordingLogger();
    const hasher = await hasherFor(fixture, { manifest: manifestFile, logger });
    const server = await nodeServer(hasher);
    const url = hasher.url('js/app.js');
    const builtVersion = manifest.files['js/app.js']!;
    expect(url).toBe(`/static/js/app.js?v=${builtVersion}`);

    // Edited after the build: the manifest still names the old bytes.
    fs.writeFileSync(fixture.path('js/app.js'), 'console.log("edited after the build");\n');
    fs.writeFileSync(fixture.path('css/site.css'), 'a { color: blue; }\n');
    for (let attempt = 0; attempt < 3; attempt++) {
      const reply = await request(server.port, url);
      expect(reply.status).toBe(200);
      expect(reply.body.toString()).toBe('console.log("edited after the build");\n');
      expect(reply.headers['cache-control']).toBe('no-cache');
      expect(reply.headers.etag).toBeDefined();
      const css = await request(server.port, hasher.url('css/site.css'));
      expect(css.headers['cache-control']).toBe('no-cache');
    }
    // A file that still matches its manifest hash keeps its promise.
    const other = await request(server.port, hasher.url('js/other.js'));
    expect(await contractOutcome(other, manifest.files['js/other.js']!)).toBe('exact');
    // The manifest's URL does not move (a manifest is fixed), so no generation churn either.
    expect(hasher.url('js/app.js')).toBe(url);
    const drift = logger.warnings.filter((line) => line.includes('no longer matches the manifest'));
    expect(drift).toHaveLength(2);
    expect(drift[0]).toContain('"js/app.js"');
    expect(drift[0]).toContain(manifestFile);
    expect(drift[0]).toContain('rebuild the manifest');
  });
});

describe('the Koa bridge (koa + koa-connect)', () => {
  it('answers with the status the middleware means: 200, 206, 304, 404 — never Koa\'s default 404 with a body', async () => {
    const fixture = fixtureWith({ 'js/app.js': 'console.log("koa");\n'.repeat(10), 'css/site.css': 'a { color: red; }\n', 'img/big.bin': crypto.randomBytes(1536 * 1024) });
    const hasher = await hasherFor(fixture);
    const app = new Koa();
    app.use(koaConnect(serveStatic(hasher)));
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = 'koa fallthrough';
    });
    const server = await listen(http.createServer(app.callback()));
    open.push(server);

    const current = await request(server.port, hasher.url('js/app.js'));
    expect(current.status).toBe(200);
    expect(current.headers['cache-control']).toBe(IMMUTABLE);
    expect(current.body.toString()).toBe('console.log("koa");\n'.repeat(10));
    const big = await request(server.port, hasher.url('img/big.bin'));
    expect(big.status).toBe(200);
    expect(await contractOutcome(big, hasher.hash('img/big.bin')!)).toBe('exact');
    expect((await request(server.port, hasher.url('css/site.css'))).status).toBe(200);
    const partial = await request(server.port, hasher.url('js/app.js'), { headers: { Range: 'bytes=0-6' } });
    expect([partial.status, partial.body.toString()]).toEqual([206, 'console']);
    const revalidated = await request(server.port, '/static/js/app.js', { headers: { 'If-None-Match': current.headers.etag! } });
    expect(revalidated.status).toBe(304);
    const missing = await request(server.port, '/static/js/missing.js');
    expect([missing.status, missing.body.toString()]).toEqual([404, 'koa fallthrough']);
  });
});

describe('large files, streamed from the descriptor that was checked', () => {
  const size = 2 * 1024 * 1024 + 3;

  it('serves Range, HEAD, 304, 412 and 416 from a streamed file as from memory', async () => {
    const bytes = crypto.randomBytes(size);
    const fixture = fixtureWith({ 'media/big.bin': bytes });
    const hasher = await hasherFor(fixture);
    const server = await nodeServer(hasher);
    const url = hasher.url('media/big.bin');
    const whole = await request(server.port, url);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(bytes)).toBe(true);
    expect(whole.headers['content-length']).toBe(String(size));
    expect(whole.headers['cache-control']).toBe(IMMUTABLE);
    const range = await request(server.port, url, { headers: { Range: 'bytes=1048570-1048580' } });
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes 1048570-1048580/${size}`);
    expect(range.body.equals(bytes.subarray(1048570, 1048581))).toBe(true);
    const tail = await request(server.port, url, { headers: { Range: 'bytes=-1' } });
    expect(tail.body.equals(bytes.subarray(size - 1))).toBe(true);
    const head = await request(server.port, url, { method: 'HEAD' });
    expect([head.status, head.body.length, head.headers['content-length']]).toEqual([200, 0, String(size)]);
    expect((await request(server.port, url, { headers: { 'If-None-Match': whole.headers.etag! } })).status).toBe(304);
    expect((await request(server.port, url, { headers: { 'If-Match': '"other"' } })).status).toBe(412);
    const unsatisfiable = await request(server.port, url, { headers: { Range: `bytes=${size}-` } });
    expect([unsatisfiable.status, unsatisfiable.headers['content-range']]).toEqual([416, `bytes */${size}`]);
    // If-Range with another validator: the whole file, not a part of a different one.
    const stale = await request(server.port, url, { headers: { Range: 'bytes=0-9', 'If-Range': '"old"' } });
    expect([stale.status, stale.body.length]).toEqual([200, size]);
  });

  it('a file written in place while it streams: the response is cut off, never completed with other bytes under its version', async () => {
    const fixture = fixtureWith({ 'media/big.bin': crypto.randomBytes(size) });
    const hasher = await hasherFor(fixture);
    let armed = true;
    const server = await nodeServer(hasher, {
      setHeaders: () => {
        if (!armed) return;
        armed = false;
        // After the descriptor was opened and checked, before a byte is read: rewritten where it is.
        fs.writeFileSync(fixture.path('media/big.bin'), crypto.randomBytes(size));
      },
    });
    const url = hasher.url('media/big.bin');
    const reply = await request(server.port, url);
    expect(armed).toBe(false);
    const version = url.slice(url.indexOf('v=') + 2);
    const outcome = await contractOutcome(reply, version);
    console.log(`in-place write of a streamed file: ${outcome} (${reply.body.length} of ${reply.headers['content-length']} bytes)`);
    expect(outcome).toBe('INCOMPLETE');
    // The next request sees the change: the old version is no longer claimed for the new bytes.
    const after = await request(server.port, url);
    expect(after.complete).toBe(true);
    expect(['exact', 'not-immutable']).toContain(await contractOutcome(after, version));
    expect(after.headers['cache-control']).toBe('no-cache');
  });

  it('with cache.maxBytes 0 every file is streamed, and still exact', async () => {
    const small = Buffer.from('small file\n');
    const fixture = fixtureWith({ 'a.txt': small });
    const hasher = await hasherFor(fixture, { cache: { maxBytes: 0 } });
    const server = await nodeServer(hasher);
    const asset = await hasher.asset('a.txt');
    expect(asset!.identity.body).toBeUndefined();
    const reply = await request(server.port, hasher.url('a.txt'));
    expect(await contractOutcome(reply, await versionOf(small))).toBe('exact');
  });
});

describe('hasher.asset()', () => {
  it('keeps small files in memory with the version their bytes carry, and moves the generation when the disk changed under a cached hash', async () => {
    const fixture = fixtureWith({ 'a.txt': 'one\n' });
    const hasher = await hasherFor(fixture);
    const before = hasher.url('a.txt');
    const asset = await hasher.asset('a.txt');
    expect(asset!.version).toBe(hasher.hash('a.txt'));
    expect(asset!.identity.body!.toString()).toBe('one\n');
    const generation = hasher.generation;
    fs.writeFileSync(fixture.path('a.txt'), 'two, longer\n');
    const changed = await hasher.asset('a.txt');
    expect(changed!.identity.body!.toString()).toBe('two, longer\n');
    expect(changed!.version).toBe(await versionOf(Buffer.from('two, longer\n')));
    // Invariant 2: the change was observed, so no later lookup returns the hash read before it.
    expect(hasher.generation).toBeGreaterThan(generation);
    expect(hasher.url('a.txt')).not.toBe(before);
  });

  it('uses a precompressed sibling only if it decompresses to exactly the file', async () => {
    const zlib = await import('node:zlib');
    const body = Buffer.from('the real file\n'.repeat(20));
    const fixture = fixtureWith({ 'a.js': body, 'a.js.br': zlib.brotliCompressSync(body), 'a.js.gz': zlib.gzipSync(Buffer.from('another file\n')) });
    const hasher = await hasherFor(fixture);
    const asset = await hasher.asset('a.js');
    expect(asset!.encodings.map((each) => each.encoding)).toEqual(['br']);
    const server = await nodeServer(hasher);
    const gzip = await request(server.port, hasher.url('a.js'), { headers: { 'Accept-Encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBeUndefined();
    expect(gzip.body.equals(body)).toBe(true);
  });

  it('with a release version, bytes that change under the same version are served no-cache, with a warning', async () => {
    const fixture = fixtureWith({ 'a.txt': 'release one\n' });
    const logger = recordingLogger();
    const hasher = await hasherFor(fixture, { version: '1.0.0', logger });
    const server = await nodeServer(hasher);
    const url = hasher.url('a.txt');
    expect((await request(server.port, url)).headers['cache-control']).toBe(IMMUTABLE);
    fs.writeFileSync(fixture.path('a.txt'), 'edited during the release\n');
    const reply = await request(server.port, url);
    expect(reply.body.toString()).toBe('edited during the release\n');
    expect(reply.headers['cache-control']).toBe('no-cache');
    expect(logger.warnings.some((line) => line.includes('changed while release version "1.0.0" is served'))).toBe(true);
  });
});
