// The Handlebars adapter inside the view engines people use with Express: express-handlebars and
// hbs, each with a layout, a partial and both template forms, served by a real Express on 127.0.0.1.
// These are the recipes docs/handlebars.md shows.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { create as createExpressHandlebars } from 'express-handlebars';
import Handlebars from 'handlebars';
import hbs from 'hbs';
import { createStaticHasher, type StaticHasher } from '../../src/index';
import { registerStatic, staticHelpers } from '../../adapters/handlebars';
import { makeFixture, type Fixture } from '../helpers/fixture';

const ASSETS = { 'css/site.css': 'body { color: black }', 'js/app.js': 'console.log("app")', 'img/logo.png': 'PNG' };

let assets: Fixture;
let hasher: StaticHasher;
const servers: http.Server[] = [];

beforeAll(async () => {
  assets = makeFixture(ASSETS);
  hasher = await createStaticHasher({ root: assets.dir, logger: { warn() {} } });
});

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await hasher.close();
  assets.cleanup();
});

/** Starts `app` on 127.0.0.1 and returns the body and status of GET `path`. */
async function get(app: express.Express, path: string): Promise<{ status: number; body: string }> {
  const server = await new Promise<http.Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

/** What every page must contain: the layout's stylesheet, the partial's logo, the page's script with integrity. */
function expectPage(body: string, form: string): void {
  const sri = `sha384-${createHash('sha384').update(ASSETS['js/app.js']).digest('base64')}`;
  expect(body).toContain(`<link rel="stylesheet" href="${hasher.url('css/site.css')}">`);
  expect(body).toContain(`<img src="${hasher.url('img/logo.png')}" alt="logo">`);
  expect(body).toContain(`<script src="${hasher.url('js/app.js')}" integrity="${sri}"></script>`);
  expect(body).toContain(`<h1>${form}</h1>`);
  // Handlebars' own escaping of "=" would give &#x3D;: the helpers print the URL escaped once, themselves.
  expect(body).not.toContain('&#x3D;');
  expect(hasher.url('js/app.js')).toMatch(/\?v=[0-9a-f]{12}$/);
}

/** Views written with `open`/`close` as delimiters: a layout, a partial and a page. */
function views(open: string, close: string): Fixture {
  const tag = (inner: string) => `${open}${inner}${close}`;
  const raw = (inner: string) => `${open}${open[0]}${inner}${close[0]}${close}`;
  return makeFixture({
    'layouts/main.hbs': `<!doctype html><html><head><link rel="stylesheet" href="${tag('static "css/site.css"')}"></head><body>${raw('body')}</body></html>`,
    'layout.hbs': `<!doctype html><html><head><link rel="stylesheet" href="${tag('static "css/site.css"')}"></head><body>${raw('body')}</body></html>`,
    'partials/logo.hbs': `<img src="${tag('static "img/logo.png"')}" alt="logo">`,
    'home.hbs': `<h1>${tag('form')}</h1>${tag('> logo')}<script src="${tag('static "js/app.js"')}" integrity="${tag('staticIntegrity "js/app.js"')}"></script>`,
  });
}

describe('express-handlebars', () => {
  it('renders with staticHelpers() in the helpers option (layout, partial, {{ }})', async () => {
    const dir = views('{{', '}}');
    try {
      const app = express();
      const engine = createExpressHandlebars({
        extname: '.hbs', layoutsDir: dir.path('layouts'), partialsDir: dir.path('partials'), defaultLayout: 'main',
        handlebars: Handlebars.create(), helpers: { ...staticHelpers(hasher) },
      });
      app.engine('.hbs', engine.engine);
      app.set('view engine', '.hbs');
      app.set('views', dir.dir);
      app.get('/', (_req, res) => res.render('home', { form: 'helpers option' }));
      const { status, body } = await get(app, '/');
      expect(status).toBe(200);
      expectPage(body, 'helpers option');
    } finally {
      dir.cleanup();
    }
  });

  it('renders << >> templates with registerStatic() on the express-handlebars instance itself', async () => {
    const dir = views('<<', '>>');
    try {
      const app = express();
      const engine = createExpressHandlebars({
        extname: '.hbs', layoutsDir: dir.path('layouts'), partialsDir: dir.path('partials'), defaultLayout: 'main',
        handlebars: Handlebars.create(),
      });
      // No cast: the instance express-handlebars hands out is accepted as it is typed.
      const registration = registerStatic(engine, hasher, { delimiters: ['<<', '>>'] });
      expect(registration.delimiters).toEqual(['<<', '>>']);
      app.engine('.hbs', engine.engine);
      app.set('view engine', '.hbs');
      app.set('views', dir.dir);
      app.get('/', (_req, res) => res.render('home', { form: 'angle brackets' }));
      const { status, body } = await get(app, '/');
      expect(status).toBe(200);
      expectPage(body, 'angle brackets');
    } finally {
      dir.cleanup();
    }
  });

  it('accepts its loosely typed .handlebars property too', () => {
    const engine = createExpressHandlebars({ handlebars: Handlebars.create() });
    registerStatic(engine.handlebars, hasher);
    const render = (engine.handlebars as unknown as typeof Handlebars).compile('<img src="{{static "img/logo.png"}}">');
    expect(render({})).toBe(`<img src="${hasher.url('img/logo.png')}">`);
  });
});

describe('hbs', () => {
  it.each([['{{', '}}', {}], ['<<', '>>', { delimiters: ['<<', '>>'] as const }]])('renders %s %s templates with registerStatic(hbs instance) (layout.hbs, a partial)', async (open, close, options) => {
    const dir = views(open, close);
    try {
      const instance = hbs.create();
      // No cast: hbs's own module type (from @types/hbs) is accepted.
      registerStatic(instance, hasher, options);
      await new Promise<void>((resolve) => instance.registerPartials(dir.path('partials'), () => resolve()));
      const app = express();
      app.engine('hbs', instance.__express);
      app.set('view engine', 'hbs');
      app.set('views', dir.dir);
      app.get('/', (_req, res) => res.render('home', { form: `hbs ${open === '<<' ? 'angle' : 'curly'}` }));
      const { status, body } = await get(app, '/');
      expect(status).toBe(200);
      expectPage(body, `hbs ${open === '<<' ? 'angle' : 'curly'}`);
    } finally {
      dir.cleanup();
    }
  });

  it('accepts the hbs module itself (its registerHelper goes to hbs.handlebars)', () => {
    const instance = hbs.create(Handlebars.create());
    registerStatic(instance, hasher);
    expect(instance.handlebars.compile('{{static "js/app.js"}}')({})).toBe(hasher.url('js/app.js'));
  });
});

describe('staticHelpers()', () => {
  it('gives the same output as the registered helpers, with any Handlebars copy', () => {
    const registered = Handlebars.create();
    registerStatic(registered, hasher, { origin: 'https://example.com' });
    const helpers = staticHelpers(hasher, { origin: 'https://example.com' });
    expect(Object.keys(helpers).sort()).toEqual(['static', 'staticIntegrity', 'static_importmap']);
    const template = '{{static "js/app.js"}} {{static "a b.css?x=1&y=2" absolute=true}} {{staticIntegrity "js/app.js"}} {{#if (static "img/logo.png")}}yes{{/if}}'
      + ' {{static_importmap "js/app.js" integrity=true}}';
    const plain = Handlebars.create();
    expect(plain.compile(template)({}, { helpers })).toBe(registered.compile(template)({}));
  });

  it('reports errors with the template position, and names its own option mistakes', () => {
    const helpers = staticHelpers(hasher, { helperName: 'asset' });
    expect(Object.keys(helpers).sort()).toEqual(['asset', 'staticIntegrity', 'static_importmap']);
    const render = Handlebars.create().compile('line one\n  {{asset "../secret"}}', { srcName: 'views/page.hbs' } as CompileOptions);
    expect(() => render({}, { helpers })).toThrow(expect.objectContaining({ code: 'ERR_STATIC_UNSAFE_PATH', message: expect.stringContaining('(views/page.hbs:2:3)') }));
    expect(() => staticHelpers(hasher, { delimiters: ['<<', '>>'] } as never)).toThrow(expect.objectContaining({
      code: 'ERR_STATIC_INVALID_OPTION', message: expect.stringContaining('registerStatic(instance, hasher, { delimiters })'),
    }));
    expect(() => staticHelpers({} as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
    expect(() => staticHelpers(hasher, { helperName: 'no spaces' })).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
  });
});

describe('registerStatic() errors name the actual problem', () => {
  it('for delimiters on an instance that cannot compile', async () => {
    const runtime = (await import('handlebars/runtime')).default.create();
    expect(() => registerStatic(runtime, hasher, { delimiters: ['<<', '>>'] })).toThrow(/has no compile\(\) and precompile\(\) \(the handlebars\/runtime build/);
  });

  it('for delimiters other than << >>', () => {
    expect(() => registerStatic(Handlebars.create(), hasher, { delimiters: ['<%', '%>'] as never })).toThrow(/\['<<', '>>'\], the one alternative to Handlebars' own \{\{ \}\}/);
  });

  it('for an object that is no Handlebars at all', () => {
    expect(() => registerStatic({ handlebars: {} } as never, hasher)).toThrow(/an express-handlebars instance/);
  });
});
