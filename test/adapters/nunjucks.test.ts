import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import nunjucks from 'nunjucks';
import { createStaticHasher, type StaticHasher, type StaticHasherOptions } from '../../src/index';
import { registerStatic } from '../../adapters/nunjucks';
import { makeFixture } from '../helpers/fixture';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'nunjucks');

/** What Nunjucks' autoescape does to a string, to build expected output independently of the adapter. */
function escapeLikeNunjucks(text: string): string {
  return text.replace(/[&"'<>\\]/g, (c) => ({ '&': '&amp;', '"': '&quot;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '\\': '&#92;' })[c]!);
}

function decodeAttribute(text: string): string {
  return text.replace(/&(amp|quot|#39|lt|gt|#92);/g, (_, name: string) => ({ amp: '&', quot: '"', '#39': "'", lt: '<', gt: '>', '#92': '\\' })[name]!);
}

const tempDirs: string[] = [];
const hashers: StaticHasher[] = [];

function makePublicDir(): string {
  const root = makeFixture({
    'css/site.css': 'body { color: black }',
    'css/dark.css': 'body { background: black }',
    'js/app.js': 'console.log("app")',
    'img/logo.png': 'PNG',
    'img/icons/a.svg': '<svg id="a"/>',
    'img/icons/b.svg': '<svg id="b"/>',
  }).dir;
  tempDirs.push(root);
  return root;
}

async function makeHasher(options: StaticHasherOptions = {}): Promise<{ hasher: StaticHasher; root: string }> {
  const root = makePublicDir();
  const hasher = await createStaticHasher({ root, logger: { warn() {} }, ...options });
  hashers.push(hasher);
  return { hasher, root };
}

function makeEnv(hasher: StaticHasher, opts: nunjucks.ConfigureOptions = {}): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(FIXTURES), { autoescape: true, ...opts });
  registerStatic(env, hasher);
  return env;
}

/** The page fixture as it must render: every URL straight from hasher.url(), escaped as Nunjucks would. */
function expectedPage(hasher: StaticHasher): string {
  const u = (reference: string) => escapeLikeNunjucks(hasher.url(reference));
  return `<!doctype html>
<link rel="stylesheet" href="${u('css/site.css')}">

<nav><img src="${u('img/logo.png')}"></nav>

<link rel="stylesheet" href="${u('css/dark.css')}">

<script src="${u('js/app.js')}"></script>
<img src="${u('img/icons/a.svg')}"><img src="${u('img/icons/b.svg')}">
<img src="${u('img/logo.png')}" alt="Logo">
<a href="${u('css/site.css?media=print&lang=en#top')}">print</a>

<script src="${u('js/app.js')}"></script>
`;
}

const PAGE_CONTEXT = { theme: 'dark', icons: ['img/icons/a.svg', 'img/icons/b.svg'] };

function renderAsync(env: nunjucks.Environment, name: string, context: object): Promise<string> {
  return new Promise((resolve, reject) => {
    env.render(name, context, (error, result) => (error ? reject(error) : resolve(result as string)));
  });
}

/** A loader that reads templates from disk asynchronously, as Nunjucks' async loaders do. */
class AsyncFileLoader extends nunjucks.Loader {
  async = true;
  getSource(name: string, callback: (error: Error | null, source?: nunjucks.LoaderSource) => void): void {
    const fullPath = path.join(FIXTURES, name);
    fs.readFile(fullPath, 'utf8', (error, src) => {
      if (error) callback(error);
      else setImmediate(() => callback(null, { src, path: fullPath, noCache: false }));
    });
  }
}

function renderError(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the render to fail');
}

