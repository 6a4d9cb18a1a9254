import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import {
  createStaticHasher, rewriteStylesheet, scanStylesheet, StaticHashError, type StaticHasher, type StaticHasherOptions,
} from '../src/index';
import { makeFixture } from './helpers/fixture';

// Fixtures: test/fixtures/css/public is the static root (copied to a temp dir per test), expected/
// holds each stylesheet's exact rewritten text with {{path}} where the 12-hex hash of `path` goes.
// Expected hashes are computed here, independently of the hasher: xxHash64 of a file's bytes, of a
// stylesheet's expected text, or for a cycle by the formula docs/css.md documents.
const FIXTURES = path.join(__dirname, 'fixtures', 'css');
const CYCLES = [['css/cycle-a.css', 'css/cycle-b.css', 'css/cycle-c.css'], ['css/self.css']];
const HASH_LENGTH = 12;

let h64: (bytes: Uint8Array) => bigint;
beforeAll(async () => {
  h64 = (await xxhash()).h64Raw;
});

function digest(bytes: Buffer): string {
  return h64(bytes).toString(16).padStart(16, '0');
}

/** Computes what each reference's hash must be, from the fixture files alone. */
class Expectation {
  constructor(readonly expectedDir: string, readonly root: string) {}

  hash(reference: string): string {
    const cycle = CYCLES.find((members) => members.includes(reference));
    if (cycle) return this.cycleHash(cycle);
    if (reference.endsWith('.css')) return digest(Buffer.from(this.text(reference)));
    return digest(fs.readFileSync(path.join(this.root, reference)));
  }

