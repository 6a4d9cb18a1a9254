/// <reference lib="dom" />
/**
 * A real Eleventy 3 build (`@11ty/eleventy`'s CLI as a child process) with the plugin: Nunjucks,
 * Liquid and Handlebars pages link a stylesheet with an integrity value; the plugin writes the
 * bytes each URL names into `_site`. A plain static server then serves `_site`, and in real Chromium
 * the stylesheet applies and the image inside it loads. The docs' old recipe (a raw passthrough
 * copy) is the control: there the browser blocks the stylesheet.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import serveStaticFiles from 'serve-static';
import { chromium, type Browser } from 'playwright-core';
import { createStaticHasher, type StaticHasher } from '../../src/index';
import { checkServed } from '../helpers/served-output';

const PROJECT = path.resolve(__dirname, '../..');
const PLUGIN = path.join(PROJECT, 'dist/esm/adapters/eleventy.js');
const ELEVENTY = path.join(PROJECT, 'node_modules/@11ty/eleventy/cmd.cjs');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makePng } = require('../../examples/site/png.cjs') as { makePng: (w: number, h: number, c: number[], s?: number[]) => Buffer };

const temps: string[] = [];
const hashers: StaticHasher[] = [];
const servers: http.Server[] = [];
let browser: Browser;

function findChromium(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  const found = candidates.find((candidate) => candidate && fs.existsSync(candidate));
  if (!found) throw new Error('No Chromium found: install Debian\'s "chromium" package (apt-get install chromium) or set CHROMIUM_PATH');
  return found;
}

const PAGE_BODY = (open: string, close: string): string => `<!doctype html><html><head>
<link rel="stylesheet" href="${open}static "css/site.css"${close}" integrity="${open}static_integrity "css/site.css"${close}">
</head><body><div id="box">box</div></body></html>
`;

/** A site whose stylesheet imports another and references an image; `config` is the body of the Eleventy config function. */
function createSite(config: string): string {
  const site = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-eleventy-build-'));
  temps.push(site);
  const files: Record<string, string | Buffer> = {
    'public/css/site.css': '@import "parts/box.css";\nbody { margin: 0; }\n',
    'public/css/parts/box.css': '#box { color: rgb(0, 128, 0); width: 40px; height: 40px; background: url(../../img/dot.png) no-repeat; }\n',
    'public/img/dot.png': makePng(40, 40, [200, 30, 30], [...randomBytes(3)]),
    'src/nunjucks.njk': PAGE_BODY('{% ', ' %}'),
    'src/liquid.liquid': PAGE_BODY('{% ', ' %}'),
    'src/handlebars.hbs': PAGE_BODY('{{', '}}'),
    'eleventy.config.mjs': `import { createRequire } from 'node:module';
import staticHash from ${JSON.stringify(pathToFileURL(PLUGIN).href)};
const handlebarsPlugin = createRequire(${JSON.stringify(path.join(PROJECT, 'package.json'))})('@11ty/eleventy-plugin-handlebars');

export default function (eleventyConfig) {
${config}
  eleventyConfig.addPlugin(handlebarsPlugin.default ?? handlebarsPlugin);
  return { dir: { input: 'src', output: '_site' } };
}
`,
  };
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(site, name)), { recursive: true });
    fs.writeFileSync(path.join(site, name), content);
  }
  return site;
}

function eleventy(site: string): string {
  const result = spawnSync(process.execPath, [ELEVENTY], { cwd: site, encoding: 'utf8', timeout: 60_000 });
  const output = result.stdout + result.stderr;
  if (result.status !== 0) throw new Error(`eleventy failed (${result.status}):\n${output}`);
  return output;
}

/** `_site` through serve-static with no options: a server that knows nothing of static-hash. */
async function serveSite(site: string): Promise<string> {
  const app = express();
  app.use(serveStaticFiles(path.join(site, '_site')));
  const server = http.createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Opens a page in Chromium: the #box color, and the status of every image response. */
async function look(url: string): Promise<{ color: string; images: Array<{ url: string; status: number }>; console: string[] }> {
  // A context of its own per page: no page answers another's image from the browser's cache.
  const context = await browser.newContext();
  const page = await context.newPage();
  const images: Array<{ url: string; status: number }> = [];
  const messages: string[] = [];
  page.on('response', (response) => {
    if (response.request().resourceType() === 'image') images.push({ url: response.url(), status: response.status() });
  });
  page.on('console', (message) => messages.push(message.text()));
  try {
    await page.goto(url, { waitUntil: 'load', timeout: 20_000 });
    const color = await page.evaluate(() => getComputedStyle(document.getElementById('box')!).color);
    // A background image may be fetched after the load event on a busy machine: wait for it (bounded).
    await page.waitForFunction(() => performance.getEntriesByType('resource').some((entry) => (entry as PerformanceResourceTiming).initiatorType === 'css' && (entry as PerformanceResourceTiming).responseEnd > 0), undefined, { timeout: 10_000 }).catch(() => undefined);
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => undefined);
    return { color, images, console: messages };
  } finally {
    await context.close();
  }
}

