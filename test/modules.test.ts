import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import xxhash from 'xxhash-wasm';
import {
  buildManifest, buildStatic, createStaticHasher, lexModule, parseManifest, writeManifest, StaticHashError, type StaticHasher, type StaticHasherOptions,
} from '../src/index';
import { makeFixture, recordingLogger, type Fixture } from './helpers/fixture';
import { codeOf } from './helpers/errors';

// The graph fixture: every kind of import the issue names, each in its own module.
const GRAPH: Record<string, string> = {
  'js/main.js': [
    "import { util } from './util.js';",
    "import { root } from '/static/js/root.js';",
    "import { html } from 'lit';",
    "export * from './star.js';",
    "export { named } from './named.js';",
    "const lazy = () => import('./lazy.js');",
    "const computed = (name) => import('./locales/' + name + '.js');",
    "import './cycle-a.js';",
    "import 'https://cdn.example.com/x.js';",
    "import data from './data.json' with { type: 'json' };",
    '',
  ].join('\n'),
  'js/util.js': 'export const util = 1;\n',
  'js/root.js': 'export const root = 1;\n',
  'js/star.js': 'export const star = 1;\n',
  'js/named.js': 'export const named = 1;\n',
  'js/lazy.js': "import { util } from './util.js';\nimport './lazy-only.js';\n",
  'js/lazy-only.js': 'export {};\n',
  'js/cycle-a.js': "import './cycle-b.js';\nexport const a = 1;\n",
  'js/cycle-b.js': "import './cycle-a.js';\nexport const b = 1;\n",
  'js/data.json': '{"a": 1}\n',
  'vendor/lit/index.js': "import { directive } from './directive.js';\nexport const html = 1;\n",
  'vendor/lit/directive.js': 'export const directive = 1;\n',
  // Faulty modules, each reached only from its own entry.
  'js/broken.js': "import './util.js';\nconst text = \"unterminated\n",
  'js/imports-missing.js': "import './nowhere.js';\n",
  'js/imports-outside.js': "import '../../../elsewhere/x.js';\n",
  'js/imports-unmapped.js': "import 'not-mapped';\n",
  'js/imports-broken.js': "import './broken.js';\n",
};

const MODULES = { imports: { lit: 'vendor/lit/index.js', 'lit/': 'vendor/lit/' } };

let h64: (bytes: Uint8Array) => bigint;
beforeAll(async () => {
  h64 = (await xxhash()).h64Raw;
});

/** A file's hash as in URLs, computed here from its bytes. */
function hashOf(fixture: Fixture, file: string): string {
  return h64(fs.readFileSync(fixture.path(file))).toString(16).padStart(16, '0').slice(0, 12);
}

const fixtures: Fixture[] = [];
const hashers: StaticHasher[] = [];
afterEach(async () => {
  await Promise.all(hashers.splice(0).map((hasher) => hasher.close()));
  for (const fixture of fixtures.splice(0)) fixture.cleanup();
});

async function setup(options: StaticHasherOptions = {}, files = GRAPH): Promise<{ fixture: Fixture; hasher: StaticHasher; logger: ReturnType<typeof recordingLogger> }> {
  const fixture = makeFixture(files);
  fixtures.push(fixture);
  const logger = recordingLogger();
  const hasher = await createStaticHasher({ root: fixture.dir, modules: MODULES, logger, ...options });
  hashers.push(hasher);
  return { fixture, hasher, logger };
}

describe('lexModule()', () => {
  it('lists static imports, export from, export * from and literal dynamic imports; counts computed ones', () => {
    expect(lexModule(GRAPH['js/main.js']!)).toEqual({
      imports: [
        { specifier: './util.js' }, { specifier: '/static/js/root.js' }, { specifier: 'lit' }, { specifier: './star.js' },
        { specifier: './named.js' }, { specifier: './lazy.js', dynamic: true }, { specifier: './cycle-a.js' },
        { specifier: 'https://cdn.example.com/x.js' }, { specifier: './data.json', type: 'json' },
      ],
      computed: 1,
    });
  });

  it('counts a template literal with substitutions as computed, and takes one without as a literal', () => {
    expect(lexModule('import(`./a/${x}.js`); import(`./b.js`);')).toEqual({ imports: [{ specifier: './b.js', dynamic: true }], computed: 1 });
  });

  it('ignores import.meta and strings or comments that look like imports', () => {
    expect(lexModule("const u = import.meta.url; // import './no.js'\nconst s = \"import './no.js'\";")).toEqual({ imports: [], computed: 0 });
  });

  it('reports a source the lexer refuses', () => {
    const lexed = lexModule(GRAPH['js/broken.js']!);
    expect(lexed.imports).toEqual([]);
    expect(lexed.error).toMatch(/Parse error/);
  });
});

