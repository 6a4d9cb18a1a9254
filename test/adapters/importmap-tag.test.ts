import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import Handlebars from 'handlebars';
import nunjucks from 'nunjucks';
import { ImportMapTagRenderer, scriptJson } from '../../adapters/importmap-tag';
import { registerStatic as registerHandlebars } from '../../adapters/handlebars';
import { registerStatic as registerNunjucks } from '../../adapters/nunjucks';
import { createStaticHasher, type StaticHasher, type StaticHasherOptions } from '../../src/index';
import { codeOf } from '../helpers/errors';
import { makeFixture, recordingLogger, type Fixture } from '../helpers/fixture';

const FILES = {
  'js/main.js': "import './util.js';\nimport 'lit';\nconst later = () => import('./lazy.js');\n",
  'js/admin.js': "import './util.js';\nimport './admin-only.js';\n",
  'js/admin-only.js': '',
  'js/util.js': 'export const util = 1;\n',
  'js/lazy.js': '',
  'vendor/lit/index.js': 'export const html = 1;\n',
};

const fixtures: Fixture[] = [];
const hashers: StaticHasher[] = [];
afterEach(async () => {
  await Promise.all(hashers.splice(0).map((hasher) => hasher.close()));
  for (const fixture of fixtures.splice(0)) fixture.cleanup();
});

async function setup(options: StaticHasherOptions = {}, files: Record<string, string> = FILES): Promise<{ fixture: Fixture; hasher: StaticHasher }> {
  const fixture = makeFixture(files);
  fixtures.push(fixture);
  const hasher = await createStaticHasher({ root: fixture.dir, modules: { imports: { lit: 'vendor/lit/index.js' } }, logger: recordingLogger(), ...options });
  hashers.push(hasher);
  return { fixture, hasher };
}

/** The tag as the spec says it must read, built from hasher.importMap() and the graphs: the expectation. */
function expectedTag(hasher: StaticHasher, entries: string[], { integrity = false, nonce }: { integrity?: boolean; nonce?: string } = {}): string {
  const map = hasher.importMap(entries, { integrity });
  const nonceAttribute = nonce === undefined ? '' : ` nonce="${nonce}"`;
  const preloads: string[] = [];
  for (const entry of entries) {
    for (const module of hasher.moduleGraph(entry).modules) {
      if (module.static && !preloads.includes(module.url)) preloads.push(module.url);
    }
  }
  return `<script type="importmap"${nonceAttribute}>${JSON.stringify(map)}</script>`
    + preloads.map((url) => `\n<link rel="modulepreload" href="${url}"${integrity ? ` integrity="${map.integrity![url]}"` : ''}${nonceAttribute}>`).join('');
}

/** The JSON inside the tag's script element, parsed. */
function mapOf(html: string): unknown {
  const match = /^<script type="importmap"[^>]*>([\s\S]*?)<\/script>/.exec(html);
  return JSON.parse(match![1]!);
}

