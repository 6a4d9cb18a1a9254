import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { normalizeEleventyOptions } from '../../adapters/eleventy';
import { createStaticHasher, type StaticHasher } from '../../src/index';

// Eleventy 3 is ESM-only: builds run in a child process (Eleventy's own CLI) with a configuration
// that imports the BUILT plugin (`npm test` builds dist/ first; run `npm run build` when developing).
const PROJECT = path.resolve(__dirname, '../..');
const PLUGIN = path.join(PROJECT, 'dist/esm/adapters/eleventy.js');
const ELEVENTY = path.join(PROJECT, 'node_modules/@11ty/eleventy/cmd.cjs');

const temps: string[] = [];
const hashers: StaticHasher[] = [];
const children: ChildProcess[] = [];

/**
 * A small site: static files in public/, one page per engine in src/. Eleventy 3 moved Handlebars to
 * @11ty/eleventy-plugin-handlebars, which registers every universal shortcode as a Handlebars helper:
 * it is added after ours, as docs/production.md says.
 */
function createSite(pluginOptions: object = {}): string {
  const site = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-eleventy-'));
  temps.push(site);
  const files: Record<string, string> = {
    'public/js/app.js': 'console.log("app");\n',
    'public/css/site.css': 'body { color: red }\n',
    'public/img/a b.png': 'png',
    'src/nunjucks.njk': '<script src="{% static "js/app.js" %}" integrity="{% static_integrity "js/app.js" %}"></script>\n'
      + '<link href="{% static "/css/site.css?media=print#x" %}">\n<img src="{% static "img/a b.png" %}">\n',
    'src/liquid.liquid': '<script src="{% static "js/app.js" %}" integrity="{% static_integrity "js/app.js" %}"></script>\n'
      + '<link href="{% static "/css/site.css?media=print#x" %}">\n<img src="{% static "img/a b.png" %}">\n',
    'src/handlebars.hbs': '<script src="{{static "js/app.js"}}" integrity="{{static_integrity "js/app.js"}}"></script>\n'
      + '<link href="{{static "/css/site.css?media=print#x"}}">\n<img src="{{static "img/a b.png"}}">\n',
    'src/javascript.11ty.js': 'export default function () {\n'
      + '  return `<script src="${this.static("js/app.js")}" integrity="${this.static_integrity("js/app.js")}"></script>\\n`\n'
      + '    + `<link href="${this.static("/css/site.css?media=print#x")}">\\n<img src="${this.static("img/a b.png")}">\\n`;\n}\n',
    'eleventy.config.mjs': `import { createRequire } from 'node:module';
import staticHash from ${JSON.stringify(pathToFileURL(PLUGIN).href)};
const handlebarsPlugin = createRequire(${JSON.stringify(path.join(PROJECT, 'package.json'))})('@11ty/eleventy-plugin-handlebars');

export default function (eleventyConfig) {
  // No passthrough copy of public/: the plugin writes the static files into _site/static itself.
  eleventyConfig.addPlugin(staticHash, ${JSON.stringify({ root: 'public', ...pluginOptions })});
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

function build(site: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [ELEVENTY], { cwd: site, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

function page(site: string, name: string): string {
  return fs.readFileSync(path.join(site, '_site', name, 'index.html'), 'utf8');
}

async function hasherOf(options: Parameters<typeof createStaticHasher>[0]): Promise<StaticHasher> {
  const hasher = await createStaticHasher(options);
  hashers.push(hasher);
  return hasher;
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const escapeHtml = (url: string): string => url.replace(/&/g, '&amp;');

beforeAll(() => {
  if (!fs.existsSync(PLUGIN)) throw new Error(`${PLUGIN} is missing: run "npm run build" (npm test builds it)`);
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
  for (const hasher of hashers.splice(0)) await hasher.close();
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('static-hash/eleventy in an Eleventy 3 build', () => {
  it.each(['nunjucks', 'liquid', 'handlebars', 'javascript'])('renders hashed URLs and integrity in %s pages', async (engine) => {
    const site = createSite();
    const result = build(site);
    expect(result.status).toBe(0);
    const hasher = await hasherOf({ root: path.join(site, 'public') });
    expect(page(site, engine)).toBe(
      `<script src="${hasher.url('js/app.js')}" integrity="${hasher.integrity('js/app.js')}"></script>\n`
      + `<link href="${escapeHtml(hasher.url('/css/site.css?media=print#x'))}">\n`
      + `<img src="${hasher.url('img/a b.png')}">\n`,
    );
    // One escape of the query's "&", never Handlebars' "&#x3D;" for "=".
    expect(page(site, engine)).toContain('site.css?media=print&amp;v=');
    expect(page(site, engine)).toContain('/static/img/a%20b.png?v=');
  }, 60_000);

  it('passes the hasher options through (baseUrl, urlStyle, hashLength), and raw: true leaves "&" as is', async () => {
    const options = { baseUrl: 'https://cdn.example.com/assets/', urlStyle: 'filename', hashLength: 8, raw: true };
    const site = createSite(options);
    expect(build(site).status).toBe(0);
    const hasher = await hasherOf({ root: path.join(site, 'public'), baseUrl: options.baseUrl, urlStyle: 'filename', hashLength: 8 });
    expect(page(site, 'nunjucks')).toContain(`<script src="${hasher.url('js/app.js')}"`);
    expect(page(site, 'liquid')).toContain(`<link href="${hasher.url('/css/site.css?media=print#x')}">`);
    expect(hasher.url('js/app.js')).toMatch(/^https:\/\/cdn\.example\.com\/assets\/js\/app\.[0-9a-f]{8}\.js$/);
  }, 60_000);

  it('serves URLs from a manifest', async () => {
    const site = createSite({ manifest: 'static-manifest.json' });
    const cli = path.join(PROJECT, 'dist/cjs/bin/static-hash.js');
    expect(spawnSync(process.execPath, [cli, 'manifest', '--root', 'public', '--integrity', '--quiet'], { cwd: site }).status).toBe(0);
    const expected = (await hasherOf({ root: path.join(site, 'public') })).url('js/app.js');
    fs.writeFileSync(path.join(site, 'public/js/app.js'), 'changed after the manifest was built');
    expect(build(site).status).toBe(0);
    expect(page(site, 'handlebars')).toContain(`<script src="${expected}"`);
  }, 60_000);

  it('fails the build naming the reference and the page when a file is missing under onMissing: throw', () => {
    const site = createSite({ onMissing: 'throw' });
    fs.writeFileSync(path.join(site, 'src/broken.njk'), '<script src="{% static "js/typo.js" %}"></script>\n');
    const result = build(site);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('file not found: "js/typo.js"');
    expect(result.output).toContain('broken.njk');
  }, 60_000);

  it('fails the build with the option named when a hasher option is bad', () => {
    const site = createSite({ hashLength: 40 });
    const result = build(site);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('option "hashLength" must be an integer from 4 to 16');
  }, 60_000);

  it('moves the generation on a watch rebuild: editing a static file changes its URL in every page', async () => {
    const site = createSite();
    const child = spawn(process.execPath, [ELEVENTY, '--watch'], { cwd: site, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let log = '';
    child.stdout!.on('data', (chunk) => { log += chunk; });
    child.stderr!.on('data', (chunk) => { log += chunk; });
    await waitFor(() => log.includes('Watching'), `the first build (log: ${log})`);

    const before = (await hasherOf({ root: path.join(site, 'public') })).url('js/app.js');
    expect(page(site, 'nunjucks')).toContain(before);
    // "Watching…" can print before the watcher's initial scan is done: write again until Eleventy
    // reports the change (the same content each time, so the expected URL stays one).
    for (let attempt = 0; !log.includes('File changed: ./public/js/app.js'); attempt++) {
      if (attempt === 40) throw new Error(`Eleventy never saw the edit (log: ${log})`);
      fs.writeFileSync(path.join(site, 'public/js/app.js'), 'console.log("edited");\n');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const after = (await hasherOf({ root: path.join(site, 'public') })).url('js/app.js');
    expect(after).not.toBe(before);
    for (const engine of ['nunjucks', 'liquid', 'handlebars', 'javascript']) {
      await waitFor(() => page(site, engine).includes(after), `${engine} page to show ${after} (log: ${log})`);
    }
    // The stylesheet did not change: its URL stays.
    const css = (await hasherOf({ root: path.join(site, 'public') })).url('/css/site.css?media=print#x');
    expect(page(site, 'liquid')).toContain(escapeHtml(css));
  }, 60_000);
});

describe('static-hash/eleventy with a generation store of the caller (issue #13)', () => {
  const INDEX = path.join(PROJECT, 'dist/esm/src/index.js');

  /** A site whose configuration passes its own store, which records a close() in store-closed.txt. */
  function siteWithStore(): string {
    const site = createSite();
    const config = [
      "import fs from 'node:fs';",
      `import { MemoryGenerationStore } from ${JSON.stringify(pathToFileURL(INDEX).href)};`,
      `import staticHash from ${JSON.stringify(pathToFileURL(PLUGIN).href)};`,
      'class SharedStore extends MemoryGenerationStore {',
      "  async close() { fs.appendFileSync('store-closed.txt', 'closed'); }",
      '}',
      'const store = (globalThis.sharedStore ??= new SharedStore());',
      'export default function (eleventyConfig) {',
      "  eleventyConfig.addPlugin(staticHash, { root: 'public', generation: store });",
      "  return { dir: { input: 'src', output: '_site' } };",
      '}',
      '// edit 0',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(site, 'eleventy.config.mjs'), config);
    for (const name of ['liquid.liquid', 'handlebars.hbs', 'javascript.11ty.js']) fs.rmSync(path.join(site, 'src', name));
    return site;
  }

  it('a build leaves the store open: the eleventy.after hook closes only the plugin\'s hasher', () => {
    const site = siteWithStore();
    const result = build(site);
    expect(result.status).toBe(0);
    expect(page(site, 'nunjucks')).toContain('/static/js/app.js?v=');
    expect(fs.existsSync(path.join(site, 'store-closed.txt'))).toBe(false);
  }, 60_000);

  it('a configuration reload (eleventy.reset) leaves the store open', async () => {
    const site = siteWithStore();
    const child = spawn(process.execPath, [ELEVENTY, '--watch'], { cwd: site, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let log = '';
    child.stdout!.on('data', (chunk) => { log += chunk; });
    child.stderr!.on('data', (chunk) => { log += chunk; });
    await waitFor(() => log.includes('Watching'), `the first build (log: ${log})`);
    const config = path.join(site, 'eleventy.config.mjs');
    const builds = () => log.split('Wrote').length - 1;
    const first = builds();
    for (let attempt = 0; builds() === first; attempt++) {
      if (attempt === 40) throw new Error(`Eleventy never rebuilt after the configuration changed (log: ${log})`);
      fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(/\/\/ edit \d+/, `// edit ${attempt + 1}`));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(log).toContain('eleventy.config.mjs');
    expect(fs.existsSync(path.join(site, 'store-closed.txt'))).toBe(false);
  }, 60_000);
});