afterAll(async () => {
  for (const hasher of hashers) await hasher.close();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('registerStatic() on a Nunjucks environment', () => {
  it('renders the fixture page (tag, variable, ~, as, function, filter, include, extends, macro, loop) as hasher.url() gives', async () => {
    const { hasher } = await makeHasher();
    const env = makeEnv(hasher);
    const html = env.render('page.njk', PAGE_CONTEXT);
    expect(html).toBe(expectedPage(hasher));
    // The query written in the reference is kept, escaped once, with the version merged in.
    expect(html).toMatch(/href="\/static\/css\/site\.css\?media=print&amp;lang=en&amp;v=[0-9a-f]{12}#top"/);
    expect(html).not.toContain('&amp;amp;');
  });

  it('gives the new URL from the same compiled template after a content change and invalidate()', async () => {
    const { hasher, root } = await makeHasher();
    const env = makeEnv(hasher);
    const template = env.getTemplate('page.njk');
    const before = template.render(PAGE_CONTEXT);
    const oldUrl = hasher.url('css/dark.css');
    expect(before).toContain(oldUrl);

    fs.writeFileSync(path.join(root, 'css/dark.css'), 'body { background: #111 }');
    hasher.invalidate();
    const newUrl = hasher.url('css/dark.css');
    expect(newUrl).not.toBe(oldUrl);

    const after = template.render(PAGE_CONTEXT);
    expect(after).toBe(expectedPage(hasher));
    expect(after).toContain(newUrl);
    expect(after).not.toContain(oldUrl);
  });

  it('renders asynchronously with a callback and an async loader, the same as synchronously', async () => {
    const { hasher } = await makeHasher();
    const env = new nunjucks.Environment(new AsyncFileLoader() as unknown as nunjucks.ILoaderAsync, { autoescape: true });
    registerStatic(env, hasher);
    await expect(renderAsync(env, 'page.njk', PAGE_CONTEXT)).resolves.toBe(expectedPage(hasher));
  });

  it('works in templates precompiled with nunjucks.precompile, still looking URLs up at render time', async () => {
    const { hasher, root } = await makeHasher();
    const compileEnv = makeEnv(hasher);
    const code = nunjucks.precompile(FIXTURES, {
      env: compileEnv,
      include: [/^(page|layout|macros|nav)\.njk$/],
      exclude: [/^errors\//],
    } as unknown as nunjucks.PrecompileOptions);
    expect(code).not.toContain(hasher.url('css/site.css'));

    const window: { nunjucksPrecompiled?: Record<string, unknown> } = {};
    new Function('window', code)(window);
    expect(Object.keys(window.nunjucksPrecompiled!)).toEqual(expect.arrayContaining(['page.njk', 'layout.njk']));
    const runtimeEnv = new nunjucks.Environment(new nunjucks.PrecompiledLoader(window.nunjucksPrecompiled as never), { autoescape: true });
    registerStatic(runtimeEnv, hasher);
    expect(runtimeEnv.render('page.njk', PAGE_CONTEXT)).toBe(expectedPage(hasher));

    fs.writeFileSync(path.join(root, 'js/app.js'), 'console.log("v2")');
    hasher.invalidate();
    expect(runtimeEnv.render('page.njk', PAGE_CONTEXT)).toBe(expectedPage(hasher));
  });

  it('renders <% %> block tags and <$ $> variable tags end to end', async () => {
    const { hasher } = await makeHasher();
    const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(FIXTURES), {
      autoescape: true,
      tags: { blockStart: '<%', blockEnd: '%>', variableStart: '<$', variableEnd: '$>' },
    });
    registerStatic(env, hasher);
    const html = env.render('custom-tags.njk', { alt: 'A & "B"' });
    expect(html).toBe(`<link rel="stylesheet" href="${hasher.url('css/site.css')}">
<img src="${hasher.url('img/logo.png')}">
<script src="${hasher.url('js/app.js')}"></script>
<img src="${hasher.url('img/icons/a.svg')}" alt="A &amp; &quot;B&quot;">
`);
    // The {% %} form is plain text in such an environment.
    expect(env.renderString('{% static "js/app.js" %}', {})).toBe('{% static "js/app.js" %}');
  });

  it('assigns with "as": scoped like {% set %}, printed once, not output by the tag itself', async () => {
    const { hasher } = await makeHasher();
    const env = makeEnv(hasher);
    expect(env.renderString('[{% static "js/app.js" as app %}]{{ app }}', {})).toBe(`[]${hasher.url('js/app.js')}`);
    expect(env.renderString('{% for i in ["img/icons/a.svg"] %}{% static i as u %}{{ u }};{% endfor %}[{{ u }}]', {}))
      .toBe(`${hasher.url('img/icons/a.svg')};[]`);
    // A template variable named like the tag does not shadow the tag (it does shadow the global function).
    expect(env.renderString('{% set static = "x" %}{% static "js/app.js" %}', { })).toBe(hasher.url('js/app.js'));
    expect(env.renderString('{% static "js/app.js" %}', { static: 'x' })).toBe(hasher.url('js/app.js'));
  });

  it('honours whitespace control on the tag', async () => {
    const { hasher } = await makeHasher();
    const env = makeEnv(hasher);
    expect(env.renderString('a \n {%- static "js/app.js" -%} \n b|{% static "js/app.js" as u -%}\n {{ u }}', {}))
      .toBe(`a${hasher.url('js/app.js')}b|${hasher.url('js/app.js')}`);
  });

  it('takes another tag name, with the global function and filter following it', async () => {
    const { hasher } = await makeHasher();
    const env = new nunjucks.Environment(null, { autoescape: true });
    expect(registerStatic(env, hasher, { tagName: 'asset' })).toEqual({
      tagName: 'asset', globalName: 'asset', filterName: 'asset', extensionName: 'static-hash:asset',
    });
    const url = hasher.url('js/app.js');
    expect(env.renderString('{% asset "js/app.js" %}|{{ asset("js/app.js") }}|{{ "js/app.js" | asset }}', {})).toBe(`${url}|${url}|${url}`);
    expect(() => env.renderString('{% static "js/app.js" %}', {})).toThrow(/unknown block tag: static/);
  });

  it('can leave out the global function or the filter', async () => {
    const { hasher } = await makeHasher();
    const env = new nunjucks.Environment(null, { autoescape: true });
    registerStatic(env, hasher, { globalName: false, filterName: false });
    expect(env.renderString('{% static "js/app.js" %}', {})).toBe(hasher.url('js/app.js'));
    expect(() => env.renderString('{{ static("js/app.js") }}', {})).toThrow(/Unable to call `static`/);
    expect(() => env.renderString('{{ "js/app.js" | static }}', {})).toThrow(/filter not found: static/);
  });

  it('replaces an earlier registration with the same tag name, and keeps one with another name', async () => {
    const first = await makeHasher({ baseUrl: '/first/' });
    const second = await makeHasher({ baseUrl: '/second/' });
    const env = new nunjucks.Environment(null, { autoescape: true });
    registerStatic(env, first.hasher);
    registerStatic(env, second.hasher);
    expect(env.renderString('{% static "js/app.js" %} {{ static("js/app.js") }}', {})).toMatch(/^\/second\/js\/app\.js\?v=\w+ \/second\//);

    // Another tag name is another registration, side by side.
    registerStatic(env, first.hasher, { tagName: 'cdn' });
    expect(env.renderString('{% static "js/app.js" %} {% cdn "js/app.js" %} {{ cdn("js/app.js") }}', {}))
      .toBe(`${second.hasher.url('js/app.js')} ${first.hasher.url('js/app.js')} ${first.hasher.url('js/app.js')}`);
  });
});

describe('static_integrity()', () => {
  it('is registered with the tag and gives the sha384 of the file, for integrity attributes', async () => {
    const { hasher, root } = await makeHasher();
    const env = makeEnv(hasher);
    const html = env.renderString('<script src="{% static "js/app.js" %}" integrity="{{ static_integrity("js/app.js") }}"></script>', {});
    const expected = `sha384-${createHash('sha384').update(fs.readFileSync(path.join(root, 'js/app.js'))).digest('base64')}`;
    expect(html).toBe(`<script src="${hasher.url('js/app.js')}" integrity="${expected}"></script>`);
  });
});

describe('escaping', () => {
  it('escapes a URL exactly once under autoescape, in every form', async () => {
    const { hasher } = await makeHasher();
    const env = makeEnv(hasher);
    const reference = 'js/app.js?a=1&b=2';
    const once = escapeLikeNunjucks(hasher.url(reference));
    expect(once).toMatch(/\?a=1&amp;b=2&amp;v=[0-9a-f]{12}$/);
    const html = env.renderString('{% static r %}|{{ static(r) }}|{{ r | static }}|{% static r as v %}{{ v }}', { r: reference });
    expect(html).toBe([once, once, once, once].join('|'));
  });

  it('prints the URL raw when autoescape is off', async () => {
    const { hasher } = await makeHasher();
    const env = makeEnv(hasher, { autoescape: false });
    const url = hasher.url('js/app.js?a=1&b=2');
    expect(env.renderString('{% static "js/app.js?a=1&b=2" %}|{{ static("js/app.js?a=1&b=2") }}', {})).toBe(`${url}|${url}`);
  });

  it('returns the URL as a string: concatenation and comparison see the URL itself', async () => {
    const { hasher } = await makeHasher();
    const env = makeEnv(hasher);
    const url = hasher.url('js/app.js');
    expect(env.renderString('{{ static("js/app.js") ~ "#x" }}|{{ static("js/app.js") == u }}|{{ static("js/app.js") | length }}', { u: url }))
      .toBe(`${url}#x|true|${url.length}`);
  });

  it('never lets quotes, angle brackets or ampersands in a reference break out of an attribute', async () => {
    const plain = await makeHasher({ onMissing: 'ignore' });
    const quoted = await makeHasher({ onMissing: 'ignore', baseUrl: "/st'atic/" });
    const hasher = plain.hasher;
    // References starting "x?" or "x#" name this file, so their URLs carry a version too.
    for (const { root } of [plain, quoted]) fs.writeFileSync(path.join(root, 'x'), 'x');
    const template = `<a href="{% static r %}" title='{{ static(r) }}' data-x="{{ r | static }}">`;
    const attributes = /^<a href="([^"]*)" title='([^']*)' data-x="([^"]*)">$/;
    const envs = [makeEnv(hasher), makeEnv(quoted.hasher)];
    const character = fc.constantFrom('"', "'", '<', '>', '&', '=', '`', ' ', '?', '#', 'a', 'b', '/', '.', '%', ';');
    fc.assert(fc.property(fc.array(character, { minLength: 1, maxLength: 16 }), fc.integer({ min: 0, max: 1 }), (characters, which) => {
      const reference = `x${characters.join('')}`;
      const env = envs[which]!;
      const currentHasher = which === 0 ? hasher : quoted.hasher;
      let expected: string;
      try {
        expected = currentHasher.url(reference);
      } catch {
        return; // references the core refuses fail the render; tested below
      }
      const html = env.renderString(template, { r: reference });
      const match = attributes.exec(html);
      expect(match).not.toBeNull();
      for (const value of match!.slice(1)) {
        expect(value).not.toMatch(/[<>"']|&(?!amp;|#39;|quot;|lt;|gt;)/);
        expect(decodeAttribute(value)).toBe(expected);
      }
    }), { numRuns: 300 });
  });
});

describe('errors', () => {
  async function throwingEnv(): Promise<nunjucks.Environment> {
    const { hasher } = await makeHasher({ onMissing: 'throw' });
    return makeEnv(hasher);
  }

  it('a missing file under onMissing "throw" fails the render naming the reference, template, line and column', async () => {
    const env = await throwingEnv();
    const error = renderError(() => env.render('errors/missing-tag.njk', {}));
    expect(error.message).toContain('errors/missing-tag.njk');
    expect(error.message).toContain('[Line 3, Column 14]');
    expect(error.message).toContain('file not found: "img/nope.png"');
  });

  it('a missing file fails the asynchronous render through its callback', async () => {
    const env = await throwingEnv();
    await expect(renderAsync(env, 'errors/missing-tag.njk', {})).rejects.toThrow(/missing-tag\.njk\) \[Line 3, Column 14\][\s\S]*"img\/nope\.png"/);
  });

  it('an unsafe path fails the render naming the reference, template and line', async () => {
    const env = await throwingEnv();
    const error = renderError(() => env.render('errors/unsafe-tag.njk', {}));
    expect(error.message).toMatch(/errors\/unsafe-tag\.njk\) \[Line 2, Column 17\]/);
    expect(error.message).toContain('unsafe path "../secret.txt"');
  });

  it('a non-string argument fails the render naming the value, template and line', async () => {
    const env = await throwingEnv();
    const error = renderError(() => env.render('errors/non-string-tag.njk', {}));
    expect(error.message).toMatch(/errors\/non-string-tag\.njk\) \[Line 2, Column 6\]/);
    expect(error.message).toContain('expected a non-empty string reference such as "js/app.js"; got number 1');
  });

  it('the function and filter forms name the reference and the template (their line is as Nunjucks reports it)', async () => {
    const env = await throwingEnv();
    for (const name of ['errors/missing-function.njk', 'errors/missing-filter.njk']) {
      const error = renderError(() => env.render(name, {}));
      expect(error.message).toContain(`(${path.join(FIXTURES, name)})`);
      expect(error.message).toContain('file not found: "img/nope.png"');
    }
  });

  it('keeps the StaticHashError (with its code) as the cause under dev: true', async () => {
    const { hasher } = await makeHasher({ onMissing: 'throw' });
    const env = makeEnv(hasher, { dev: true });
    const error = renderError(() => env.render('errors/missing-tag.njk', {})) as Error & { cause?: { code?: string } };
    expect(error.cause?.code).toBe('ERR_STATIC_NOT_FOUND');
  });

  it('names the code in the message without dev: true, for every form and the integrity global (issue #13)', async () => {
    const env = await throwingEnv();
    const cases: Array<[string, string]> = [
      ['{% static "img/nope.png" %}', 'ERR_STATIC_NOT_FOUND'],
      ['{{ static("img/nope.png") }}', 'ERR_STATIC_NOT_FOUND'],
      ['{{ "img/nope.png" | static }}', 'ERR_STATIC_NOT_FOUND'],
      ['{{ static_integrity("img/nope.png") }}', 'ERR_STATIC_NOT_FOUND'],
      ['{% static "../secret.txt" %}', 'ERR_STATIC_UNSAFE_PATH'],
      ['{% static 1 %}', 'ERR_STATIC_INVALID_REFERENCE'],
    ];
    for (const [template, code] of cases) {
      const error = renderError(() => env.renderString(template, {}));
      expect(error.message).toMatch(new RegExp(`static-hash: [^\\n]*\\[${code}\\]`));
    }
  });

  it('cuts a huge reference in its message and its warning to one short line with an ellipsis (issue #13)', async () => {
    const huge = `${'x'.repeat(1_000_000)}.js`;
    const warnings: string[] = [];
    const { hasher } = await makeHasher({ logger: { warn: (line: string) => void warnings.push(line) } });
    const env = makeEnv(hasher);
    expect(env.renderString('{% static r %}', { r: huge })).toBe(`/static/${huge}`);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.length).toBeLessThan(400);
    expect(warnings[0]).toMatch(/^static-hash: file not found: "x+…x+\.js" \(looked for \/.+…x+\.js\); serving it without a version$/);
    const throwing = await throwingEnv();
    const error = renderError(() => throwing.renderString('{% static r %}', { r: huge }));
    expect(error.message.length).toBeLessThan(600);
    expect(error.message).toContain('…');
  });

  it('reports tag syntax errors at compile time with their position', async () => {
    const { hasher } = await makeHasher();
    const env = makeEnv(hasher);
    expect(() => env.renderString('\n{% static %}', {})).toThrow(/\[Line 2, Column 4\][\s\S]*static: expected a reference, as in \{% static "js\/app\.js" %\}/);
    expect(() => env.renderString('{% static "a.js" as 3 %}', {})).toThrow(/expected a variable name after "as"/);
    expect(() => env.renderString('{% static "a.js" "b.js" %}', {})).toThrow(/expected block end in static statement/);
  });
});

describe('argument and option validation', () => {
  it('rejects something that is not an Environment', async () => {
    const { hasher } = await makeHasher();
    for (const env of [undefined, null, {}, nunjucks, 'env']) {
      expect(() => registerStatic(env as never, hasher)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
    }
    expect(() => registerStatic({} as never, hasher)).toThrow(/env must be a nunjucks Environment; got an object/);
  });

  it('rejects something that is not a hasher', () => {
    const env = new nunjucks.Environment();
    for (const hasher of [undefined, null, {}, { url: () => '' }, 'public']) {
      expect(() => registerStatic(env, hasher as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
    }
  });

  it('rejects unknown options, naming the closest one, and bad names', async () => {
    const { hasher } = await makeHasher();
    const env = new nunjucks.Environment();
    expect(() => registerStatic(env, hasher, { tagname: 'x' } as never)).toThrow(/unknown static-hash\/nunjucks option "tagname"; did you mean "tagName"\?/);
    for (const options of [{ tagName: 'if' }, { tagName: 'set' }, { tagName: '1x' }, { tagName: '' }, { tagName: false }, { globalName: 'a-b' }, { filterName: 3 }, 'x']) {
      expect(() => registerStatic(env, hasher, options as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
    }
  });
});