describe('{% static_importmap %} (Nunjucks)', () => {
  function environment(hasher: StaticHasher): nunjucks.Environment {
    const env = new nunjucks.Environment(null, { autoescape: true });
    registerNunjucks(env, hasher);
    return env;
  }

  it('prints the import map, then a modulepreload link per static module (not the dynamic ones)', async () => {
    const { hasher } = await setup();
    const html = environment(hasher).renderString('{% static_importmap "js/main.js" %}', {});
    expect(html).toBe(expectedTag(hasher, ['js/main.js']));
    expect(html).toContain(`<link rel="modulepreload" href="${hasher.url('js/util.js')}">`);
    expect(html).toContain(`"/static/js/lazy.js":"${hasher.url('js/lazy.js')}"`);
    expect(html).not.toContain(`href="${hasher.url('js/lazy.js')}"`);
  });

  it('takes several entries, integrity=true and a nonce from the context (escaped)', async () => {
    const { hasher } = await setup();
    const html = environment(hasher).renderString('{% static_importmap "js/main.js", "js/admin.js", integrity=true, nonce=csp_nonce %}', { csp_nonce: 'r4nd"m' });
    expect(html).toBe(expectedTag(hasher, ['js/main.js', 'js/admin.js'], { integrity: true, nonce: 'r4nd&quot;m' }));
    expect(html.match(/nonce="r4nd&quot;m"/g)).toHaveLength(1 + 5);
    // The entries may also come as one array from the context.
    expect(environment(hasher).renderString('{% static_importmap entries, integrity=true %}', { entries: ['js/main.js', 'js/admin.js'] }))
      .toBe(expectedTag(hasher, ['js/main.js', 'js/admin.js'], { integrity: true }));
  });

  it('leaves the nonce out when the variable is undefined, and rejects unknown options with the template line', async () => {
    const { hasher } = await setup();
    const env = environment(hasher);
    expect(env.renderString('{% static_importmap "js/main.js", nonce=missing %}', {})).toBe(expectedTag(hasher, ['js/main.js']));
    expect(() => env.renderString('\n{% static_importmap "js/main.js", integrty=true %}', {})).toThrow(/Line 2, Column 4\][\s\S]*unknown option "integrty"/);
    expect(() => env.renderString('{% static_importmap %}', {})).toThrow(/expected an entry module/);
  });

  it('is cached per generation: the same output object until the generation moves, then the new URLs', async () => {
    const { fixture, hasher } = await setup();
    // The renderer hands back the very object it cached (what the engine's SafeString would be).
    const renderer = new ImportMapTagRenderer(hasher, (html) => ({ html }));
    const cached = renderer.render(['js/main.js'], undefined, undefined);
    expect(renderer.render(['js/main.js'], undefined, undefined)).toBe(cached);
    expect(renderer.render(['js/main.js'], true, undefined)).not.toBe(cached);
    hasher.invalidate({ nocache: true });
    expect(renderer.render(['js/main.js'], undefined, undefined)).not.toBe(cached); // bypassing: built afresh
    hasher.invalidate({ nocache: false });
    const next = renderer.render(['js/main.js'], undefined, undefined);
    expect(next).not.toBe(cached);
    expect(renderer.render(['js/main.js'], undefined, undefined)).toBe(next);

    const env = environment(hasher);
    const template = nunjucks.compile('{% static_importmap "js/main.js" %}', env);
    const first = template.render({});
    expect(template.render({})).toBe(first);
    fixture.write('js/util.js', 'export const util = 2;\n');
    expect(template.render({})).toBe(first); // no change observed yet
    hasher.invalidate();
    const second = template.render({});
    expect(second).not.toBe(first);
    expect(second).toBe(expectedTag(hasher, ['js/main.js']));
  });
});

describe('{{static_importmap}} (Handlebars)', () => {
  it('prints the same tag with {{ }} and << >>, hash arguments likewise', async () => {
    const { hasher } = await setup();
    const curly = Handlebars.create();
    registerHandlebars(curly, hasher);
    const angle = Handlebars.create();
    registerHandlebars(angle, hasher, { delimiters: ['<<', '>>'] });
    const expected = expectedTag(hasher, ['js/main.js', 'js/admin.js'], { integrity: true, nonce: 'abc' });
    expect(curly.compile('{{static_importmap "js/main.js" "js/admin.js" integrity=true nonce=cspNonce}}')({ cspNonce: 'abc' })).toBe(expected);
    expect(angle.compile('<<static_importmap "js/main.js" "js/admin.js" integrity=true nonce=cspNonce>>')({ cspNonce: 'abc' })).toBe(expected);
    expect(curly.compile('{{static_importmap "js/main.js"}}')({})).toBe(expectedTag(hasher, ['js/main.js']));
  });

  it('names the template position in errors', async () => {
    const { hasher } = await setup({ onMissing: 'throw' });
    const handlebars = Handlebars.create();
    registerHandlebars(handlebars, hasher);
    const render = (): string => handlebars.compile('\n  {{static_importmap "js/nope.js"}}', { srcName: 'page.hbs' } as Parameters<typeof Handlebars.compile>[1])({});
    expect(codeOf(render)).toBe('ERR_STATIC_NOT_FOUND');
    expect(render).toThrow(/\(page\.hbs:2:3\)$/);
    expect(codeOf(() => handlebars.compile('{{static_importmap "js/main.js" nonse="x"}}')({}))).toBe('ERR_STATIC_INVALID_OPTION');
  });
});