describe('moduleGraph()', () => {
  it('walks relative, root-relative, bare, export * from, dynamic imports and a cycle; leaves full URLs alone', async () => {
    const { hasher, logger } = await setup();
    const graph = hasher.moduleGraph('js/main.js');
    const byPath = Object.fromEntries(graph.modules.map((module) => [module.path, module.static]));
    expect(byPath).toEqual({
      'js/main.js': true, 'js/util.js': true, 'js/root.js': true, 'vendor/lit/index.js': true, 'js/star.js': true, 'js/named.js': true,
      'js/cycle-a.js': true, 'js/cycle-b.js': true, 'js/data.json': true, 'vendor/lit/directive.js': true,
      // Reached only through import('./lazy.js'): mapped, not static.
      'js/lazy.js': false, 'js/lazy-only.js': false,
    });
    expect(graph.modules[0]!.path).toBe('js/main.js');
    expect(graph.modules.find((module) => module.path === 'js/data.json')!.type).toBe('json');
    // The cycle is walked once each way.
    expect(graph.modules.find((module) => module.path === 'js/cycle-b.js')!.imports.map((edge) => edge.path)).toEqual(['js/cycle-a.js']);
    // The computed import is reported and warned about, nothing else.
    expect(graph.unresolved.map((entry) => [entry.module, entry.reason])).toEqual([['js/main.js', 'computed']]);
    expect(logger.warnings).toEqual([expect.stringMatching(/"js\/main\.js" has 1 dynamic import computed at run time/)]);
  });

  it.each([
    ['js/broken.js', 'syntax', 'ERR_STATIC_MODULE', /"js\/broken\.js" does not parse/],
    ['js/imports-broken.js', 'syntax', 'ERR_STATIC_MODULE', /"js\/broken\.js" does not parse/],
    ['js/imports-missing.js', 'missing', 'ERR_STATIC_NOT_FOUND', /imports "\.\/nowhere\.js", which was not found/],
    ['js/imports-outside.js', 'outside', 'ERR_STATIC_UNSAFE_PATH', /resolves to \/elsewhere\/x\.js, outside the base URL "\/static\/"/],
    ['js/imports-unmapped.js', 'bare', 'ERR_STATIC_MODULE', /bare specifier "not-mapped" is not in the "modules.imports" option/],
    ['js/nothing-here.js', 'missing', 'ERR_STATIC_NOT_FOUND', /module "js\/nothing-here\.js" was not found/],
  ])('%s: reports %s, warns once per generation, throws %s under onMissing "throw"', async (entry, reason, code, message) => {
    const { hasher, logger } = await setup();
    const graph = hasher.moduleGraph(entry);
    expect(graph.unresolved).toEqual([expect.objectContaining({ reason, code })]);
    expect(logger.warnings).toEqual([expect.stringMatching(message)]);
    hasher.moduleGraph(entry);
    expect(logger.warnings).toHaveLength(1);
    hasher.invalidate();
    hasher.moduleGraph(entry);
    expect(logger.warnings).toHaveLength(2);

    const strict = await setup({ onMissing: 'throw' });
    expect(codeOf(() => strict.hasher.moduleGraph(entry))).toBe(code);
    expect(() => strict.hasher.moduleGraph(entry)).toThrow(message);
    const quiet = await setup({ onMissing: 'ignore' });
    expect(quiet.hasher.moduleGraph(entry).unresolved).toHaveLength(1);
    expect(quiet.logger.warnings).toEqual([]);
  });

  it('never throws for a computed specifier, even under onMissing "throw"', async () => {
    const { hasher } = await setup({ onMissing: 'throw' });
    expect(hasher.moduleGraph('js/main.js').unresolved.map((entry) => entry.reason)).toEqual(['computed']);
  });

  it('is cached per generation: the same frozen object until the generation moves', async () => {
    const { hasher } = await setup();
    const graph = hasher.moduleGraph('js/main.js');
    expect(hasher.moduleGraph('/js/main.js')).toBe(graph);
    expect(Object.isFrozen(graph.modules[0])).toBe(true);
    hasher.invalidate();
    const next = hasher.moduleGraph('js/main.js');
    expect(next).not.toBe(graph);
    expect(next.generation).toBe(graph.generation + 1);
  });

  it('rejects a bad entry before reading anything', async () => {
    const { hasher } = await setup();
    expect(codeOf(() => hasher.moduleGraph('../x.js'))).toBe('ERR_STATIC_UNSAFE_PATH');
    expect(codeOf(() => hasher.moduleGraph(undefined as unknown as string))).toBe('ERR_STATIC_INVALID_REFERENCE');
  });
});