  /** The expected rewritten text, with every {{path}} filled in (`{{member}}` of `placeholderFor` left empty). */
  text(reference: string, placeholderFor: readonly string[] = []): string {
    const template = fs.readFileSync(path.join(this.expectedDir, reference), 'utf8');
    return template.replace(/\{\{([^}]+)\}\}/g, (_, target: string) => (placeholderFor.includes(target) ? '' : this.hash(target).slice(0, HASH_LENGTH)));
  }

  /** docs/css.md: xxHash64 over the sorted members, each "<len>:<path>\n<len>:<text with placeholders>\n". */
  cycleHash(members: readonly string[]): string {
    const parts = [...members].sort().map((member) => {
      const text = Buffer.from(this.text(member, members));
      const name = Buffer.from(member);
      return Buffer.concat([Buffer.from(`${name.length}:`), name, Buffer.from(`\n${text.length}:`), text, Buffer.from('\n')]);
    });
    return digest(Buffer.concat(parts));
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function tempCopy(source: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-css-'));
  fs.cpSync(source, dir, { recursive: true });
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return fs.realpathSync(dir);
}

interface Setup {
  hasher: StaticHasher;
  root: string;
  warnings: string[];
  expect: Expectation;
}

const IGNORE: StaticHasherOptions['cssIgnore'] = [
  /^ignored\//,
  'img/ignored-',
  (reference, stylesheet) => stylesheet === 'css/ignore.css' && reference.endsWith('.keep.png'),
];

async function setup(options: StaticHasherOptions = {}, expectedDir = 'expected'): Promise<Setup> {
  const root = tempCopy(path.join(FIXTURES, 'public'));
  const warnings: string[] = [];
  const hasher = await createStaticHasher({ root, cssIgnore: IGNORE, logger: { warn: (message) => warnings.push(message) }, ...options });
  cleanups.push(() => hasher.close());
  return { hasher, root, warnings, expect: new Expectation(path.join(FIXTURES, expectedDir), root) };
}

async function expectRewritten({ hasher, expect: expectation }: Setup, stylesheet: string): Promise<void> {
  const bytes = await hasher.read(stylesheet);
  expect(bytes?.toString('utf8')).toBe(expectation.text(stylesheet));
  expect(hasher.hash(stylesheet)).toBe(expectation.hash(stylesheet).slice(0, HASH_LENGTH));
  // The hash a URL carries is xxHash64 of exactly the bytes read() gives, except in a cycle, whose
  // members share the cycle's hash (checked against the formula above).
  if (!CYCLES.some((members) => members.includes(stylesheet))) expect(digest(bytes!).slice(0, HASH_LENGTH)).toBe(hasher.hash(stylesheet));
}

describe('stylesheet rewriting (one fixture per behaviour, exact expected output)', () => {
  const cases: Array<[string, string]> = [
    ['keeps quoting as written: unquoted, double, single, inner spaces', 'css/quoting.css'],
    ['rewrites every @import form: string, url(), quoted url(), a comment before the string', 'css/imports.css'],
    ['leaves references inside comments alone, including an unterminated one', 'css/comments.css'],
    ['leaves strings that are not url()/@import arguments alone, and recovers after a bad string', 'css/strings.css'],
    ['matches url and @import case-insensitively, also spelled with escapes', 'css/case.css'],
    ['keeps layer(), supports() and media conditions of @import', 'css/conditions.css'],
    ['keeps ?query and #fragment (font.eot?#iefix, font.svg#id)', 'css/fragments.css'],
    ['leaves schemes, //host, #id, empty url() and bad url tokens untouched', 'css/untouched.css'],
    ['leaves data: URIs untouched even with url( inside, and carries on after them', 'css/data-uris.css'],
    ['resolves ../ within the roots, baseUrl-path references from the root, percent-escapes', 'css/sub/paths.css'],
    ['rewrites image-set() strings and url()s, not other strings inside it', 'css/image-set.css'],
    ['skips cssIgnore matches: RegExp on the written reference, string prefix on the path, function', 'css/ignore.css'],
    ['decodes CSS escapes in references and escapes the replacement for its quoting', 'css/escapes.css'],
    ['does not mistake #url(, 10url(, -url(, my-url( or \\@import for references', 'css/tokens.css'],
    ['rewrites sourceMappingURL comments like a reference', 'css/sourcemap.css'],
    ['moves a chain all the way up (a imports b, b uses an image)', 'css/chain-a.css'],
    ['hashes a stylesheet importing a cycle over its rewritten text', 'css/cycle-entry.css'],
  ];
  it.each(cases)('%s (%s)', async (_name, stylesheet) => {
    const context = await setup();
    await expectRewritten(context, stylesheet);
    if (stylesheet === 'css/sub/paths.css') {
      expect(context.warnings).toEqual([
        'static-hash: stylesheet "css/sub/paths.css" references "/img/bg.png", which is outside the static roots (it is root-relative but not under the base URL path "/static/"); left as written',
        'static-hash: stylesheet "css/sub/paths.css" references "../../../../etc/passwd", which is outside the static roots (".." leaves the static roots); left as written',
      ]);
    } else {
      expect(context.warnings).toEqual([]);
    }
  });

  it('leaves a stylesheet without references byte for byte, with the same hash as with css: false', async () => {
    const on = await setup();
    const off = await setup({ css: false });
    expect(await on.hasher.read('css/base.css')).toEqual(fs.readFileSync(path.join(on.root, 'css/base.css')));
    expect(on.hasher.hash('css/base.css')).toBe(off.hasher.hash('css/base.css'));
  });

  it('with an absolute (CDN) baseUrl, writes CDN URLs and resolves references under its path', async () => {
    const context = await setup({ baseUrl: 'https://cdn.example.com/assets/' }, 'expected-cdn');
    await expectRewritten(context, 'css/cdn.css');
    expect(context.warnings).toEqual([
      'static-hash: stylesheet "css/cdn.css" references "/static/img/icon.svg", which is outside the static roots (it is root-relative but not under the base URL path "/assets/"); left as written',
    ]);
  });

  it('follows urlStyle: "filename" in rewritten references', async () => {
    const { hasher } = await setup({ urlStyle: 'filename' });
    const text = (await hasher.read('css/chain-b.css'))!.toString();
    expect(text).toBe(`.b { background: url(${hasher.url('img/bg.png')}); }\n`);
    expect(hasher.url('img/bg.png')).toMatch(/^\/static\/img\/bg\.[0-9a-f]{12}\.png$/);
  });
});

describe('missing references', () => {
  it('warns once per generation naming the stylesheet and the reference, leaves it as written, never throws', async () => {
    const context = await setup({ onMissing: 'throw' });
    const { hasher, warnings, root } = context;
    await expectRewritten(context, 'css/missing.css');
    expect(() => hasher.url('css/missing.css')).not.toThrow();
    const expected = [
      `static-hash: stylesheet "css/missing.css" references "nope.css", which was not found (looked for ${path.join(root, 'css/nope.css')}); left as written`,
      `static-hash: stylesheet "css/missing.css" references "../img/nope.png", which was not found (looked for ${path.join(root, 'img/nope.png')}); left as written`,
    ];
    expect(warnings).toEqual(expected);
    // onMissing: 'throw' still applies to what a template references directly.
    expect(() => hasher.url('img/nope.png')).toThrow(expect.objectContaining({ code: 'ERR_STATIC_NOT_FOUND' }));
    hasher.invalidate();
    hasher.url('css/missing.css');
    expect(warnings).toEqual([...expected, ...expected]);
  });

  it('only warns about a missing source map', async () => {
    const context = await setup();
    await expectRewritten(context, 'css/sourcemap-missing.css');
    expect(context.warnings).toEqual([
      `static-hash: stylesheet "css/sourcemap-missing.css" references "gone.css.map", which was not found (looked for ${path.join(context.root, 'css/gone.css.map')}); left as written`,
    ]);
  });
});

describe('cycles', () => {
  const members = CYCLES[0]!;
  const orders = [members, [...members].reverse(), [members[1]!, members[0]!, members[2]!]];

  it.each(orders)('gives every member of a cycle one hash, whichever is looked up first (%s first)', async (...order) => {
    const context = await setup();
    const hashes = order.map((member) => context.hasher.hash(member));
    const cycleHash = context.expect.cycleHash(members).slice(0, HASH_LENGTH);
    expect(hashes).toEqual([cycleHash, cycleHash, cycleHash]);
    for (const member of members) await expectRewritten(context, member);
    expect(context.warnings).toEqual([]);
  });

  it('gives the same cycle hash on every run, and with a cache too small to hold the cycle', async () => {
    const first = await setup();
    const tiny = await setup({ cache: { maxEntries: 1 } });
    for (let round = 0; round < 3; round++) {
      for (const member of [...members, 'css/cycle-entry.css', members[1]!]) {
        expect(tiny.hasher.hash(member)).toBe(first.hasher.hash(member));
      }
    }
  });

  it('terminates for a stylesheet importing itself', async () => {
    const context = await setup();
    await expectRewritten(context, 'css/self.css');
  });

  it('changes the whole cycle\'s hash when an image one member uses changes', async () => {
    const { hasher, root } = await setup();
    const before = members.map((member) => hasher.url(member));
    fs.writeFileSync(path.join(root, 'img/icon.svg'), '<svg/>');
    hasher.invalidate();
    const after = members.map((member) => hasher.url(member));
    for (let index = 0; index < members.length; index++) expect(after[index]).not.toBe(before[index]);
  });
});

describe('when only an image changes', () => {
  it('moves the stylesheet using it and the one importing that, and nothing else', async () => {
    const files: Record<string, string> = {
      'img/hero.png': 'hero v1',
      'img/other.png': 'other',
      'css/hero.css': '.hero { background: url(../img/hero.png); }\n',
      'css/site.css': '@import "hero.css";\n@import "other.css";\nbody { margin: 0; }\n',
      'css/other.css': '.other { background: url(../img/other.png); }\n',
      'js/app.js': 'console.log(1);\n',
    };
    const fixture = makeFixture(files);
    cleanups.push(() => fixture.cleanup());
    const root = fs.realpathSync(fixture.dir);
    const hasher = await createStaticHasher({ root, logger: { warn: () => {} } });
    cleanups.push(() => hasher.close());
    const urls = (): Record<string, string> => Object.fromEntries(Object.keys(files).map((name) => [name, hasher.url(name)]));
    const before = urls();

    fs.writeFileSync(path.join(root, 'img/hero.png'), 'hero v2');
    expect(urls()).toEqual(before); // cached until the generation moves
    hasher.invalidate();
    const after = urls();

    for (const changed of ['img/hero.png', 'css/hero.css', 'css/site.css']) expect(after[changed]).not.toBe(before[changed]);
    for (const same of ['img/other.png', 'css/other.css', 'js/app.js']) expect(after[same]).toBe(before[same]);
    expect((await hasher.read('css/hero.css'))!.toString()).toBe(`.hero { background: url(${after['img/hero.png']}); }\n`);
    expect((await hasher.read('css/site.css'))!.toString())
      .toBe(`@import "${after['css/hero.css']}";\n@import "${after['css/other.css']}";\nbody { margin: 0; }\n`);
  });
});

describe('caching and generations', () => {
  it('with invalidate({ nocache: true }), a changed image moves its stylesheet at once', async () => {
    const { hasher, root } = await setup();
    hasher.invalidate({ nocache: true });
    const before = hasher.url('css/chain-a.css');
    expect(hasher.url('css/chain-a.css')).toBe(before);
    fs.writeFileSync(path.join(root, 'img/bg.png'), 'changed');
    const after = hasher.url('css/chain-a.css');
    expect(after).not.toBe(before);
    expect((await hasher.read('css/chain-b.css'))!.toString()).toBe(`.b { background: url(${hasher.url('img/bg.png')}); }\n`);
  });

  it('warm() hashes stylesheets over their rewritten text, and read() then gives those bytes', async () => {
    const context = await setup();
    const { files } = await context.hasher.warm();
    expect(files).toBe(fs.readdirSync(context.root, { recursive: true }).filter((name) => fs.statSync(path.join(context.root, String(name))).isFile()).length);
    await expectRewritten(context, 'css/chain-a.css');
    await expectRewritten(context, 'css/cycle-b.css');
  });

  it('hashes a 5000-stylesheet @import chain without overflowing the stack, all the way up', async () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-css-')));
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const depth = 5000;
    for (let index = 0; index < depth; index++) {
      const body = index + 1 < depth ? `@import "s${index + 1}.css";\n` : '.last { background: url(img.png); }\n';
      fs.writeFileSync(path.join(root, `s${index}.css`), body);
    }
    fs.writeFileSync(path.join(root, 'img.png'), 'one');
    const hasher = await createStaticHasher({ root });
    cleanups.push(() => hasher.close());
    const before = hasher.url('s0.css');
    expect((await hasher.read('s0.css'))!.toString()).toBe(`@import "${hasher.url('s1.css')}";\n`);
    fs.writeFileSync(path.join(root, 'img.png'), 'two');
    hasher.invalidate();
    expect(hasher.url('s0.css')).not.toBe(before);
  });
});

