import http from 'node:http';
import type net from 'node:net';
import express from 'express';
import { createStaticHasher, type StaticHasher } from '../../../src/index';
import { serveStatic, type StaticMiddleware } from '../../../adapters/express';
import { LIVE_RELOAD_CLIENT } from '../../../adapters/serve/live-reload-client';
import { liveReloadTag } from '../../../adapters/serve/live-reload';
import { watcherOf } from '../../../src/hasher';
import { codeOf } from '../../helpers/errors';
import { makeFixture, recordingLogger, type Fixture } from '../../helpers/fixture';
import { request } from '../../helpers/http';

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

interface App {
  site: Fixture;
  hasher: StaticHasher;
  middleware: StaticMiddleware;
  server: http.Server;
  port: number;
}

async function start(options: { liveReload?: unknown; watch?: boolean } = { liveReload: true }): Promise<App> {
  const site = makeFixture({
    'css/site.css': '@import "theme.css"; body { color: red }',
    'css/theme.css': '.logo { background: url(../img/logo.png) }',
    'img/logo.png': 'png-1',
    'js/app.js': 'console.log(1)',
  });
  cleanups.push(() => site.cleanup());
  const hasher = await createStaticHasher({ root: site.dir, watch: options.watch ?? true, logger: recordingLogger(), onMissing: 'ignore' });
  cleanups.push(() => hasher.close());
  await hasher.ready;
  const middleware = serveStatic(hasher, { liveReload: options.liveReload as boolean });
  const app = express();
  app.use(middleware);
  app.use((_req, res) => void res.status(404).end('not found'));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { site, hasher, middleware, server, port: (server.address() as net.AddressInfo).port };
}

interface Stream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every SSE block received so far, as text. */
  blocks: string[];
  /** The parsed `data` of every event of this name. */
  events(name: string): unknown[];
  ended: boolean;
  destroy(): void;
}

function openStream(port: number, path = EVENTS): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      let buffer = '';
      const stream: Stream = {
        status: res.statusCode!,
        headers: res.headers,
        blocks: [],
        ended: false,
        events(name) {
          return this.blocks.filter((block) => block.split('\n').includes(`event: ${name}`))
            .map((block) => JSON.parse(block.split('\n').find((line) => line.startsWith('data: '))!.slice(6)));
        },
        destroy: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          stream.blocks.push(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      });
      res.on('end', () => void (stream.ended = true));
      res.on('error', () => void (stream.ended = true));
      resolve(stream);
    });
    req.on('error', reject);
  });
}