describe('importMap()', () => {
  const STATIC_MODULES = ['js/main.js', 'js/util.js', 'js/root.js', 'js/star.js', 'js/named.js', 'js/lazy.js', 'js/lazy-only.js', 'js/cycle-a.js',
    'js/cycle-b.js', 'js/data.json', 'vendor/lit/index.js', 'vendor/lit/directive.js'];

  it('maps the unversioned URL of every module to its versioned URL (query style), bare names to theirs', async () => {
    const { fixture, hasher } = await setup();
    const map = hasher.importMap('js/main.js');
    const expected: Record<string, string> = {};
    for (const file of STATIC_MODULES) expected[`/static/${file}`] = `/static/${file}?v=${hashOf(fixture, file)}`;
    expected.lit = `/static/vendor/lit/index.js?v=${hashOf(fixture, 'vendor/lit/index.js')}`;
    expect(map).toEqual({ imports: expected });
    expect(Object.keys(map.imports)).toEqual(Object.keys(map.imports).sort());
  });

  it('puts the hash in the file name with urlStyle "filename"', async () => {
    const { fixture, hasher } = await setup({ urlStyle: 'filename' });
    const map = hasher.importMap(['js/main.js']);
    expect(map.imports['/static/js/util.js']).toBe(`/static/js/util.${hashOf(fixture, 'js/util.js')}.js`);
    expect(map.imports.lit).toBe(`/static/vendor/lit/index.${hashOf(fixture, 'vendor/lit/index.js')}.js`);
  });

  it('keys by absolute URLs under an absolute baseUrl, where root-relative imports start with its path', async () => {
    const files = { ...GRAPH, 'js/main.js': GRAPH['js/main.js']!.replace("'/static/js/root.js'", "'/assets/js/root.js'") };
    const { fixture, hasher } = await setup({ baseUrl: 'https://cdn.example.com/assets/' }, files);
    const map = hasher.importMap('js/main.js');
    expect(map.imports['https://cdn.example.com/assets/js/root.js']).toBe(`https://cdn.example.com/assets/js/root.js?v=${hashOf(fixture, 'js/root.js')}`);
    expect(Object.keys(map.imports).filter((key) => key !== 'lit').every((key) => key.startsWith('https://cdn.example.com/assets/'))).toBe(true);
    expect(Object.keys(map.imports)).toHaveLength(STATIC_MODULES.length + 1);
  });

  it('keys an import the way the browser spells its URL: spaces percent-encoded, parentheses as they are, a query kept', async () => {
    const { fixture, hasher } = await setup({}, {
      'js/main.js': "import './a b.js';\nimport './c(1).js';\nimport './util.js?x=1';\nimport 'lit/directive.js';\n",
      'js/a b.js': '', 'js/c(1).js': '', 'js/util.js': '', 'vendor/lit/index.js': '', 'vendor/lit/directive.js': '',
    });
    const { imports } = hasher.importMap('js/main.js');
    expect(imports['/static/js/a%20b.js']).toBe(`/static/js/a%20b.js?v=${hashOf(fixture, 'js/a b.js')}`);
    expect(imports['/static/js/c(1).js']).toBe(`/static/js/c%281%29.js?v=${hashOf(fixture, 'js/c(1).js')}`);
    expect(imports['/static/js/util.js?x=1']).toBe(`/static/js/util.js?x=1&v=${hashOf(fixture, 'js/util.js')}`);
    // A prefix entry of modules.imports: the subpath used gets its own exact key.
    expect(imports['lit/directive.js']).toBe(`/static/vendor/lit/directive.js?v=${hashOf(fixture, 'vendor/lit/directive.js')}`);
  });

  it('adds integrity values that are the sha384 of each module\'s bytes', async () => {
    const { fixture, hasher } = await setup();
    const map = hasher.importMap('js/main.js', { integrity: true });
    const urls = new Set(Object.values(map.imports));
    expect(Object.keys(map.integrity!).sort()).toEqual([...urls].sort());
    let checked = 0;
    for (const file of STATIC_MODULES) {
      const url = map.imports[`/static/${file}`]!;
      expect(map.integrity![url]).toBe(`sha384-${createHash('sha384').update(fs.readFileSync(fixture.path(file))).digest('base64')}`);
      checked++;
    }
    expect(checked).toBe(STATIC_MODULES.length);
  });

  it('after a leaf changes and the generation moves, only the leaf\'s URL changes', async () => {
    const { fixture, hasher } = await setup();
    const before = hasher.importMap('js/main.js').imports;
    fixture.write('vendor/lit/directive.js', 'export const directive = 2;\n');
    hasher.invalidate();
    const after = hasher.importMap('js/main.js').imports;
    const changed = Object.keys(after).filter((key) => after[key] !== before[key]);
    expect(changed).toEqual(['/static/vendor/lit/directive.js']);
    expect(after['/static/vendor/lit/directive.js']).toBe(`/static/vendor/lit/directive.js?v=${hashOf(fixture, 'vendor/lit/directive.js')}`);
    expect(Object.keys(after)).toEqual(Object.keys(before));
  });

  it('merges several entries and rejects bad arguments', async () => {
    const { hasher } = await setup();
    expect(Object.keys(hasher.importMap(['js/lazy.js', 'js/root.js']).imports)).toEqual(
      expect.arrayContaining(['/static/js/lazy.js', '/static/js/util.js', '/static/js/root.js']),
    );
    expect(codeOf(() => hasher.importMap([]))).toBe('ERR_STATIC_INVALID_REFERENCE');
    expect(codeOf(() => hasher.importMap('js/main.js', { integrity: 'yes' as unknown as boolean }))).toBe('ERR_STATIC_INVALID_OPTION');
    expect(codeOf(() => hasher.importMap('js/main.js', { integrty: true } as never))).toBe('ERR_STATIC_INVALID_OPTION');
  });
});