describe('JSON escaping for a script element', () => {
  it('no specifier or path can end the script element or open a comment in it (property)', async () => {
    // Bare names come straight from the modules option, file names from the disk: both reach the JSON.
    const { hasher } = await setup();
    const env = new nunjucks.Environment(null, { autoescape: true });
    registerNunjucks(env, hasher);
    const piece = fc.constantFrom('</script>', '</SCRIPT', '<!--', '-->', '<script>', '&', '>', '<', '\u2028', '\u2029', '"', '\\', '</', 'a');
    let checked = 0;
    fc.assert(fc.property(fc.array(fc.oneof(piece, fc.string({ unit: 'grapheme', maxLength: 4 })), { minLength: 1, maxLength: 6 }), (parts) => {
      const name = `x${parts.join('')}`;
      const map = { imports: { [name]: '/static/a.js', [`/static/${name}`]: `/static/${name}?v=1` } };
      const json = scriptJson(map);
      expect(json).not.toMatch(/[<>&\u2028\u2029]/);
      expect(JSON.parse(json)).toEqual(map);
      checked++;
    }), { numRuns: 300 });
    expect(checked).toBe(300);

    // And end to end, through a real tag: a bare name full of markup comes out inert.
    const fixture = makeFixture({ 'js/main.js': "import 'x</script><script>alert(1)</script><!--';\n", 'vendor/x.js': '' });
    fixtures.push(fixture);
    const hostile = await createStaticHasher({ root: fixture.dir, modules: { imports: { 'x</script><script>alert(1)</script><!--': 'vendor/x.js' } } });
    hashers.push(hostile);
    const hostileEnv = new nunjucks.Environment(null, { autoescape: true });
    registerNunjucks(hostileEnv, hostile);
    const html = hostileEnv.renderString('{% static_importmap "js/main.js" %}', {});
    expect(html.match(/<\/script/gi)).toHaveLength(1);
    expect(html).not.toContain('<!--');
    expect(mapOf(html)).toEqual(hostile.importMap('js/main.js'));
  });
});

describe('static_importmap shortcode (Eleventy)', () => {
  it('prints the same tag from Nunjucks, Liquid and Handlebars pages', async () => {
    const PROJECT = path.resolve(__dirname, '../..');
    const plugin = pathToFileURL(path.join(PROJECT, 'dist/esm/adapters/eleventy.js')).href;
    const files: Record<string, string> = {};
    for (const [name, content] of Object.entries(FILES)) files[`public/${name}`] = content;
    Object.assign(files, {
      'src/nunjucks.njk': '{% static_importmap "js/main.js", integrity=true %}\n',
      'src/liquid.liquid': '{% static_importmap "js/main.js" %}\n',
      'src/handlebars.hbs': '{{static_importmap "js/main.js" integrity=true}}\n',
      'eleventy.config.mjs': `import { createRequire } from 'node:module';
import staticHash from ${JSON.stringify(plugin)};
const handlebarsPlugin = createRequire(${JSON.stringify(path.join(PROJECT, 'package.json'))})('@11ty/eleventy-plugin-handlebars');
export default function (eleventyConfig) {
  eleventyConfig.addPlugin(staticHash, { root: 'public', modules: { imports: { lit: 'vendor/lit/index.js' } } });
  eleventyConfig.addPlugin(handlebarsPlugin.default ?? handlebarsPlugin);
  return { dir: { input: 'src', output: '_site' } };
}
`,
    });
    const site = makeFixture(files);
    fixtures.push(site);
    const result = spawnSync(process.execPath, [path.join(PROJECT, 'node_modules/@11ty/eleventy/cmd.cjs')], { cwd: site.dir, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toMatch(/Wrote 3 files/);
    const hasher = await createStaticHasher({ root: site.path('public'), modules: { imports: { lit: 'vendor/lit/index.js' } } });
    hashers.push(hasher);
    const read = (name: string): string => fs.readFileSync(site.path(`_site/${name}/index.html`), 'utf8').trim();
    expect(read('nunjucks')).toBe(expectedTag(hasher, ['js/main.js'], { integrity: true }));
    expect(read('handlebars')).toBe(expectedTag(hasher, ['js/main.js'], { integrity: true }));
    expect(read('liquid')).toBe(expectedTag(hasher, ['js/main.js']));
  }, 60_000);
});
