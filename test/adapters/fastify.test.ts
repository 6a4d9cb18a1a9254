// static-hash/fastify beyond the shared contract (test/adapters/contract.test.ts): templates of
// both engines through @fastify/view, @fastify/compress, the prefix, the decorator, bad options.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyView from '@fastify/view';
import fastifyCompress from '@fastify/compress';
import handlebars from 'handlebars';
import nunjucks from 'nunjucks';
import { createStaticHasher, StaticHashError, type StaticHasher } from '../../src/index';
import staticHash from '../../adapters/fastify';
import { registerStatic as registerNunjucks } from '../../adapters/nunjucks';
import { request, getWhileRewriting } from '../helpers/http';

let dir: string;
let root: string;
let views: string;
let hasher: StaticHasher;
const css = 'body { color: red; }\n'.repeat(200);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-fastify-'));
  root = path.join(dir, 'public');
  views = path.join(dir, 'views');
  fs.mkdirSync(path.join(root, 'css'), { recursive: true });
  fs.mkdirSync(path.join(root, 'js'), { recursive: true });
  fs.mkdirSync(views);
  fs.writeFileSync(path.join(root, 'css/site.css'), css);
  fs.writeFileSync(path.join(root, 'js/app.js'), 'export const app = 1;\n');
  fs.writeFileSync(path.join(views, 'page.njk'), '<link href="{{ static("css/site.css") }}" integrity="{{ static_integrity("css/site.css") }}">{{ static_importmap("js/app.js") | safe }}');
  fs.writeFileSync(path.join(views, 'page.hbs'), '<link href="{{static "css/site.css"}}" integrity="{{static_integrity "css/site.css"}}">{{static_importmap "js/app.js"}}');
  hasher = await createStaticHasher({ root, baseUrl: '/assets/' });
});
afterAll(async () => {
  await hasher.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function serve(app: FastifyInstance): Promise<{ port: number; close: () => Promise<void> }> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as { port: number }).port, close: () => app.close() };
}

describe.each([
  ['nunjucks', { nunjucks }, 'page.njk'],
  ['handlebars', { handlebars }, 'page.hbs'],
] as const)('@fastify/view with %s: static, static_integrity and static_importmap without wiring', (_engine, engine, page) => {
  it.each([['view registered first', true], ['view registered after the plugin', false]])('%s', async (_label, viewFirst) => {
    const app = Fastify();
    if (viewFirst) await app.register(fastifyView, { engine, root: views });
    await app.register(staticHash, { hasher });
    if (!viewFirst) await app.register(fastifyView, { engine, root: views });
    app.get('/', (_request, reply) => reply.view(page));
    const server = await serve(app);
    try {
      const reply = await request(server.port, '/');
      expect(reply.status).toBe(200);
      const html = reply.body.toString();
      expect(html).toContain(`<link href="${hasher.url('css/site.css')}" integrity="${hasher.integrity('css/site.css')}">`);
      expect(html).toContain('<script type="importmap">');
      expect(html).toContain(hasher.url('js/app.js'));
      // The URL the template got is served, immutable, under the prefix taken from baseUrl.
      const asset = await request(server.port, hasher.url('css/site.css'));
      expect([asset.status, asset.headers['cache-control'], asset.body.toString()]).toEqual([200, 'public, max-age=31536000, immutable', css]);
    } finally {
      await server.close();
    }
  });
});

it('Handlebars inside #each: {{@root.static}} (as docs/serving.md says) finds the values', async () => {
  fs.writeFileSync(path.join(views, 'list.hbs'), '{{#each files}}<a href="{{@root.static this}}">{{/each}}');
  const app = Fastify();
  await app.register(fastifyView, { engine: { handlebars }, root: views });
  await app.register(staticHash, { hasher });
  app.get('/', (_request, reply) => reply.view('list.hbs', { files: ['css/site.css', 'js/app.js'] }));
  const server = await serve(app);
  try {
    const reply = await request(server.port, '/');
    expect(reply.body.toString()).toBe(`<a href="${hasher.url('css/site.css')}"><a href="${hasher.url('js/app.js')}">`);
  } finally {
    await server.close();
  }
});

it('Nunjucks tag form through @fastify/view: options.onConfigure registers it (as docs/serving.md says)', async () => {
  fs.writeFileSync(path.join(views, 'tag.njk'), '{% static "css/site.css" %} {% static_importmap "js/app.js" %}');
  const app = Fastify();
  await app.register(fastifyView, { engine: { nunjucks }, root: views, options: { onConfigure: (env: nunjucks.Environment) => registerNunjucks(env, hasher) } });
  await app.register(staticHash, { hasher });
  app.get('/', (_request, reply) => reply.view('tag.njk'));
  const server = await serve(app);
  try {
    const html = (await request(server.port, '/')).body.toString();
    expect(html.startsWith(`${hasher.url('css/site.css')} <script type="importmap">`)).toBe(true);
  } finally {
    await server.close();
  }
});