describe('the modules option', () => {
  it.each([
    [{ imports: { './x': 'a.js' } }, /bare specifiers/],
    [{ imports: { 'https://x.example/': 'a/' } }, /bare specifiers/],
    [{ imports: { lit: '' } }, /modules\.imports\["lit"\]/],
    [{ imports: { 'lit/': 'vendor/lit/index.js' } }, /ending in "\/"/],
    [{ imports: { lit: '../outside.js' } }, /safe reference/],
    [{ import: {} }, /unknown modules option "import"; did you mean "imports"/],
    ['lit', /"modules" must be an object/],
  ])('rejects %j', async (modules, message) => {
    const fixture = makeFixture({ 'a.js': '' });
    fixtures.push(fixture);
    await expect(createStaticHasher({ root: fixture.dir, modules: modules as never })).rejects.toThrow(message);
    await expect(createStaticHasher({ root: fixture.dir, modules: modules as never })).rejects.toBeInstanceOf(StaticHashError);
  });
});

describe('a file named .js that is not UTF-8 text', () => {
  // A binary file under a .js name (random bytes, a Latin-1 byte sequence that is not UTF-8), beside
  // a real module whose import specifier is non-ASCII UTF-8.
  const binary = Buffer.from([0x69, 0x6d, 0x70, 0x6f, 0x72, 0x74, 0x20, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0x81]);
  const files = { 'js/binary.js': binary, 'js/caf\u00e9.js': 'export const x = 1;\n', 'js/text.js': "import './caf\u00e9.js';\nimport './binary.js';\n" };

  it('is not lexed: it does not parse, live and in a manifest alike; UTF-8 text with non-ASCII is lexed', async () => {
    const { hasher, logger } = await setup({}, files as never);
    const graph = hasher.moduleGraph('js/text.js');
    expect(graph.modules.map((module) => module.path).sort()).toEqual(['js/binary.js', 'js/caf\u00e9.js', 'js/text.js']);
    expect(graph.unresolved).toEqual([expect.objectContaining({ module: 'js/binary.js', reason: 'syntax', code: 'ERR_STATIC_MODULE' })]);
    expect(logger.warnings).toEqual([expect.stringMatching(/"js\/binary\.js" does not parse/)]);
    const fixture = makeFixture(files);
    fixtures.push(fixture);
    const { manifest } = await buildManifest({ root: fixture.dir, logger: recordingLogger() });
    expect(manifest.modules!['js/binary.js']).toEqual({ imports: [], computed: 0, error: 'not UTF-8 text (module scripts are decoded as UTF-8)' });
    expect(manifest.modules!['js/text.js']).toEqual(lexModule(files['js/text.js']));
    expect(manifest.modules!['js/text.js']!.imports.map((entry) => entry.specifier)).toEqual(['./caf\u00e9.js', './binary.js']);
  });
});

