/// <reference lib="dom" />
/**
 * The whole promise in a real browser: the demo (`npm start`, as a child process) serves pages whose
 * assets are cached immutably; editing a file on disk changes its URL, so a normal navigation shows
 * the change while everything else still comes from the browser cache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const projectRoot = path.resolve(__dirname, '../..');
const outputDir = path.join(projectRoot, 'test-output/e2e');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makePng } = require('../../examples/site/png.cjs') as { makePng: (w: number, h: number, c: number[], s?: number[]) => Buffer };

function findChromium(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  const found = candidates.find((candidate) => candidate && fs.existsSync(candidate));
  if (!found) {
    throw new Error('No Chromium found: install Debian\'s "chromium" package (apt-get install chromium) or set CHROMIUM_PATH');
  }
  return found;
}

interface Demo {
  child: ChildProcess;
  url: string;
  output: () => string;
  siteDir: string;
}

async function startDemo(): Promise<Demo> {
  const siteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-e2e-'));
  fs.cpSync(path.join(projectRoot, 'examples/site'), siteDir, { recursive: true });
  const child = spawn(process.execPath, [path.join(projectRoot, 'scripts/start.mjs')], {
    cwd: projectRoot,
    env: { ...process.env, PORT: '0', STATIC_HASH_DEMO_SITE: siteDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${text}`)), 60_000);
    const check = (): void => {
      const match = /static-hash demo: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${text}`)));
  });
  return { child, url, output: () => text, siteDir };
}

/** Requests a marker path with Node and waits until the demo has logged it: every earlier log line is then in. */
async function syncLog(demo: Demo): Promise<string> {
  const marker = `/__marker-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  await new Promise<void>((resolve, reject) => {
    http.get(new URL(marker, demo.url), (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
  });
  await waitFor(() => demo.output().includes(marker), `log line for ${marker}`);
  return demo.output();
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Navigates normally (a link-like navigation, no reload, no cache bypass) until `text(selector)` differs from `previous`. */
async function navigateUntilChanged(page: Page, url: string, selector: string, previous: string): Promise<string> {
  let current = previous;
  await waitFor(async () => {
    await page.goto(url);
    current = (await page.textContent(selector)) ?? '';
    return current !== previous;
  }, `${selector} to change from ${previous}`);
  return current;
}

/** Asset requests (under /static/) in log lines after `offset`. */
function assetRequests(log: string, offset: number): string[] {
  return log.slice(offset).split('\n').filter((line) => / \/static\//.test(line));
}

describe('demo in a real browser', () => {
  let browser: Browser;
  let demo: Demo;

  beforeAll(async () => {
    fs.mkdirSync(outputDir, { recursive: true });
    browser = await chromium.launch({
      executablePath: findChromium(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    demo = await startDemo();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (demo && demo.child.exitCode === null) demo.child.kill('SIGKILL');
    if (demo) fs.rmSync(demo.siteDir, { recursive: true, force: true });
  });

  it('serves the Nunjucks page with immutable assets that the next navigation takes from the cache, and shows edits', async () => {
    const page = await browser.newPage();
    const assetResponses: Array<{ url: string; cacheControl: string }> = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/static/')) {
        assetResponses.push({ url: response.url(), cacheControl: response.headers()['cache-control'] ?? '' });
      }
    });
    await page.goto(demo.url);
    await page.waitForFunction(() => document.fonts.status === 'loaded');
    const cssBefore = (await page.textContent('#css-url'))!;
    expect(cssBefore).toMatch(/^\/static\/css\/site\.css\?v=[0-9a-f]{12}$/);
    expect(await page.textContent('#script-status')).toMatch(/app\.js ran/);
    const logoUrl = (await page.textContent('#logo-url'))!;
    expect(logoUrl).toMatch(/^\/static\/img\/logo\.png\?v=[0-9a-f]{12}$/);
    expect(await page.getAttribute('#logo', 'src')).toBe(logoUrl);
    // Stylesheet, script, logo, background image and font all arrived with immutable caching.
    const fetched = assetResponses.map((entry) => new URL(entry.url).pathname).sort();
    expect(fetched).toEqual(expect.arrayContaining([
      '/static/css/site.css', '/static/fonts/demo-mono.ttf', '/static/img/bg.png', '/static/img/logo.png', '/static/js/app.js',
      // app.js's imports, versioned by the page's import map: one relative, one bare (a vendored package).
      '/static/js/greeting.js', '/static/vendor/tiny-clock/index.js',
    ]));
    expect(await page.textContent('#script-status')).toMatch(/\(greeting\.js imported\)$/);
    for (const entry of assetResponses) expect(entry.cacheControl).toBe('public, max-age=31536000, immutable');
    const colourBefore = await page.$eval('h1', (element) => getComputedStyle(element).color);
    expect(colourBefore).toBe('rgb(32, 96, 200)');
    await page.screenshot({ path: path.join(outputDir, 'nunjucks-before.png'), fullPage: true });

    // A second normal navigation: the page is fetched again, no asset is.
    const offset = (await syncLog(demo)).length;
    await page.goto(demo.url);
    await page.waitForFunction(() => document.fonts.status === 'loaded');
    expect(await page.textContent('#script-status')).toMatch(/app\.js ran/);
    const log = await syncLog(demo);
    expect(log.slice(offset)).toMatch(/GET \/ (200|304)/); // the page is revalidated
    expect(assetRequests(log, offset)).toEqual([]);

    // Edit the stylesheet on disk: the next normal navigation gets a new stylesheet URL and colour.
    const cssFile = path.join(demo.siteDir, 'public/css/site.css');
    fs.writeFileSync(cssFile, fs.readFileSync(cssFile, 'utf8').replace('color: #2060c8;', 'color: #c82020;'));
    const cssAfterEdit = await navigateUntilChanged(page, demo.url, '#css-url', cssBefore);
    expect(await page.$eval('h1', (element) => getComputedStyle(element).color)).toBe('rgb(200, 32, 32)');
    await page.screenshot({ path: path.join(outputDir, 'nunjucks-after.png'), fullPage: true });
    // Only the stylesheet was fetched again; the script and the logo came from the cache.
    const afterEdit = await syncLog(demo);
    const refetched = assetRequests(afterEdit, offset).map((line) => line.split(' ')[1]!.split('?')[0]);
    expect(refetched).toContain('/static/css/site.css');
    expect(refetched).not.toContain('/static/js/app.js');
    expect(refetched).not.toContain('/static/img/logo.png');

    // Replace the image the stylesheet references: the stylesheet's URL moves too, and the page shows the new image.
    const bgBefore = await page.$eval('body', (element) => getComputedStyle(element).backgroundImage);
    fs.writeFileSync(path.join(demo.siteDir, 'public/img/bg.png'), makePng(48, 48, [250, 236, 200], [240, 210, 160]));
    const cssAfterImage = await navigateUntilChanged(page, demo.url, '#css-url', cssAfterEdit);
    expect(cssAfterImage).not.toBe(cssAfterEdit);
    const bgAfter = await page.$eval('body', (element) => getComputedStyle(element).backgroundImage);
    expect(bgAfter).not.toBe(bgBefore);
    expect(bgAfter).toMatch(/\/static\/img\/bg\.png\?v=[0-9a-f]{12}/);
    await page.close();
  }, 120_000);

  it('serves the Handlebars page and shows a replaced image after a normal navigation', async () => {
    const page = await browser.newPage();
    const handlebarsUrl = new URL('handlebars', demo.url).href;
    const logoResponses: string[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === '/static/img/logo.png') logoResponses.push(response.headers()['cache-control'] ?? '');
    });
    await page.goto(handlebarsUrl);
    const logoBefore = (await page.textContent('#logo-url'))!;
    expect(logoBefore).toMatch(/^\/static\/img\/logo\.png\?v=[0-9a-f]{12}$/);
    expect(await page.getAttribute('#logo', 'src')).toBe(logoBefore);
    await page.waitForFunction(() => (document.querySelector('#logo') as HTMLImageElement).complete);
    expect(await page.$eval('#logo', (element) => (element as HTMLImageElement).naturalWidth)).toBe(240);
    expect(logoResponses.every((value) => value === 'public, max-age=31536000, immutable')).toBe(true);
    await page.screenshot({ path: path.join(outputDir, 'handlebars-before.png'), fullPage: true });

    fs.writeFileSync(path.join(demo.siteDir, 'public/img/logo.png'), makePng(200, 80, [40, 160, 80]));
    const logoAfter = await navigateUntilChanged(page, handlebarsUrl, '#logo-url', logoBefore);
    expect(logoAfter).toMatch(/^\/static\/img\/logo\.png\?v=[0-9a-f]{12}$/);
    await page.waitForFunction(() => (document.querySelector('#logo') as HTMLImageElement).complete);
    expect(await page.$eval('#logo', (element) => (element as HTMLImageElement).naturalWidth)).toBe(200);
    await page.screenshot({ path: path.join(outputDir, 'handlebars-after.png'), fullPage: true });
    await page.close();
  }, 120_000);

  it('still renders when a referenced file is deleted, with a warning and a plain URL', async () => {
    const page = await browser.newPage();
    await page.goto(demo.url);
    const jsBefore = (await page.textContent('#js-url'))!;
    expect(jsBefore).toMatch(/^\/static\/js\/app\.js\?v=[0-9a-f]{12}$/);
    const before = (await syncLog(demo)).length;
    fs.rmSync(path.join(demo.siteDir, 'public/js/app.js'));
    await navigateUntilChanged(page, demo.url, '#js-url', jsBefore);
    expect(await page.textContent('#js-url')).toBe('/static/js/app.js');
    expect(await page.textContent('#script-status')).toBe('app.js has not run');
    const log = await syncLog(demo);
    expect(log.slice(before)).toMatch(/file not found: "js\/app\.js"/);
    // The server is alive and answers the other page too.
    const response = await page.goto(new URL('handlebars', demo.url).href);
    expect(response!.status()).toBe(200);
    await page.close();
  }, 120_000);

  it('closes the watcher and the server on SIGINT and exits by itself', async () => {
    const exited = new Promise<number | null>((resolve) => demo.child.once('exit', (code) => resolve(code)));
    demo.child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(demo.output()).toMatch(/SIGINT: closing the watcher and the server/);
  }, 30_000);
});