beforeAll(async () => {
  if (!fs.existsSync(PLUGIN)) throw new Error(`${PLUGIN} is missing: run "npm run build" (npm test builds it)`);
  browser = await chromium.launch({
    executablePath: findChromium(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  for (const hasher of hashers.splice(0)) await hasher.close();
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('Eleventy 3 build with the plugin', () => {
  it('writes the bytes every URL names into _site: the stylesheets apply in Chromium with integrity, the image in them loads', async () => {
    const site = createSite(`  eleventyConfig.addPlugin(staticHash, { root: 'public', build: { compress: ['br', 'gz'] } });`);
    eleventy(site);
    // Only the static files (and the compressed siblings that pay: see COMPRESSION_MARGIN) in _site/static.
    expect(fs.readdirSync(path.join(site, '_site/static/css')).filter((name) => !/\.(br|gz)$/.test(name)).sort()).toEqual(['parts', 'site.css']);
    const live = await createStaticHasher({ root: path.join(site, 'public') });
    hashers.push(live);
    const origin = await serveSite(site);
    const checked = await checkServed({
      origin, hasher: live, live, style: 'query',
      references: ['css/site.css', 'css/parts/box.css', 'img/dot.png'],
      readOutput: (relative) => {
        const file = path.join(site, '_site/static', relative);
        return fs.existsSync(file) ? fs.readFileSync(file) : undefined;
      },
    });
    expect(checked.urls).toBe(3);
    expect(checked.stylesheetReferences).toBe(2);
    expect(checked.siblings).toBeGreaterThanOrEqual(1);

    let pages = 0;
    for (const name of ['nunjucks', 'liquid', 'handlebars']) {
      const html = fs.readFileSync(path.join(site, '_site', name, 'index.html'), 'utf8');
      expect(html).toContain(`href="${live.url('css/site.css')}" integrity="${live.integrity('css/site.css')}"`);
      const seen = await look(`${origin}/${name}/`);
      expect(seen.color).toBe('rgb(0, 128, 0)');
      expect(seen.images).toEqual([{ url: `${origin}${live.url('img/dot.png')}`, status: 200 }]);
      expect(seen.console.filter((text) => /integrity/i.test(text))).toEqual([]);
      pages++;
    }
    console.log(`Eleventy build: ${checked.urls} URLs and ${checked.stylesheetReferences} stylesheet references checked, ${pages} pages (Nunjucks, Liquid, Handlebars) in Chromium`);

    // A second Eleventy build on the unchanged site rewrites none of the static files.
    const before = fs.statSync(path.join(site, '_site/static/css/site.css'));
    eleventy(site);
    const after = fs.statSync(path.join(site, '_site/static/css/site.css'));
    expect([after.mtimeMs, after.ino]).toEqual([before.mtimeMs, before.ino]);
  }, 120_000);

  it('control: the raw passthrough copy of the old recipe is blocked by the browser (integrity of the rewritten text)', async () => {
    const site = createSite(`  eleventyConfig.addPassthroughCopy({ public: 'static' });
  eleventyConfig.addPlugin(staticHash, { root: 'public', build: false });`);
    eleventy(site);
    const origin = await serveSite(site);
    const seen = await look(`${origin}/nunjucks/`);
    expect(seen.color).not.toBe('rgb(0, 128, 0)');
    expect(seen.console.some((text) => /integrity/i.test(text))).toBe(true);
  }, 120_000);

  it('fails the build with a clear message when a passthrough copy would put the raw root into the output', () => {
    const site = createSite(`  eleventyConfig.addPassthroughCopy({ public: 'static' });
  eleventyConfig.addPlugin(staticHash, { root: 'public' });`);
    expect(() => eleventy(site)).toThrow(/addPassthroughCopy\("public"\) copies the static root .* Remove that passthrough copy/);
  }, 120_000);
});