it('decorates the instance with the hasher', async () => {
  const app = Fastify();
  await app.register(staticHash, { hasher });
  await app.ready();
  expect(app.staticHash).toBe(hasher);
  await app.close();
});

it('prefix: routes under the given path instead of the baseUrl path', async () => {
  const app = Fastify();
  await app.register(staticHash, { hasher, prefix: '/cdn-origin' });
  const server = await serve(app);
  try {
    const reply = await request(server.port, '/cdn-origin/css/site.css');
    expect([reply.status, reply.body.toString()]).toEqual([200, css]);
    expect((await request(server.port, '/assets/css/site.css')).status).toBe(404);
  } finally {
    await server.close();
  }
});

it('@fastify/compress compresses asset responses sent through reply (no precompressed sibling)', async () => {
  const app = Fastify();
  await app.register(fastifyCompress, { global: true, threshold: 0 });
  await app.register(staticHash, { hasher });
  const server = await serve(app);
  try {
    const reply = await request(server.port, hasher.url('css/site.css'), { headers: { 'Accept-Encoding': 'gzip' } });
    expect([reply.status, reply.headers['content-encoding']]).toEqual([200, 'gzip']);
    expect(zlib.gunzipSync(reply.body).toString()).toBe(css);
    expect(reply.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  } finally {
    await server.close();
  }
});

it('a missing file goes to the not-found handler the user set', async () => {
  const app = Fastify();
  app.setNotFoundHandler((_request, reply) => reply.code(404).send('custom not found'));
  await app.register(staticHash, { hasher });
  const server = await serve(app);
  try {
    const reply = await request(server.port, '/assets/nope.css');
    expect([reply.status, reply.body.toString()]).toEqual([404, 'custom not found']);
  } finally {
    await server.close();
  }
});

describe('bad options: ERR_STATIC_INVALID_OPTION at register time', () => {
  it.each([
    ['no hasher', {}],
    ['a hasher that is not one', { hasher: {} }],
    ['a misspelt option', { hasher: 'HASHER', prefx: '/x' }],
    ['a bad prefix', { hasher: 'HASHER', prefix: 'no-slash' }],
    ['views not a boolean', { hasher: 'HASHER', views: 'yes' }],
    ['fallthrough (Fastify has a not-found handler)', { hasher: 'HASHER', fallthrough: false }],
  ])('%s', async (_label, options) => {
    const app = Fastify();
    const given = Object.fromEntries(Object.entries(options).map(([key, value]) => [key, value === 'HASHER' ? hasher : value]));
    const error = await app.register(staticHash, given as never).then(() => undefined, (failure: unknown) => failure);
    expect(error).toBeInstanceOf(StaticHashError);
    expect((error as StaticHashError).code).toBe('ERR_STATIC_INVALID_OPTION');
    expect((error as Error).message).toContain('static-hash/fastify');
  });
});

it('a streamed file rewritten in place while it streams never completes a response, and its descriptor is closed', async () => {
  // Over cache.maxFileBytes: streamed from the checked descriptor; the fault is injected for real
  // by rewriting the file between the first chunk and the last byte.
  const big = path.join(root, 'big.bin');
  fs.writeFileSync(big, crypto.randomBytes(3 * 1024 * 1024));
  const local = await createStaticHasher({ root, baseUrl: '/assets/' });
  const app = Fastify();
  await app.register(staticHash, { hasher: local });
  const server = await serve(app);
  const openDescriptors = (): number => fs.readdirSync('/proc/self/fd').length;
  try {
    const url = local.url('big.bin');
    const before = openDescriptors();
    const outcome = await getWhileRewriting(server.port, url, () => fs.writeFileSync(big, crypto.randomBytes(3 * 1024 * 1024)));
    expect(outcome.complete).toBe(false);
    expect(outcome.bytes).toBeLessThan(3 * 1024 * 1024);
    // The next request for it gets the new bytes, whole (a fresh lookup), and nothing leaked.
    const fresh = await request(server.port, local.url('big.bin'));
    expect([fresh.status, fresh.complete, fresh.body.equals(fs.readFileSync(big))]).toEqual([200, true, true]);
    // Descriptors (the file's, the cut socket's) are closed asynchronously after a stream is
    // destroyed: wait, bounded, for the count to come back; a leak never does.
    const deadline = Date.now() + 10_000;
    while (openDescriptors() > before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(openDescriptors()).toBeLessThanOrEqual(before);
  } finally {
    await server.close();
    await local.close();
    fs.rmSync(big);
  }
});
