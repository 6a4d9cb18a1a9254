// static-hash/koa beyond the shared contract (test/adapters/contract.test.ts): @ladjs/koa-views
// with a Nunjucks environment the user passes, a miss going to `await next()`, a file changed
// while it streams, bad options.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Koa from 'koa';
import views from '@ladjs/koa-views';
import nunjucks from 'nunjucks';
import { createStaticHasher, StaticHashError, type StaticHasher } from '../../src/index';
import { serveStatic } from '../../adapters/koa';
import { registerStatic } from '../../adapters/nunjucks';
import { codeOf } from '../helpers/errors';
import { IMMUTABLE, listen, request, getWhileRewriting } from '../helpers/http';

let dir: string;
let root: string;
let viewsDir: string;
let hasher: StaticHasher;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-koa-'));
  root = path.join(dir, 'public');
  viewsDir = path.join(dir, 'views');
  fs.mkdirSync(path.join(root, 'css'), { recursive: true });
  fs.mkdirSync(viewsDir);
  fs.writeFileSync(path.join(root, 'css/site.css'), 'body { color: red; }\n');
  fs.writeFileSync(path.join(viewsDir, 'page.njk'), '<link href="{{ static("css/site.css") }}" integrity="{{ static_integrity("css/site.css") }}"> {% static "css/site.css" %}');
  hasher = await createStaticHasher({ root, baseUrl: '/static/' });
});
afterAll(async () => {
  await hasher.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('@ladjs/koa-views renders ctx.state.static through the Nunjucks environment the user passes', async () => {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDir), { autoescape: true });
  registerStatic(env, hasher); // the {% static %} tag, as in any Nunjucks setup
  const app = new Koa();
  app.use(serveStatic(hasher));
  app.use(views(viewsDir, { map: { njk: 'nunjucks' }, extension: 'njk', options: { nunjucksEnv: env } }));
  app.use(async (ctx) => {
    await ctx.render('page');
  });
  const server = await listen(http.createServer(app.callback()));
  try {
    const reply = await request(server.port, '/');
    const url = hasher.url('css/site.css');
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe(`<link href="${url}" integrity="${hasher.integrity('css/site.css')}"> ${url}`);
    const asset = await request(server.port, url);
    expect([asset.status, asset.headers['cache-control']]).toEqual([200, IMMUTABLE]);
  } finally {
    await server.close();
  }
});

it('a miss goes to `await next()`, and what later middleware answers is kept', async () => {
  const app = new Koa();
  app.use(serveStatic(hasher));
  app.use((ctx) => {
    ctx.body = `next saw ${ctx.path}`;
  });
  const server = await listen(http.createServer(app.callback()));
  try {
    expect((await request(server.port, '/static/nope.css')).body.toString()).toBe('next saw /static/nope.css');
    expect((await request(server.port, '/elsewhere')).body.toString()).toBe('next saw /elsewhere');
    // fallthrough: false answers the miss itself.
    const strict = new Koa();
    strict.use(serveStatic(hasher, { fallthrough: false }));
    strict.use((ctx) => {
      ctx.body = 'not reached';
    });
    const other = await listen(http.createServer(strict.callback()));
    try {
      const reply = await request(other.port, '/static/nope.css');
      expect([reply.status, reply.body.toString()]).toEqual([404, 'Not Found\n']);
    } finally {
      await other.close();
    }
  } finally {
    await server.close();
  }
});

it('a streamed file rewritten in place while it streams never completes a response', async () => {
  // Over cache.maxFileBytes: streamed from the descriptor; the fault is injected for real by
  // rewriting the file between the first chunk and the last byte.
  const big = path.join(root, 'big.bin');
  fs.writeFileSync(big, crypto.randomBytes(3 * 1024 * 1024));
  const local = await createStaticHasher({ root, baseUrl: '/static/' });
  const app = new Koa();
  // Koa reports the cut stream to its 'error' listeners (and logs it when there are none).
  const reported: unknown[] = [];
  app.on('error', (error) => reported.push(error));
  app.use(serveStatic(local));
  const server = await listen(http.createServer(app.callback()));
  try {
    const url = local.url('big.bin');
    const outcome = await getWhileRewriting(server.port, url, () => fs.writeFileSync(big, crypto.randomBytes(3 * 1024 * 1024)));
    expect(outcome.complete).toBe(false);
    expect(outcome.bytes).toBeLessThan(3 * 1024 * 1024);
    expect(reported.length).toBeLessThanOrEqual(1);
  } finally {
    await server.close();
    await local.close();
    fs.rmSync(big);
  }
});

it('bad options: ERR_STATIC_INVALID_OPTION naming the option', () => {
  expect(codeOf(() => serveStatic(undefined as never))).toBe('ERR_STATIC_INVALID_OPTION');
  expect(codeOf(() => serveStatic(hasher, { basePth: '/x' } as never))).toBe('ERR_STATIC_INVALID_OPTION');
  expect(codeOf(() => serveStatic(hasher, { setHeaders: () => {} } as never))).toBe('ERR_STATIC_INVALID_OPTION');
  expect(codeOf(() => serveStatic(hasher, { dotfiles: 'sometimes' } as never))).toBe('ERR_STATIC_INVALID_OPTION');
  try {
    serveStatic(hasher, { basePth: '/x' } as never);
  } catch (error) {
    expect(error).toBeInstanceOf(StaticHashError);
    expect((error as Error).message).toContain('did you mean "basePath"');
  }
});