describe('options', () => {
  it('css: false leaves stylesheets as they are: read() gives the file, the hash covers it', async () => {
    const { hasher, root } = await setup({ css: false });
    const raw = fs.readFileSync(path.join(root, 'css/quoting.css'));
    expect(await hasher.read('css/quoting.css')).toEqual(raw);
    expect(hasher.hash('css/quoting.css')).toBe(digest(raw).slice(0, HASH_LENGTH));
  });

  it.each([
    [{ css: 'yes' }, 'css'],
    [{ cssIgnore: [42] }, 'cssIgnore'],
    [{ cssIgnore: '' }, 'cssIgnore'],
  ])('rejects %p with ERR_STATIC_INVALID_OPTION naming %s', async (options, option) => {
    const root = tempCopy(path.join(FIXTURES, 'public'));
    await expect(createStaticHasher({ root, ...(options as object) })).rejects.toMatchObject({ code: 'ERR_STATIC_INVALID_OPTION', option });
  });

  it('accepts a single cssIgnore pattern', async () => {
    const { hasher } = await setup({ cssIgnore: /bg\.png/ });
    expect((await hasher.read('css/chain-b.css'))!.toString()).toBe('.b { background: url(../img/bg.png); }\n');
  });
});

describe('large and odd stylesheets', () => {
  it('keeps bytes that are not UTF-8 and a BOM exactly as they were', async () => {
    const { hasher, root } = await setup();
    const latin1 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('@charset "iso-8859-1";\n.caf\xe9 { background: url(../img/bg.png); }\n', 'latin1')]);
    fs.writeFileSync(path.join(root, 'css/latin1.css'), latin1);
    const bytes = (await hasher.read('css/latin1.css'))!;
    const expected = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(`@charset "iso-8859-1";\n.caf\xe9 { background: url(${hasher.url('img/bg.png')}); }\n`, 'latin1'),
    ]);
    expect(bytes).toEqual(expected);
  });

  it('resolves non-ASCII references written in UTF-8 or as CSS escapes', async () => {
    const { hasher, root } = await setup();
    fs.writeFileSync(path.join(root, 'img/café.png'), 'coffee');
    fs.writeFileSync(path.join(root, 'css/unicode.css'), '.a { background: url(../img/café.png); }\n.b { background: url("../img/caf\\e9.png"); }\n');
    const url = hasher.url('img/café.png');
    expect(url).toMatch(/^\/static\/img\/caf%C3%A9\.png\?v=/);
    expect((await hasher.read('css/unicode.css'))!.toString()).toBe(`.a { background: url(${url}); }\n.b { background: url("${url}"); }\n`);
  });

  it('rewrites a stylesheet above 32 KiB (scanned in windows of its bytes) as the text step does', async () => {
    const { hasher, root } = await setup();
    fs.writeFileSync(path.join(root, 'img/café.png'), 'coffee');
    // References at every offset against the 512-byte windows: fillers of growing length between
    // them, long strings and a data URI longer than a window, escapes, non-ASCII, CR LF, and
    // url( hidden in comments and strings.
    let text = '\ufeff';
    for (let index = 0; text.length < 80 * 1024; index++) {
      text += `.c${index} { content: "\\f${(index % 4096).toString(16)}"; color: red; }\r\n`.repeat(index % 7);
      text += `/* url(../img/hidden.png) ${'é'.repeat(index % 300)} */ .d { content: "url(../img/no.png) ${'x'.repeat(index % 600)}" }\n`;
      text += `.e${index} { background: url(../img/bg.png), url("../img/caf\\e9.png") , url( '../img/café.png' ); }\n`;
      text += `.f { background: url("data:image/svg+xml,${'%3c'.repeat(200 + (index % 50))}") }\n`;
    }
    fs.writeFileSync(path.join(root, 'css/large.css'), text);
    const expected = Buffer.from(rewriteStylesheet(text, 'css/large.css', (target) => hasher.url(target.path)));
    const bytes = (await hasher.read('css/large.css'))!;
    expect(bytes.length).toBeGreaterThan(32 * 1024);
    expect(bytes.equals(expected)).toBe(true);
    expect(bytes.toString().match(/\?v=/g)!.length).toBe(scanStylesheet(text).filter((reference) => !reference.url.startsWith('data:')).length);
    expect(hasher.url('css/large.css')).toBe(`/static/css/large.css?v=${digest(bytes).slice(0, HASH_LENGTH)}`);
  });

  it('covers an @import whose whitespace crosses a scan window in a stylesheet above 32 KiB: the imported file moves its hash', async () => {
    // The bytes scan once lost such an @import (the tokenizer's end stayed before the whitespace it
    // skipped to the window's edge): the stylesheet was served under a hash that did not cover it.
    const { hasher, root } = await setup();
    fs.writeFileSync(path.join(root, 'css/child.css'), '.child { color: red }');
    const text = `${'.pad { color: blue }\n'.repeat(2000)}@import${' '.repeat(700)}"child.css";\n.after { color: green }\n`;
    expect(text.length).toBeGreaterThan(32 * 1024);
    fs.writeFileSync(path.join(root, 'css/big-import.css'), text);
    const before = hasher.url('css/big-import.css');
    expect((await hasher.read('css/big-import.css'))!.toString()).toContain(`"${hasher.url('css/child.css')}"`);
    fs.writeFileSync(path.join(root, 'css/child.css'), '.child { color: purple }');
    hasher.invalidate();
    expect(hasher.url('css/big-import.css')).not.toBe(before);
    expect((await hasher.read('css/big-import.css'))!.toString()).toContain(`"${hasher.url('css/child.css')}"`);
  });

  it('hashes a stylesheet above 16 MiB as it is, with one warning', async () => {
    const { hasher, root, warnings } = await setup();
    const big = Buffer.alloc(16 * 1024 * 1024 + 1, 0x20);
    big.write('.a { background: url(../img/bg.png); }');
    fs.writeFileSync(path.join(root, 'css/big.css'), big);
    expect(hasher.hash('css/big.css')).toBe(digest(big).slice(0, HASH_LENGTH));
    expect((await hasher.read('css/big.css'))!.equals(big)).toBe(true);
    expect(warnings).toEqual([
      'static-hash: stylesheet "css/big.css" is larger than 16777216 bytes: its references are not rewritten and its hash covers its bytes as they are',
    ]);
  });

  it('leaves a reference naming a directory as written, with a warning', async () => {
    const { hasher, root, warnings } = await setup();
    fs.writeFileSync(path.join(root, 'css/dir.css'), '.a { background: url(../img); }\n');
    expect((await hasher.read('css/dir.css'))!.toString()).toBe('.a { background: url(../img); }\n');
    expect(warnings).toEqual([expect.stringMatching(/^static-hash: stylesheet "css\/dir.css" references "\.\.\/img", which cannot be hashed \(static-hash: not a file/)]);
  });

  it('leaves an unsafe referenced stylesheet (symlink out of the root) as written, with a warning', async () => {
    const { hasher, root, warnings } = await setup();
    const outside = tempCopy(path.join(FIXTURES, 'public', 'css'));
    fs.symlinkSync(path.join(outside, 'base.css'), path.join(root, 'css/escape.css'));
    fs.writeFileSync(path.join(root, 'css/uses-escape.css'), '@import "escape.css";\n');
    expect((await hasher.read('css/uses-escape.css'))!.toString()).toBe('@import "escape.css";\n');
    expect(warnings).toEqual([expect.stringMatching(/references "escape\.css", which cannot be used \(static-hash: unsafe path/)]);
  });
});

