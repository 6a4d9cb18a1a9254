import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Handlebars from 'handlebars';
import nunjucks from 'nunjucks';
import { registerIntegrityGlobal, registerIntegrityHelper } from '../../adapters/integrity-helpers';
import { createStaticHasher, type StaticHasher } from '../../src/index';

const temps: string[] = [];
const hashers: StaticHasher[] = [];

function site(): { root: string; views: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-sri-'));
  temps.push(dir);
  const root = path.join(dir, 'public');
  const views = path.join(dir, 'views');
  fs.mkdirSync(path.join(root, 'js'), { recursive: true });
  fs.mkdirSync(views);
  fs.writeFileSync(path.join(root, 'js/app.js'), 'console.log("app");\n');
  return { root, views };
}

async function hasherOf(options: Parameters<typeof createStaticHasher>[0]): Promise<StaticHasher> {
  const hasher = await createStaticHasher(options);
  hashers.push(hasher);
  return hasher;
}

const sri = (bytes: string): string => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;

afterEach(async () => {
  for (const hasher of hashers.splice(0)) await hasher.close();
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('registerIntegrityGlobal() (Nunjucks)', () => {
  it('renders sha384 of the file, as node:crypto computes it, under autoescape', async () => {
    const { root, views } = site();
    fs.writeFileSync(path.join(views, 'page.njk'), '<script integrity="{{ static_integrity("js/app.js") }}"></script>');
    const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(views), { autoescape: true });
    registerIntegrityGlobal(env, await hasherOf({ root }));
    expect(env.render('page.njk', {})).toBe(`<script integrity="${sri('console.log("app");\n')}"></script>`);
  });

  it('gives the new value after a change and invalidate()', async () => {
    const { root } = site();
    const env = new nunjucks.Environment(null, { autoescape: true });
    const hasher = await hasherOf({ root });
    registerIntegrityGlobal(env, hasher, { name: 'sri' });
    const template = new nunjucks.Template('{{ sri("js/app.js") }}', env);
    expect(template.render({})).toBe(sri('console.log("app");\n'));
    fs.writeFileSync(path.join(root, 'js/app.js'), 'edited');
    hasher.invalidate();
    expect(template.render({})).toBe(sri('edited'));
  });

  it("renders '' for a missing file under onMissing: warn, and fails the render under throw", async () => {
    const { root, views } = site();
    const warnings: string[] = [];
    const env = new nunjucks.Environment(null);
    registerIntegrityGlobal(env, await hasherOf({ root, logger: { warn: (m) => warnings.push(m) } }));
    expect(env.renderString('[{{ static_integrity("nope.js") }}]', {})).toBe('[]');
    expect(warnings).toHaveLength(1);
    fs.writeFileSync(path.join(views, 'broken.njk'), '<p>\n<script integrity="{{ static_integrity("nope.js") }}">');
    const strict = new nunjucks.Environment(new nunjucks.FileSystemLoader(views));
    registerIntegrityGlobal(strict, await hasherOf({ root, onMissing: 'throw' }));
    // Nunjucks' own render error names the template and position.
    expect(() => strict.render('broken.njk', {})).toThrow(/broken\.njk\) \[Line \d+, Column \d+\][\s\S]*file not found: "nope\.js"/);
  });
});

describe('registerIntegrityHelper() (Handlebars)', () => {
  it('renders sha384 of the file unescaped by Handlebars (no &#x3D;), on the given instance only', async () => {
    const { root } = site();
    const instance = Handlebars.create();
    registerIntegrityHelper(instance, await hasherOf({ root }));
    const html = instance.compile('<script integrity="{{staticIntegrity "js/app.js"}}"></script>')({});
    expect(html).toBe(`<script integrity="${sri('console.log("app");\n')}"></script>`);
    expect(instance.compile('{{{staticIntegrity "js/app.js"}}}')({})).toBe(sri('console.log("app");\n'));
    expect(Handlebars.helpers.staticIntegrity).toBeUndefined();
  });

  it('names the reference, the template and its 1-based line:column when the file is missing under onMissing: throw', async () => {
    const { root } = site();
    const instance = Handlebars.create();
    registerIntegrityHelper(instance, await hasherOf({ root, onMissing: 'throw' }));
    // 'b {{' puts the helper at column 3, counted from 1 as the static helper's messages count it.
    expect(() => instance.compile('a\nb {{staticIntegrity "nope.js"}}')({})).toThrow(/file not found: "nope\.js".* \(template line 2, column 3\)$/);
    expect(() => instance.compile('a\nb {{staticIntegrity "nope.js"}}', { srcName: 'views/page.hbs' } as never)({}))
      .toThrow(/file not found: "nope\.js".* \(views\/page\.hbs:2:3\)$/);
  });

  it('rejects a bad instance, hasher or name with ERR_STATIC_INVALID_OPTION', async () => {
    const hasher = await hasherOf({ root: site().root });
    expect(() => registerIntegrityHelper({} as never, hasher)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
    expect(() => registerIntegrityHelper(Handlebars.create(), {} as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
    expect(() => registerIntegrityGlobal(new nunjucks.Environment(null), hasher, { name: 'a-b' })).toThrow(expect.objectContaining({ option: 'name' }));
  });
});