describe('normalizeEleventyOptions()', () => {
  it('fills in the defaults and splits off the hasher options', () => {
    expect(normalizeEleventyOptions({ root: 'assets', baseUrl: '/a/' })).toEqual({
      name: 'static', integrityName: 'static_integrity', raw: false, hasherOptions: { root: 'assets', baseUrl: '/a/' }, watchTargets: ['assets'], build: {},
    });
    // The build into Eleventy's output: on for a root-relative base URL, off for an absolute one (a CDN), unless given an out.
    expect(normalizeEleventyOptions({ baseUrl: 'https://cdn.example.com/s/' }).build).toBe(false);
    expect(normalizeEleventyOptions({ baseUrl: 'https://cdn.example.com/s/', build: { out: 'dist/s' } }).build).toEqual({ out: 'dist/s' });
    expect(normalizeEleventyOptions({ build: { compress: ['br'] } }).build).toEqual({ compress: ['br'] });
    expect(normalizeEleventyOptions().watchTargets).toEqual(['public']);
    expect(normalizeEleventyOptions({ roots: [{ dir: 'a' }, { dir: 'b', prefix: 'b/' }] }).watchTargets).toEqual(['a', 'b']);
  });

  it.each([
    ['watch', { watch: true }],
    ['name', { name: 'static url' }],
    ['integrityName', { integrityName: 'static' }],
    ['raw', { raw: 'yes' }],
    ['build', { build: 'yes' }],
    ['build.output', { build: { output: '_site' } }],
    ['build', { baseUrl: 'https://cdn.example.com/', build: true }],
    ['options', 'public'],
  ])('rejects a bad %s with ERR_STATIC_INVALID_OPTION', (option, options) => {
    expect(() => normalizeEleventyOptions(options as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION', option }));
  });
});