describe('rewriteStylesheet() and scanStylesheet()', () => {
  it('rewrites through the callback with the resolved target', () => {
    const seen: string[] = [];
    const out = rewriteStylesheet('@import "b.css" screen;\na { background: url(../img/a.png?x#y) }', 'css/site.css', (target) => {
      seen.push(`${target.path}|${target.query}|${target.fragment}`);
      return `/s/${target.path}`;
    });
    expect(out).toBe('@import "/s/css/b.css" screen;\na { background: url(/s/img/a.png) }');
    expect(seen).toEqual(['css/b.css|undefined|undefined', 'img/a.png|x|y']);
  });

  it('never changes text when the callback declines, whatever the input (property)', () => {
    const cssish = fc.stringMatching(/^[a-z(){}"'\\/*@:;#.\-+ 0-9\n]*$/);
    fc.assert(fc.property(fc.oneof(fc.string(), cssish, fc.string({ unit: 'binary' })), (text) => {
      expect(rewriteStylesheet(text, 'a.css', () => undefined)).toBe(text);
      let last = 0;
      for (const reference of scanStylesheet(text)) {
        expect(reference.start).toBeGreaterThanOrEqual(last);
        expect(reference.end).toBeGreaterThanOrEqual(reference.start);
        expect(reference.end).toBeLessThanOrEqual(text.length);
        last = reference.end;
      }
    }), { numRuns: 2000 });
  });

  it('finds each reference once, with its kind and quoting', () => {
    const found = scanStylesheet('@import "a.css";@import url(b.css);x{y:url( \'c.png\' ) image-set("d.png" 1x)}/*# sourceMappingURL=e.map */');
    expect(found.map(({ url, kind, quote }) => [url, kind, quote])).toEqual([
      ['a.css', 'import', '"'], ['b.css', 'url', 'unquoted'], ['c.png', 'url', "'"], ['d.png', 'image-set', '"'], ['e.map', 'source-map', 'comment'],
    ]);
  });

  it('consumes <!-- and --> as the CDO and CDC tokens they are, so a url() right after either is found', () => {
    // Found by the differential test against @csstools/css-tokenizer: '<!--url(a.png)' was read as
    // the ident '--url' and its function, hiding the url token a browser sees.
    const found = scanStylesheet('<!--url(a.png)\n-->url(b.png) <!-- a{background:url("c.png")} -->');
    expect(found.map(({ url, kind }) => [url, kind])).toEqual([['a.png', 'url'], ['b.png', 'url'], ['c.png', 'url']]);
    expect(rewriteStylesheet('<!--url(a.png)', 'a.css', (target) => `/s/${target.path}`)).toBe('<!--url(/s/a.png)');
  });

  it('reads NUL as U+FFFD, as the spec\'s input preprocessing does: a name code point, never a bad url', () => {
    // Also found by the differential test: '\0url(a.png)' is the function '\ufffdurl(' to a browser.
    expect(scanStylesheet('\0url(a.png) b{c:url(a\0b.png)}').map(({ url, kind }) => [url, kind])).toEqual([['a\ufffdb.png', 'url']]);
  });

  it('rejects a non-string with StaticHashError', () => {
    expect(() => scanStylesheet(42 as unknown as string)).toThrow(StaticHashError);
    expect(() => rewriteStylesheet('', 'a.css', 'nope' as never)).toThrow(StaticHashError);
  });
});