describe('the live-reload endpoint (static-hash/express, liveReload: true)', () => {
  test('the stream: SSE headers, retry and hello first, then a change event with the URLs the next render emits', async () => {
    const app = await start();
    const stream = await openStream(app.port);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(stream.headers['content-length']).toBeUndefined();
    await waitFor(() => stream.blocks.length >= 1, 'the hello event');
    expect(stream.blocks[0]!.startsWith('retry: 1000\nevent: hello\n')).toBe(true);
    expect(stream.events('hello')).toEqual([{ boot: app.middleware.liveReload!.boot, generation: app.hasher.generation }]);

    // The page rendered the stylesheets (as a template would); then the image they use is edited.
    const before = app.hasher.url('css/site.css');
    app.hasher.url('css/theme.css');
    app.site.write('img/logo.png', 'png-2');
    await waitFor(() => stream.events('change').some((event) => JSON.stringify(event).includes('img/logo.png')), 'a change event');
    const change = stream.events('change').find((event) => JSON.stringify(event).includes('img/logo.png')) as {
      generation: number; cause: string; references: Array<{ reference: string; url?: string; unversioned: string; stylesheet: boolean }>;
    };
    expect(change.cause).toBe('watch');
    expect(change.references.map((entry) => entry.reference)).toEqual(['css/site.css', 'css/theme.css', 'img/logo.png']);
    const site = change.references[0]!;
    expect(site).toEqual({ reference: 'css/site.css', unversioned: '/static/css/site.css', url: app.hasher.url('css/site.css'), stylesheet: true });
    expect(site.url).not.toBe(before);
    expect(change.references[2]!.stylesheet).toBe(false);

    // A removed file is reported without a URL.
    app.site.write('js/app.js', 'x');
    await waitFor(() => stream.events('change').some((event) => JSON.stringify(event).includes('js/app.js')), 'the script change');
    const { rmSync } = await import('node:fs');
    rmSync(app.site.path('js/app.js'));
    await waitFor(() => stream.events('change').some((event) => (event as typeof change).references?.some((entry) => entry.reference === 'js/app.js' && entry.url === undefined)),
      'the removal');

    // invalidate() and notify(): anything may have changed.
    app.hasher.invalidate();
    await waitFor(() => stream.events('change').some((event) => (event as typeof change).cause === 'invalidate'), 'the invalidate event');
    expect(stream.events('change').at(-1)).toEqual({ generation: app.hasher.generation, cause: 'invalidate', references: null });
    stream.destroy();
  });

  test('the heartbeat keeps an idle stream talking; one timer, only while a client is open', async () => {
    const app = await start({ liveReload: { heartbeatMs: 20 } });
    const stream = await openStream(app.port);
    await waitFor(() => stream.blocks.filter((block) => block === ': heartbeat').length >= 3, 'three heartbeats');
    stream.destroy();
    await waitFor(() => app.middleware.liveReload!.clients === 0, 'the hub to drop the client');
    const count = stream.blocks.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stream.blocks.length).toBe(count);
  });

  test('many clients each get every event; a client that disconnects is dropped, the others go on', async () => {
    const app = await start();
    const streams = await Promise.all(Array.from({ length: 50 }, () => openStream(app.port)));
    await waitFor(() => app.middleware.liveReload!.clients === 50, '50 clients');
    for (const stream of streams.slice(0, 20)) stream.destroy();
    await waitFor(() => app.middleware.liveReload!.clients === 30, 'the hub to drop 20 clients');
    app.hasher.notify(['js/app.js']);
    const open = streams.slice(20);
    await waitFor(() => open.every((stream) => stream.events('change').length === 1), 'every open client to get the event');
    for (const stream of open) expect(stream.events('change')[0]).toMatchObject({ cause: 'notify', references: [{ reference: 'js/app.js', stylesheet: false }] });
    for (const stream of streams.slice(0, 20)) expect(stream.events('change')).toEqual([]);
    console.log(`live reload: 50 clients connected, 20 disconnected, 30 received the event`);
  });

  test('hasher.close() ends every stream, so server.close() completes; later requests end at once', async () => {
    const app = await start();
    const streams = await Promise.all([openStream(app.port), openStream(app.port), openStream(app.port)]);
    await waitFor(() => app.middleware.liveReload!.clients === 3, '3 clients');
    await app.hasher.close();
    await waitFor(() => streams.every((stream) => stream.ended), 'every stream to end');
    expect(app.middleware.liveReload!.closed).toBe(true);
    expect(liveReloadTag(app.hasher)).toBe('');
    const late = await openStream(app.port);
    await waitFor(() => late.ended, 'a late stream to end');
    // Nothing holds the server open any more: close() completes without closeAllConnections().
    await new Promise<void>((resolve) => app.server.close(() => resolve()));
  });

  test('middleware.liveReload.close() ends streams too (for shutdown handlers)', async () => {
    const app = await start();
    const stream = await openStream(app.port);
    await waitFor(() => app.middleware.liveReload!.clients === 1, 'the client');
    app.middleware.liveReload!.close();
    await waitFor(() => stream.ended, 'the stream to end');
  });

  test('the client script: JavaScript, no-cache, a few KB, HEAD, and 405 for other methods', async () => {
    const app = await start();
    const script = await request(app.port, SCRIPT);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe('no-cache');
    expect(script.body.toString()).toBe(LIVE_RELOAD_CLIENT);
    expect(script.body.length).toBeLessThan(4096);
    // It parses as a script (no build step, no syntax the engine lacks).
    expect(() => new Function(LIVE_RELOAD_CLIENT)).not.toThrow();
    const head = await request(app.port, SCRIPT, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    const post = await request(app.port, EVENTS, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    // Ordinary files are still served beside it.
    expect((await request(app.port, '/static/js/app.js')).status).toBe(200);
    console.log(`live reload: client script ${script.body.length} bytes`);
  });

  test('liveReload off (the default): no route answers, the tag renders nothing, the watcher records nothing', async () => {
    const app = await start({ liveReload: undefined });
    expect(app.middleware.liveReload).toBeUndefined();
    expect((await request(app.port, EVENTS)).status).toBe(404);
    expect((await request(app.port, SCRIPT)).status).toBe(404);
    expect(liveReloadTag(app.hasher)).toBe('');
    expect(app.hasher.listenerCount('change')).toBe(0);
    const before = app.hasher.generation;
    app.site.write('css/site.css', 'body { color: blue }');
    await waitFor(() => app.hasher.generation > before && !app.hasher.bypass, 'the edit to be observed');
    expect(watcherOf(app.hasher)!.pathsRecorded).toBe(0);
    const off = await start({ liveReload: false });
    expect((await request(off.port, EVENTS)).status).toBe(404);
  });

  test('bad liveReload values are ERR_STATIC_INVALID_OPTION naming the option', async () => {
    const site = makeFixture();
    cleanups.push(() => site.cleanup());
    const hasher = await createStaticHasher({ root: site.dir });
    expect(codeOf(() => serveStatic(hasher, { liveReload: 'yes' as never }))).toBe('ERR_STATIC_INVALID_OPTION');
    expect(() => serveStatic(hasher, { liveReload: { heartbeatMs: 0 } })).toThrow(/liveReload\.heartbeatMs/);
    expect(() => serveStatic(hasher, { liveReload: { heartbeat: 5 } as never })).toThrow(/heartbeatMs/);
  });
});