describe('module graphs from a manifest', () => {
  it('records each module\'s imports, and importMap() then reads no module file', async () => {
    const fixture = makeFixture(GRAPH);
    fixtures.push(fixture);
    const { manifest } = await buildManifest({ root: fixture.dir });
    expect(manifest.modules!['js/main.js']).toEqual(lexModule(GRAPH['js/main.js']!));
    expect(manifest.modules!['js/util.js']).toBeUndefined(); // imports nothing
    expect(manifest.modules!['js/broken.js']!.error).toMatch(/Parse error/);
    const manifestFile = fixture.path('../manifest-' + process.pid + '.json');
    writeManifest(manifestFile, manifest);
    try {
      const live = await createStaticHasher({ root: fixture.dir, modules: MODULES, logger: recordingLogger() });
      hashers.push(live);
      const expected = live.importMap('js/main.js');
      const fromManifest = await createStaticHasher({ root: fixture.dir, modules: MODULES, manifest: manifestFile, logger: recordingLogger() });
      hashers.push(fromManifest);
      // Every module file rewritten to import something else: a graph read from the files would change.
      let rewritten = 0;
      for (const file of Object.keys(GRAPH)) {
        fs.writeFileSync(fixture.path(file), "import './poison.js';\n");
        rewritten++;
      }
      expect(rewritten).toBe(Object.keys(GRAPH).length);
      expect(live.importMap('js/main.js')).toEqual(expected); // same generation: cached
      live.invalidate();
      expect(live.importMap('js/main.js')).not.toEqual(expected); // the control: reading the files now differs
      expect(fromManifest.importMap('js/main.js')).toEqual(expected);
    } finally {
      fs.rmSync(manifestFile, { force: true });
    }
  });
});

describe('static-hash build', () => {
  it('records each module\'s imports in the manifest it writes; a hasher over the output serves the same map without reading a module', async () => {
    const fixture = makeFixture(Object.fromEntries(Object.entries(GRAPH).map(([name, text]) => [`public/${name}`, text])));
    fixtures.push(fixture);
    const out = fixture.path('out');
    const { manifest, manifestFile } = await buildStatic({ root: fixture.path('public'), out, compress: [] });
    expect(manifest.modules!['js/main.js']).toEqual(lexModule(GRAPH['js/main.js']!));
    const live = await createStaticHasher({ root: fixture.path('public'), modules: MODULES, logger: recordingLogger() });
    hashers.push(live);
    const served = await createStaticHasher({ root: out, modules: MODULES, manifest: manifestFile!, logger: recordingLogger() });
    hashers.push(served);
    for (const file of Object.keys(GRAPH)) fs.writeFileSync(path.join(out, file), "import './poison.js';\n");
    expect(served.importMap('js/main.js')).toEqual(live.importMap('js/main.js'));
  });
});

describe('a manifest\'s "modules" section', () => {
  const base = { format: 1, generator: 'static-hash', options: { hashLength: 4, baseUrl: '/static/', urlStyle: 'query', param: 'v', css: true }, files: { 'a.js': 'abcd' } };
  it.each([
    [{ 'a.js': { imports: 'x' } }, /modules\["a\.js"\] to be \{ imports/],
    [{ 'a.js': { imports: [{ specifier: 1 }] } }, /imports\[0\] to be \{ specifier/],
    [{ 'a.js': { imports: [], computed: -1 } }, /computed to be a count/],
    [{ 'b.js': { imports: [] } }, /modules\["b\.js"\] has no entry in "files"/],
    [[], /"modules" to be an object/],
  ])('refuses %j with ERR_STATIC_MANIFEST', (modules, message) => {
    const text = JSON.stringify({ ...base, modules });
    expect(codeOf(() => parseManifest(text, 'm.json'))).toBe('ERR_STATIC_MANIFEST');
    expect(() => parseManifest(text, 'm.json')).toThrow(message);
  });

  it('reads a valid one back as written', () => {
    const modules = { 'a.js': { imports: [{ specifier: './b.js' }, { specifier: './c.json', type: 'json' }, { specifier: './d.js', dynamic: true }], computed: 2 } };
    expect(parseManifest(JSON.stringify({ ...base, modules }), 'm.json').modules!.get('a.js')).toEqual(modules['a.js']);
  });
});

