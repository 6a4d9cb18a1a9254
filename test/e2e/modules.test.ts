/// <reference lib="dom" />
/**
 * ES modules cached forever, in a real browser: a page whose entry imports a chain of 9 modules and a
 * vendored package through a bare specifier, rendered with {% static_importmap %}. The server logs
 * every response (as the demo does); the test counts module requests in that log.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createStaticHasher, type StaticHasher } from '../../src/index';
import { serveStatic } from '../../adapters/express';
import { registerStatic } from '../../adapters/nunjucks';
import { makeFixture, type Fixture } from '../helpers/fixture';

const CHAIN = 9;

function findChromium(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  const found = candidates.find((candidate) => candidate && fs.existsSync(candidate));
  if (!found) throw new Error('No Chromium found: install Debian\'s "chromium" package (apt-get install chromium) or set CHROMIUM_PATH');
  return found;
}

/** The site: js/main.js -> js/chain/m1.js -> … -> m9.js (the leaf), and main.js imports 'tiny' (vendor/tiny/index.js -> ./helper.js). */
function siteFiles(): Record<string, string> {
  const files: Record<string, string> = {
    'js/main.js': [
      "import { chain } from './chain/m1.js';",
      "import { tiny } from 'tiny';",
      "document.querySelector('#result').textContent = `${chain()} ${tiny()}`;",
      '',
    ].join('\n'),
    'vendor/tiny/index.js': "import { helper } from './helper.js';\nexport const tiny = () => `tiny:${helper}`;\n",
    'vendor/tiny/helper.js': "export const helper = 'ok';\n",
    'views/page.njk': [
      '<!doctype html><html><head><meta charset="utf-8"><title>modules</title>',
      '{% static_importmap "js/main.js", integrity=integrity %}',
      '</head><body><p id="result">not run</p>',
      '<script type="module" src="{% static "js/main.js" %}"></script>',
      '</body></html>',
      '',
    ].join('\n'),
  };
  // The same page without the tag: the control that shows what the map saves.
  // Its entry is the chain's head (a bare specifier cannot resolve without a map, which would stop the graph).
  files['views/nomap.njk'] = '<!doctype html><html><head><meta charset="utf-8"></head><body>\n'
    + '<script type="module">import { chain } from \'{% static "js/chain/m1.js" %}\'; document.body.dataset.result = chain();</script>\n</body></html>\n';
  // Each link imports the next under the name 'next' and exports 'value' (the first exports 'chain').
  for (let index = 1; index <= CHAIN; index++) {
    files[`js/chain/m${index}.js`] = index === CHAIN
      ? "export const value = () => 'leaf-v1';\n"
      : `import { value as next } from './m${index + 1}.js';\nexport const ${index === 1 ? 'chain' : 'value'} = () => 'm${index}>' + next();\n`;
  }
  return files;
}

interface Site {
  fixture: Fixture;
  hasher: StaticHasher;
  server: http.Server;
  url: string;
  /** The server's own log: one line per response, as the demo writes it. */
  log: string[];
}

async function startSite(urlStyle: 'query' | 'filename' = 'query'): Promise<Site> {
  const fixture = makeFixture(siteFiles());
  const hasher = await createStaticHasher({
    root: fixture.path('.'), baseUrl: '/static/', urlStyle, watch: true, logger: { warn: () => {} },
    modules: { imports: { tiny: 'vendor/tiny/index.js' } },
  });
  await hasher.ready;
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(fixture.path('views'), { noCache: true }), { autoescape: true });
  registerStatic(env, hasher);
  const log: string[] = [];
  const app = express();
  app.use((req, res, next) => {
    res.on('finish', () => log.push(`${req.method} ${req.originalUrl} ${res.statusCode} ${res.getHeader('Cache-Control') ?? ''}`));
    next();
  });
  app.use(serveStatic(hasher));
  app.get('/:mode', (req, res, next) => {
    res.set('Cache-Control', 'no-cache');
    env.render(req.params.mode === 'nomap' ? 'nomap.njk' : 'page.njk', { integrity: req.params.mode === 'integrity' }, (error, html) => (error ? next(error) : res.type('html').send(html)));
  });
  const server = await new Promise<http.Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return { fixture, hasher, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, log };
}

