import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import Handlebars from 'handlebars';
import HandlebarsRuntime from 'handlebars/runtime';
import { createStaticHasher, type StaticHasher, type StaticHasherOptions } from '../../src/index';
import { registerStatic, translateDelimiters, type HandlebarsStaticOptions } from '../../adapters/handlebars';
import { makeFixture } from '../helpers/fixture';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'handlebars');

/** HTML-escapes like a careful attribute writer: what the adapter must produce, built independently. */
function escapeAttribute(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c]!);
}

function decodeAttribute(text: string): string {
  return text.replace(/&(amp|quot|#39|lt|gt|#96);/g, (_, name: string) => ({ amp: '&', quot: '"', '#39': "'", lt: '<', gt: '>', '#96': '`' })[name]!);
}

const tempDirs: string[] = [];
const hashers: StaticHasher[] = [];

async function makeHasher(options: StaticHasherOptions = {}): Promise<{ hasher: StaticHasher; root: string }> {
  const root = makeFixture({
    'css/site.css': 'body { color: black }',
    'js/app.js': 'console.log("app")',
    'img/logo.png': 'PNG',
    'img/icons/a.svg': '<svg id="a"/>',
    'img/icons/b.svg': '<svg id="b"/>',
  }).dir;
  tempDirs.push(root);
  const hasher = await createStaticHasher({ root, logger: { warn() {} }, ...options });
  hashers.push(hasher);
  return { hasher, root };
}

afterAll(async () => {
  for (const hasher of hashers) await hasher.close();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface Form {
  name: string;
  dir: string;
  options: HandlebarsStaticOptions;
}

// The same fixtures, written once with {{ }} and once with << >>: both must render identically.
const FORMS: Form[] = [
  { name: '{{ }}', dir: path.join(FIXTURES, 'curly'), options: {} },
  { name: '<< >>', dir: path.join(FIXTURES, 'angle'), options: { delimiters: ['<<', '>>'] } },
];

const PAGE_CONTEXT = { title: 'Tom & "Jerry"', logo: 'img/logo.png', icon: 'a', icons: ['img/icons/a.svg', 'img/icons/b.svg'] };
const ORIGIN = 'https://example.com';

function readFixture(form: Form, name: string): string {
  return fs.readFileSync(path.join(form.dir, name), 'utf8');
}

function makeInstance(form: Form, hasher: StaticHasher): typeof Handlebars {
  const instance = Handlebars.create();
  registerStatic(instance, hasher, { ...form.options, origin: ORIGIN });
  instance.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).join(''));
  instance.registerPartial('header', readFixture(form, 'header.hbs'));
  return instance;
}

function expectedPage(hasher: StaticHasher): string {
  const u = (reference: string) => escapeAttribute(hasher.url(reference));
  return `<!doctype html>
<link rel="stylesheet" href="${u('css/site.css')}">
<img src="${u('img/logo.png')}" alt="Tom &amp; &quot;Jerry&quot;">
<img src="${u('img/logo.png')}">
<script src="${u('js/app.js')}"></script>
<img src="${u('img/icons/a.svg')}">
<meta property="og:image" content="${ORIGIN}${u('img/logo.png')}">
<link rel="stylesheet" href="${u('css/site.css')}">
<img src="${u('img/icons/a.svg')}"><img src="${u('img/icons/b.svg')}">
<a href="${u('css/site.css?media=print&lang=en#top')}">print</a>
`;
}

/** Handlebars' `srcName` compile option names the template in `loc` (its types only list it for precompile). */
function named(srcName: string): CompileOptions {
  return { srcName } as CompileOptions;
}

function thrown(action: () => unknown): Error & { code?: string; reference?: unknown } {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe.each(FORMS)('registerStatic() with $name templates', (form) => {
  it('renders the fixture page (literal, variable, subexpression, helper, absolute, triple-stash, each, partial) as hasher.url() gives', async () => {
    const { hasher } = await makeHasher();
    const html = makeInstance(form, hasher).compile(readFixture(form, 'page.hbs'))(PAGE_CONTEXT);
    expect(html).toBe(expectedPage(hasher));
    expect(html).toMatch(/href="\/static\/css\/site\.css\?media=print&amp;lang=en&amp;v=[0-9a-f]{12}#top"/);
    expect(html).not.toContain('&#x3D;');
  });

  it('gives the new URL from the same compiled template after a content change and invalidate()', async () => {
    const { hasher, root } = await makeHasher();
    const template = makeInstance(form, hasher).compile(readFixture(form, 'page.hbs'));
    const oldUrl = hasher.url('img/logo.png');
    expect(template(PAGE_CONTEXT)).toContain(oldUrl);

    fs.writeFileSync(path.join(root, 'img/logo.png'), 'PNG v2');
    hasher.invalidate();
    const newUrl = hasher.url('img/logo.png');
    expect(newUrl).not.toBe(oldUrl);
    const html = template(PAGE_CONTEXT);
    expect(html).toBe(expectedPage(hasher));
    expect(html).not.toContain(oldUrl);
  });

  it('works with precompile + template, looking URLs up at render time', async () => {
    const { hasher, root } = await makeHasher();
    const instance = makeInstance(form, hasher);
    const spec = instance.precompile(readFixture(form, 'page.hbs'));
    expect(String(spec)).not.toContain(hasher.url('img/logo.png'));
    const template = instance.template(new Function(`return ${spec}`)());
    expect(template(PAGE_CONTEXT)).toBe(expectedPage(hasher));

    fs.writeFileSync(path.join(root, 'css/site.css'), 'body { color: red }');
    hasher.invalidate();
    expect(template(PAGE_CONTEXT)).toBe(expectedPage(hasher));
  });

  it('works under the strict compile option', async () => {
    const { hasher } = await makeHasher();
    const instance = makeInstance(form, hasher);
    expect(instance.compile(readFixture(form, 'page.hbs'), { strict: true })(PAGE_CONTEXT)).toBe(expectedPage(hasher));
    const tag = (inner: string) => (form.options.delimiters ? `<<${inner}>>` : `{{${inner}}}`);
    // Strict mode is on: a missing field is Handlebars' own error...
    expect(() => instance.compile(tag('nothing'), { strict: true })({})).toThrow(/"nothing" not defined/);
    // ...while Handlebars passes a missing helper argument as undefined, which the helper reports.
    expect(() => instance.compile(tag('static nothing'), { strict: true })({}))
      .toThrow(/expected a non-empty string reference such as "js\/app\.js"; got undefined \(template line 1, column 1\)$/);
  });

  it('fails on a missing file (onMissing "throw") naming the reference and the template position', async () => {
    const { hasher } = await makeHasher({ onMissing: 'throw' });
    const instance = makeInstance(form, hasher);
    const source = readFixture(form, 'errors/missing.hbs');
    const withName = thrown(() => instance.compile(source, named('errors/missing.hbs'))({}));
    expect(withName.code).toBe('ERR_STATIC_NOT_FOUND');
    expect(withName.reference).toBe('img/nope.png');
    expect(withName.message).toMatch(/^static-hash: file not found: "img\/nope\.png" \(looked for .*\) \(errors\/missing\.hbs:3:11\)$/);
    const unnamed = thrown(() => instance.compile(source)({}));
    expect(unnamed.message).toMatch(/\(template line 3, column 11\)$/);
  });

  it('fails on an unsafe path and on a non-string reference, naming them and the position', async () => {
    const { hasher } = await makeHasher();
    const instance = makeInstance(form, hasher);
    const unsafe = thrown(() => instance.compile(readFixture(form, 'errors/unsafe.hbs'), named('unsafe.hbs'))({}));
    expect(unsafe.code).toBe('ERR_STATIC_UNSAFE_PATH');
    expect(unsafe.message).toMatch(/unsafe path "\.\.\/secret\.txt".*\(unsafe\.hbs:2:14\)$/);
    const nonString = thrown(() => instance.compile(readFixture(form, 'errors/non-string.hbs'), named('n.hbs'))({ numbers: [7] }));
    expect(nonString.code).toBe('ERR_STATIC_INVALID_REFERENCE');
    expect(nonString.message).toMatch(/got number 7 \(n\.hbs:2:3\)$/);
  });
});

describe('the static helper', () => {
  it('is registered on the given instance only, never on the global Handlebars', async () => {
    const { hasher } = await makeHasher();
    const instance = Handlebars.create();
    registerStatic(instance, hasher);
    expect(typeof instance.helpers.static).toBe('function');
    expect(Handlebars.helpers.static).toBeUndefined();
    expect(instance.compile('{{static "js/app.js"}}')({})).toBe(hasher.url('js/app.js'));
  });

  it('works on the runtime-only build with templates precompiled elsewhere', async () => {
    const { hasher } = await makeHasher();
    const spec = Handlebars.precompile('<img src="{{static "img/logo.png"}}">');
    const runtime = HandlebarsRuntime.create();
    registerStatic(runtime, hasher);
    expect(runtime.template(new Function(`return ${spec}`)())({})).toBe(`<img src="${hasher.url('img/logo.png')}">`);
    expect(() => registerStatic(runtime, hasher, { delimiters: ['<<', '>>'] })).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
  });

  it('can be registered on the global Handlebars when that is what is given', async () => {
    const { hasher } = await makeHasher();
    try {
      registerStatic(Handlebars, hasher, { helperName: 'staticGlobal' });
      expect(Handlebars.compile('{{staticGlobal "js/app.js"}}')({})).toBe(hasher.url('js/app.js'));
    } finally {
      Handlebars.unregisterHelper('staticGlobal');
    }
  });

  it('escapes a URL with a query exactly once, and never writes &#x3D;', async () => {
    const { hasher } = await makeHasher();
    const instance = Handlebars.create();
    registerStatic(instance, hasher);
    const url = hasher.url('js/app.js?a=1&b=2');
    const html = instance.compile('{{static "js/app.js?a=1&b=2"}}|{{{static "js/app.js?a=1&b=2"}}}')({});
    expect(html).toBe(`${url.replace(/&/g, '&amp;')}|${url.replace(/&/g, '&amp;')}`);
    expect(html).toMatch(/\?a=1&amp;b=2&amp;v=[0-9a-f]{12}\|/);
    expect(html).not.toMatch(/&#x3D;|&amp;amp;/);
  });

  it('never lets quotes, angle brackets or ampersands in a reference break out of an attribute', async () => {
    const plain = await makeHasher({ onMissing: 'ignore' });
    const quoted = await makeHasher({ onMissing: 'ignore', baseUrl: "/st'atic/" });
    // References starting "x?" or "x#" name this file, so their URLs carry a version too.
    for (const { root } of [plain, quoted]) fs.writeFileSync(path.join(root, 'x'), 'x');
    const instances = [plain.hasher, quoted.hasher].map((hasher) => {
      const instance = Handlebars.create();
      registerStatic(instance, hasher);
      return { hasher, template: instance.compile(`<a href="{{static r}}" title='{{static r}}' data-x={{{static r}}}>`) };
    });
    const attributes = /^<a href="([^"]*)" title='([^']*)' data-x=([^\s>"'<`]*)>$/;
    const character = fc.constantFrom('"', "'", '<', '>', '&', '=', '`', ' ', '?', '#', 'a', '/', '.', '%', ';');
    fc.assert(fc.property(fc.array(character, { minLength: 1, maxLength: 16 }), fc.integer({ min: 0, max: 1 }), (characters, which) => {
      const reference = `x${characters.join('')}`;
      const { hasher, template } = instances[which]!;
      let expected: string;
      try {
        expected = hasher.url(reference);
      } catch {
        return;
      }
      const match = attributes.exec(template({ r: reference }));
      expect(match).not.toBeNull();
      for (const value of match!.slice(1)) {
        expect(value).not.toMatch(/[<>"'`]|&(?!amp;|#39;|quot;|lt;|gt;|#96;)/);
        expect(decodeAttribute(value)).toBe(expected);
      }
    }), { numRuns: 300 });
  });

  it('absolute=true: prefixes the origin, keeps an absolute base URL, completes a protocol-relative one', async () => {
    const relative = await makeHasher();
    const cdn = await makeHasher({ baseUrl: 'https://cdn.example.net/assets/' });
    const protocolRelative = await makeHasher({ baseUrl: '//cdn.example.net/assets/' });
    const render = (hasher: StaticHasher, source: string, options: HandlebarsStaticOptions = { origin: 'https://Example.com/' }) => {
      const instance = Handlebars.create();
      registerStatic(instance, hasher, options);
      return instance.compile(source)({});
    };
    expect(render(relative.hasher, '{{static "js/app.js" absolute=true}}')).toBe(`https://example.com${relative.hasher.url('js/app.js')}`);
    expect(render(relative.hasher, '{{static "js/app.js" absolute=false}}')).toBe(relative.hasher.url('js/app.js'));
    expect(render(cdn.hasher, '{{static "js/app.js" absolute=true}}', {})).toBe(cdn.hasher.url('js/app.js'));
    expect(render(protocolRelative.hasher, '{{static "js/app.js" absolute=true}}')).toBe(`https:${protocolRelative.hasher.url('js/app.js')}`);
    expect(() => render(relative.hasher, '\n {{static "js/app.js" absolute=true}}', {}))
      .toThrow(/absolute=true needs the "origin" option of registerStatic\(\).*\(template line 2, column 2\)$/);
  });

  it('rejects an unknown hash option, a non-boolean absolute and a wrong number of arguments, with positions', async () => {
    const { hasher } = await makeHasher();
    const instance = Handlebars.create();
    registerStatic(instance, hasher, { origin: ORIGIN });
    const run = (source: string) => thrown(() => instance.compile(source)({}));
    expect(run('{{static "js/app.js" absolut=true}}')).toMatchObject({
      code: 'ERR_STATIC_INVALID_OPTION',
      message: expect.stringMatching(/unknown static helper option "absolut"; did you mean "absolute"\?.*\(template line 1, column 1\)$/),
    });
    expect(run('{{static "js/app.js" absolute="yes"}}').message).toMatch(/absolute must be true or false; got "yes"/);
    expect(run('x {{static}}')).toMatchObject({ code: 'ERR_STATIC_INVALID_REFERENCE', message: expect.stringMatching(/expected one reference.*got none \(template line 1, column 3\)$/) });
    expect(run('{{static "a" "b"}}').message).toMatch(/got 2/);
  });
});

describe('the staticIntegrity helper', () => {
  it.each(FORMS)('is registered with static and gives the sha384 of the file, unescaped, in $name templates', async (form) => {
    const { hasher, root } = await makeHasher();
    const instance = makeInstance(form, hasher);
    const [open, close] = form.options.delimiters ?? ['{{', '}}'];
    const html = instance.compile(`<script src="${open}static "js/app.js"${close}" integrity="${open}staticIntegrity "js/app.js"${close}"></script>`)({});
    const expected = `sha384-${createHash('sha384').update(fs.readFileSync(path.join(root, 'js/app.js'))).digest('base64')}`;
    expect(html).toBe(`<script src="${hasher.url('js/app.js')}" integrity="${expected}"></script>`);
    expect(html).not.toContain('&#x3D;');
  });
});

describe('translateDelimiters()', () => {
  const translate = (template: string) => translateDelimiters(template, ['<<', '>>']);

  it('translates tags, blocks, comments, triple-stash and whitespace control', () => {
    expect(translate('<<static "a.png">>')).toBe('{{static "a.png"}}');
    expect(translate('<<#each items>><<this>><<else>>none<</each>>')).toBe('{{#each items}}{{this}}{{else}}none{{/each}}');
    expect(translate('<<<raw>>>')).toBe('{{{raw}}}');
    expect(translate('<<! note >>')).toBe('{{!      }}');
    expect(translate('<<!-- a >> b\nc -->>x')).toBe('{{!--       \n  --}}x');
    expect(translate('<<~x~>> <<~!-- c --~>>')).toBe('{{~x~}} {{~!--   --~}}');
    expect(translate('<<> header>>')).toBe('{{> header}}');
    expect(translate('<<static "a>>b">>')).toBe('{{static "a>>b"}}');
  });

  it('keeps literal {{ }} as text and \\<< as a literal <<', () => {
    const handlebars = Handlebars.create();
    const render = (template: string, context = {}) => handlebars.compile(translate(template))(context);
    expect(render('{{ message }} {{{ raw }}} {{#if x}}y{{/if}}')).toBe('{{ message }} {{{ raw }}} {{#if x}}y{{/if}}');
    expect(render('\\<<not a tag>> <<x>>', { x: 1 })).toBe('<<not a tag>> 1');
    expect(render('\\\\<<x>>', { x: 1 })).toBe('\\1');
    expect(render('{<<x>>}', { x: 1 })).toBe('{1}');
    expect(render('\\{{ x }}', { x: 1 })).toBe('\\{{ x }}');
  });

  it('renders any text around tags exactly (braces, backslashes, quotes next to tags)', () => {
    const handlebars = Handlebars.create();
    const piece = fc.oneof(
      fc.array(fc.constantFrom('{', '}', '\\', '"', "'", 'a', ' ', '\n', '>', '!', '~'), { minLength: 1, maxLength: 8 }).map((c) => ({ text: c.join('') })),
      fc.constantFrom({ tag: '<<x>>', output: 'X&amp;' }, { tag: '<<<x>>>', output: 'X&' }, { tag: '<<~x~>>', output: 'X&amp;' }),
    );
    fc.assert(fc.property(fc.array(piece, { maxLength: 8 }), (generated) => {
      // Adjacent text pieces are one text to Handlebars (a ~ strips all of its leading whitespace).
      const pieces: typeof generated = [];
      for (const item of generated) {
        const last = pieces[pieces.length - 1];
        if ('text' in item && last !== undefined && 'text' in last) pieces[pieces.length - 1] = { text: last.text + item.text };
        else pieces.push(item);
      }
      let source = '';
      let expected = '';
      pieces.forEach((item, index) => {
        if ('tag' in item) {
          source += item.tag;
          // ~ strips the whitespace around the tag from the neighbouring text.
          if (item.tag.includes('~')) expected = expected.trimEnd();
          expected += item.output;
          return;
        }
        const previous = pieces[index - 1];
        const text = previous && 'tag' in previous && previous.tag.includes('~') ? item.text.trimStart() : item.text;
        expected += text;
        // A literal backslash right before a tag is written doubled, as in Handlebars.
        source += pieces[index + 1] && 'tag' in pieces[index + 1]! && item.text.endsWith('\\') ? `${item.text}\\` : item.text;
      });
      expect(handlebars.compile(translate(source))({ x: 'X&' })).toBe(expected);
    }), { numRuns: 500 });
  });

  it('keeps line numbers, so Handlebars reports positions in the << >> source', () => {
    const handlebars = Handlebars.create();
    expect(() => handlebars.compile(translate('a\n<<!-- x\ny -->>\n<<#if>>'))({})).toThrow(/line 4/);
  });

  it('renders the literal fixture: a client-side template inside a << >> template', async () => {
    const { hasher } = await makeHasher();
    const handlebars = Handlebars.create();
    registerStatic(handlebars, hasher, { delimiters: ['<<', '>>'] });
    const html = handlebars.compile(readFixture(FORMS[1]!, 'literal.hbs'))({});
    expect(html).toBe(`<div id="app" data-logo="${hasher.url('img/logo.png')}">
  <img :src="logo" v-if="show">{{ message }} <<not a tag>>
  <p>{{{ raw }}} and {{#if x}}y{{/if}}</p>
</div>
`);
  });

  it('rejects other delimiters and non-string templates', () => {
    expect(() => translateDelimiters('x', ['[[', ']]'] as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
    expect(() => translateDelimiters(3 as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
  });

  it('applies to partials compiled by the instance, and only once when registered twice', async () => {
    const { hasher } = await makeHasher();
    const handlebars = Handlebars.create();
    registerStatic(handlebars, hasher, { delimiters: ['<<', '>>'] });
    registerStatic(handlebars, hasher, { delimiters: ['<<', '>>'] });
    handlebars.registerPartial('logo', '<img src="<<static "img/logo.png">>"> {{ kept }}');
    expect(handlebars.compile('<<> logo>>')({})).toBe(`<img src="${hasher.url('img/logo.png')}"> {{ kept }}`);
    // The global instance is untouched.
    expect(Handlebars.compile('<<x>>{{x}}')({ x: 1 })).toBe('<<x>>1');
  });
});

describe('argument and option validation', () => {
  it('rejects something that is not a Handlebars instance or not a hasher', async () => {
    const { hasher } = await makeHasher();
    for (const instance of [undefined, null, {}, 'Handlebars', { registerHelper() {} }, { SafeString: class {} }]) {
      expect(() => registerStatic(instance as never, hasher)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
    }
    for (const bad of [undefined, null, {}, { url: () => '' }]) {
      expect(() => registerStatic(Handlebars.create(), bad as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
    }
  });

  it('rejects unknown options, naming the closest one, and bad values', async () => {
    const { hasher } = await makeHasher();
    expect(() => registerStatic(Handlebars.create(), hasher, { delimeters: ['<<', '>>'] } as never))
      .toThrow(/unknown static-hash\/handlebars option "delimeters"; did you mean "delimiters"\?/);
    const bad: unknown[] = [
      { helperName: '' }, { helperName: 'a b' }, { helperName: 3 },
      { origin: 'example.com' }, { origin: 'https://example.com/app' }, { origin: 'ftp://example.com' }, { origin: 'https://example.com?x' },
      { delimiters: ['{{', '}}'] }, { delimiters: '<<>>' }, null, [],
    ];
    for (const options of bad) {
      expect(() => registerStatic(Handlebars.create(), hasher, options as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));
    }
  });
});
