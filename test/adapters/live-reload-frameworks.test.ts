// liveReload on static-hash/fastify and static-hash/koa: the same endpoint as static-hash/express
// (adapters/serve/live-reload.ts), mounted by each adapter; real servers on 127.0.0.1, real watcher.
import http from 'node:http';
import type net from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import Koa from 'koa';
import { createStaticHasher, type StaticHasher } from '../../src/index';
import staticHash from '../../adapters/fastify';
import { serveStatic as koaStatic } from '../../adapters/koa';
import { LIVE_RELOAD_CLIENT } from '../../adapters/serve/live-reload-client';
import { makeFixture, recordingLogger, type Fixture } from '../helpers/fixture';

// Every wait polls an observable state with a generous bound: nothing here asserts on time.
const TIMEOUT_MS = 15_000;
const EVENTS = '/static/__static-hash/live-reload';
const SCRIPT = '/static/__static-hash/live-reload.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Running {
  hasher: StaticHasher;
  site: Fixture;
  port: number;
  /** Stops the server the way its framework does (fastify.close(), server.close()). */
  stop(): Promise<void>;
}

async function site(): Promise<{ site: Fixture; hasher: StaticHasher }> {
  const files = makeFixture({ 'css/site.css': 'body { color: red }', 'js/app.js': 'console.log(1)' });
  const hasher = await createStaticHasher({ root: files.dir, watch: { debounceMs: 5 }, logger: recordingLogger() });
  await hasher.ready;
  cleanups.push(() => files.cleanup());
  cleanups.push(() => hasher.close());
  return { site: files, hasher };
}

async function startFastify(liveReload: boolean): Promise<Running> {
  const { site: files, hasher } = await site();
  const app: FastifyInstance = Fastify();
  await app.register(staticHash, { hasher, liveReload });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as net.AddressInfo).port;
  return { hasher, site: files, port, stop: () => app.close() };
}

async function startKoa(liveReload: boolean): Promise<Running> {
  const { site: files, hasher } = await site();
  const app = new Koa();
  const middleware = koaStatic(hasher, { liveReload });
  app.use(middleware);
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = 'not here';
  });
  const server = await new Promise<http.Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    hasher, site: files, port,
    stop: async () => {
      middleware.liveReload?.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function get(port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject);
  });
}

function openStream(port: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: () => string; ended: () => boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: EVENTS, agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      let text = '';
      let ended = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => { ended = true; });
      res.on('error', () => { ended = true; });
      cleanups.push(() => void req.destroy());
      resolve({ status: res.statusCode!, headers: res.headers, text: () => text, ended: () => ended });
    });
    req.on('error', reject);
  });
}

describe.each([['Fastify', startFastify], ['Koa', startKoa]] as const)('liveReload on static-hash/%s', (_name, start) => {
  it('serves the stream (hello, then the changed stylesheet with the URL the next render emits) and the client script', async () => {
    const app = await start(true);
    const stream = await openStream(app.port);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
    await waitFor(() => stream.text().includes('event: hello'), 'the hello event');

    app.hasher.url('css/site.css');
    app.site.write('css/site.css', 'body { color: blue }');
    await waitFor(() => stream.text().includes('css/site.css'), 'a change event naming the stylesheet');
    const block = stream.text().split('\n\n').find((entry) => entry.includes('event: change') && entry.includes('css/site.css'))!;
    const change = JSON.parse(block.split('\n').find((line) => line.startsWith('data: '))!.slice(6)) as { references: Array<{ reference: string; url?: string }> };
    expect(change.references.find((entry) => entry.reference === 'css/site.css')!.url).toBe(app.hasher.url('css/site.css'));

    const script = await get(app.port, SCRIPT);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toBe(LIVE_RELOAD_CLIENT);

    // Stopping the server ends the open stream (it would otherwise keep the server from closing).
    await app.stop();
    await waitFor(() => stream.ended(), 'the stream to end');
  });

  it('with liveReload off, neither path answers, and assets are served as before', async () => {
    const app = await start(false);
    cleanups.push(() => app.stop());
    expect((await get(app.port, EVENTS)).status).toBe(404);
    expect((await get(app.port, SCRIPT)).status).toBe(404);
    const asset = await get(app.port, app.hasher.url('js/app.js'));
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.body).toBe('console.log(1)');
  });
});
