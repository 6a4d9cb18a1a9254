/// <reference lib="dom" />
/**
 * Live reload in a real browser, against the demo (`npm start` as a child process, live reload on):
 * an edited stylesheet is applied without navigation and swapped to the URL a fresh render emits, so
 * the next navigation fetches nothing; an edited script reloads the page; a restarted server makes
 * the page reload once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const projectRoot = path.resolve(__dirname, '../..');
const outputDir = path.join(projectRoot, 'test-output/e2e');
// Generous bounds, never asserted as performance: the machine may be shared.
const WAIT_MS = 20_000;

function findChromium(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  const found = candidates.find((candidate) => candidate && fs.existsSync(candidate));
  if (!found) throw new Error('No Chromium found: install Debian\'s "chromium" package (apt-get install chromium) or set CHROMIUM_PATH');
  return found;
}

interface Demo {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startDemo(siteDir: string, port = 0): Promise<Demo> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'scripts/start.mjs')], {
    cwd: projectRoot,
    env: { ...process.env, PORT: String(port), STATIC_HASH_DEMO_SITE: siteDir, STATIC_HASH_DEMO_LIVE_RELOAD: '1' },
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
  return { child, url, output: () => text };
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Whether the live-reload client is connected (it has seen the server's hello). */
function connected(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const state = (window as unknown as { __staticHashLiveReload?: { boot?: string } }).__staticHashLiveReload;
    return state?.boot !== undefined;
  }).catch(() => false);
}

describe('live reload in a real browser', () => {
  let browser: Browser;
  let demo: Demo;
  let siteDir: string;

  beforeAll(async () => {
    fs.mkdirSync(outputDir, { recursive: true });
    siteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-live-'));
    fs.cpSync(path.join(projectRoot, 'examples/site'), siteDir, { recursive: true });
    browser = await chromium.launch({
      executablePath: findChromium(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    demo = await startDemo(siteDir);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (demo && demo.child.exitCode === null) demo.child.kill('SIGKILL');
    if (siteDir) fs.rmSync(siteDir, { recursive: true, force: true });
  });

  it('applies an edited stylesheet without navigation, at the URL a fresh render emits; the next navigation fetches nothing', async () => {
    const page = await browser.newPage();
    let loads = 0;
    page.on('load', () => void loads++);
    await page.goto(demo.url);
    await waitFor(() => connected(page), 'the client to connect');
    await page.evaluate(() => { (window as unknown as { __marker: number }).__marker = 42; });
    const cssFile = path.join(siteDir, 'public/css/site.css');
    const original = fs.readFileSync(cssFile, 'utf8');
    const latencies: number[] = [];
    for (let edit = 1; edit <= 20; edit++) {
      const color = `rgb(${edit * 10}, 20, 30)`;
      const started = performance.now();
      fs.writeFileSync(cssFile, `${original}\nh1 { color: ${color}; }\n`);
      await page.waitForFunction((expected) => getComputedStyle(document.querySelector('h1')!).color === expected, color, { timeout: WAIT_MS, polling: 5 });
      latencies.push(performance.now() - started);
      // One stylesheet link at a time: the old one goes once the new one has loaded.
      await waitFor(async () => (await page.locator('link[rel="stylesheet"]').count()) === 1, 'the old link to be removed');
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(`live reload: stylesheet edit -> computed style, over ${sorted.length} edits: p50 ${percentile(sorted, 50).toFixed(0)} ms, `
      + `p95 ${percentile(sorted, 95).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (watch debounce 5 ms; shared machine)`);
    expect(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker)).toBe(42);
    expect(loads).toBe(1);

    // The swapped link is exactly what a fresh render of the page emits.
    const fresh = /<link rel="stylesheet" href="([^"]+)">/.exec(await get(demo.url))![1]!;
    expect(await page.locator('link[rel="stylesheet"]').getAttribute('href')).toBe(fresh);

    // A normal navigation (a link click): every asset from the browser cache, nothing but the page
    // and the live-reload client itself (no-cache, not an asset) over the network.
    const offset = demo.output().length;
    await Promise.all([page.waitForEvent('load'), page.click('nav a[href="/"]')]);
    await waitFor(() => connected(page), 'the client to reconnect after the navigation');
    await page.waitForFunction(() => document.querySelectorAll('#cache-list li.cached').length >= 5);
    const assets = await page.evaluate(() => performance.getEntriesByType('resource')
      .map((entry) => entry as PerformanceResourceTiming)
      .filter((entry) => new URL(entry.name).pathname.startsWith('/static/') && !entry.name.includes('/__static-hash/'))
      .map((entry) => ({ name: new URL(entry.name).pathname, transferSize: entry.transferSize, decodedBodySize: entry.decodedBodySize })));
    expect(assets.map((asset) => asset.name)).toEqual(expect.arrayContaining(['/static/css/site.css', '/static/js/app.js', '/static/img/logo.png']));
    for (const asset of assets) expect({ ...asset, cached: asset.transferSize === 0 && asset.decodedBodySize > 0 }).toMatchObject({ cached: true });
    const logged = demo.output().slice(offset).split('\n').filter((line) => / \/static\//.test(line) && !line.includes('/__static-hash/'));
    expect(logged).toEqual([]);
    expect(await page.locator('#cache-list li.fetched').count()).toBe(0);
    await page.locator('main').screenshot({ path: path.join(outputDir, 'live-reload-panel.png') });
    console.log(`live reload: after ${latencies.length} swaps, a navigation took ${assets.length} assets from the browser cache, 0 over the network`);
    await page.close();
  }, 120_000);

  it('reloads the page when a script it uses is edited', async () => {
    const page = await browser.newPage();
    await page.goto(demo.url);
    await waitFor(() => connected(page), 'the client to connect');
    await page.evaluate(() => { (window as unknown as { __marker: number }).__marker = 7; });
    const jsFile = path.join(siteDir, 'public/js/app.js');
    const reloaded = page.waitForEvent('load', { timeout: WAIT_MS });
    fs.appendFileSync(jsFile, '\n// edited by the live-reload test\n');
    await reloaded;
    expect(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker)).toBeUndefined();
    await page.close();
  }, 60_000);

  it('reconnects after the server is killed and restarted, and reloads exactly once', async () => {
    const page = await browser.newPage();
    let loads = 0;
    page.on('load', () => void loads++);
    await page.goto(demo.url);
    await waitFor(() => connected(page), 'the client to connect');
    expect(loads).toBe(1);
    const port = Number(new URL(demo.url).port);
    const exited = new Promise((resolve) => demo.child.once('exit', resolve));
    demo.child.kill('SIGKILL');
    await exited;
    demo = await startDemo(siteDir, port);
    await waitFor(() => loads === 2, 'the page to reload after the restart');
    await waitFor(() => connected(page), 'the reloaded page to connect');
    // Settled: the reloaded page is connected to the new server and does not reload again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(loads).toBe(2);
    await page.close();
  }, 120_000);
});