/** Module requests (any .js under /static/) logged since `offset`, as paths without the version (query or file name). */
function moduleRequests(site: Site, offset: number): string[] {
  return site.log.slice(offset).map((line) => line.split(' ')[1]!).filter((url) => url.startsWith('/static/') && /\.js(\?|$)/.test(url))
    .map((url) => url.split('?')[0]!.replace(/\.[0-9a-f]{12}\.js$/, '.js'));
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function result(page: Page): Promise<string> {
  await page.waitForFunction(() => document.querySelector('#result')!.textContent !== 'not run');
  return (await page.textContent('#result'))!;
}

const EXPECTED_V1 = `${Array.from({ length: CHAIN - 1 }, (_, index) => `m${index + 1}>`).join('')}leaf-v1 tiny:ok`;

/** The scenario on one site: first view, a second navigation with 0 module requests, a leaf edit. */
async function cachedForever(browser: Browser, site: Site): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageUrl = new URL('plain', site.url).href;
  await page.goto(pageUrl);
  expect(await result(page)).toBe(EXPECTED_V1);
  // The first view fetched every module once, each with a version and immutable caching.
  const first = moduleRequests(site, 0);
  expect([...first].sort()).toEqual([
    '/static/js/main.js', ...Array.from({ length: CHAIN }, (_, index) => `/static/js/chain/m${index + 1}.js`),
    '/static/vendor/tiny/helper.js', '/static/vendor/tiny/index.js',
  ].sort());
  for (const line of site.log.filter((entry) => / \/static\//.test(entry))) {
    expect(line).toMatch(/(\?v=[0-9a-f]{12}|\.[0-9a-f]{12}\.js) 200 public, max-age=31536000, immutable$/);
  }

  // A second normal navigation: the page is revalidated, not one module is requested.
  let offset = site.log.length;
  await page.goto(pageUrl);
  expect(await result(page)).toBe(EXPECTED_V1);
  expect(site.log.slice(offset).some((line) => line.startsWith('GET /plain '))).toBe(true);
  expect(moduleRequests(site, offset)).toEqual([]);

  // Edit the leaf on disk: the watcher moves the generation, the next render maps the leaf to its new URL.
  const leaf = site.fixture.path(`js/chain/m${CHAIN}.js`);
  fs.writeFileSync(leaf, "export const value = () => 'leaf-v2';\n");
  offset = site.log.length;
  await waitFor(async () => {
    await page.goto(pageUrl);
    return (await result(page)).includes('leaf-v2');
  }, 'the page to run the edited leaf');
  expect(await result(page)).toBe(EXPECTED_V1.replace('leaf-v1', 'leaf-v2'));
  // Only the leaf came over the network (once per navigation that saw its new URL).
  const afterEdit = moduleRequests(site, offset);
  expect(afterEdit.length).toBeGreaterThan(0);
  expect(new Set(afterEdit)).toEqual(new Set([`/static/js/chain/m${CHAIN}.js`]));
  await context.close();
}

describe('module graphs in a real browser (static_importmap)', () => {
  let browser: Browser;
  let site: Site;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: findChromium(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    site = await startSite();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (site) {
      site.server.closeAllConnections();
      await new Promise((resolve) => site.server.close(resolve));
      await site.hasher.close();
      site.fixture.cleanup();
    }
  });

  it('runs the page; a second navigation requests no module; after the leaf changes only the leaf is requested', async () => {
    await cachedForever(browser, site);
  }, 120_000);

  it('without the tag (the control), a second navigation revalidates every imported module', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const pageUrl = new URL('nomap', site.url).href;
    await page.goto(pageUrl);
    await page.waitForFunction(() => document.body.dataset.result !== undefined);
    const offset = site.log.length;
    await page.goto(pageUrl);
    await page.waitForFunction(() => document.body.dataset.result !== undefined);
    expect(await page.evaluate(() => document.body.dataset.result)).toMatch(/^m1>.*leaf-v\d$/);
    const revalidated = moduleRequests(site, offset);
    // m1.js is versioned by {% static %}; the modules it imports are not, so each is asked for again.
    expect(revalidated).not.toContain('/static/js/chain/m1.js');
    expect(new Set(revalidated)).toEqual(new Set(Array.from({ length: CHAIN - 1 }, (_, index) => `/static/js/chain/m${index + 2}.js`)));
    console.log(`without the import map, a second navigation sent ${revalidated.length} module request(s): ${revalidated.join(', ')}`);
    await context.close();
  }, 60_000);

  it('runs with integrity=true: Chromium checks every module against the map', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    const response = await page.goto(new URL('integrity', site.url).href);
    const html = await response!.text();
    expect(html).toMatch(/"integrity":\{"\/static\/js\/chain\/m1\.js\?v=[0-9a-f]{12}":"sha384-/);
    expect(html).toMatch(/<link rel="modulepreload" href="\/static\/js\/main\.js\?v=[0-9a-f]{12}" integrity="sha384-/);
    expect(await result(page)).toMatch(/leaf-v\d tiny:ok$/);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('refuses to run a module whose bytes differ from the map\'s integrity (the check is real)', async () => {
    // The same page with a wrong sha384 for the leaf: Chromium must refuse the graph.
    const context = await browser.newContext();
    const page = await context.newPage();
    const html = await (await fetch(new URL('integrity', site.url))).text();
    // The leaf's sha384, wherever the page names it (the map and its modulepreload link), made wrong.
    const leafIntegrity = /"\/static\/js\/chain\/m9\.js\?v=[0-9a-f]{12}":"(sha384-[A-Za-z0-9+/]{64})"/.exec(html)![1]!;
    const tampered = html.replaceAll(leafIntegrity, `sha384-${'A'.repeat(64)}`);
    expect(tampered).not.toBe(html);
    await page.route(new URL('tampered', site.url).href, (route) => route.fulfill({ contentType: 'text/html', body: tampered }));
    const refused = new Promise<string>((resolve) => {
      page.on('console', (message) => { if (message.type() === 'error' && /integrity/i.test(message.text())) resolve(message.text()); });
    });
    await page.goto(new URL('tampered', site.url).href);
    expect(await refused).toMatch(/m9\.js/);
    expect(await page.textContent('#result')).toBe('not run');
    await context.close();
  }, 60_000);
});

describe('module graphs in a real browser with urlStyle "filename"', () => {
  let browser: Browser;
  let site: Site;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: findChromium(), args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'] });
    site = await startSite('filename');
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (site) {
      site.server.closeAllConnections();
      await new Promise((resolve) => site.server.close(resolve));
      await site.hasher.close();
      site.fixture.cleanup();
    }
  });

  it('caches every module forever and refetches only an edited leaf, with hashes in file names', async () => {
    await cachedForever(browser, site);
    expect(site.log.some((line) => /^GET \/static\/js\/chain\/m1\.[0-9a-f]{12}\.js 200 /.test(line))).toBe(true);
  }, 120_000);
});

