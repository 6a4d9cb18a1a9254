// docs/nunjucks.md's Express 4 recipe, as written there: nunjucks.configure(views, { express: app }),
// registerStatic() on the environment it returns, and static-hash/express serving the versioned URLs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express4 from 'express4';
import nunjucks from 'nunjucks';
import { createStaticHasher, type StaticHasher } from '../../src/index';
import { registerStatic } from '../../adapters/nunjucks';
import { serveStatic } from '../../adapters/express';
import { makeFixture, type Fixture } from '../helpers/fixture';

let assets: Fixture;
let views: Fixture;
let hasher: StaticHasher;
let server: http.Server;
let port: number;

function get(path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject);
  });
}

beforeAll(async () => {
  assets = makeFixture({ 'css/site.css': 'body { color: black }', 'js/app.js': 'console.log("app")' });
  views = makeFixture({
    'base.njk': '<!doctype html><link rel="stylesheet" href="{% static "css/site.css" %}">{% block body %}{% endblock %}',
    'home.njk': '{% extends "base.njk" %}{% block body %}<h1>{{ title }}</h1><script src="{% static "js/app.js" %}"></script>{% endblock %}',
  });
  hasher = await createStaticHasher({ root: assets.dir });
  const app = express4();
  const env = nunjucks.configure(views.dir, { autoescape: true, express: app, noCache: true });
  registerStatic(env, hasher);
  app.use(serveStatic(hasher));
  app.get('/', (_req, res) => res.render('home.njk', { title: 'Home & away' }));
  server = await new Promise<http.Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await hasher.close();
  assets.cleanup();
  views.cleanup();
});

it('is Express 4', () => {
  expect((require('express4/package.json') as { version: string }).version).toMatch(/^4\./);
});

it('renders the page with versioned URLs (a page extending a layout)', async () => {
  const page = await get('/');
  expect(page.status).toBe(200);
  expect(page.body).toBe(`<!doctype html><link rel="stylesheet" href="${hasher.url('css/site.css')}"><h1>Home &amp; away</h1><script src="${hasher.url('js/app.js')}"></script>`);
});

it('serves each URL the page names immutable, with the bytes it was hashed from', async () => {
  const stylesheet = await get(hasher.url('css/site.css'));
  expect(stylesheet.status).toBe(200);
  expect(stylesheet.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  expect(stylesheet.body).toBe('body { color: black }');
});
