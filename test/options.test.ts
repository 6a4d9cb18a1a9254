import fs from 'node:fs';
import path from 'node:path';
import { createStaticHasher, MemoryGenerationStore, normalizeOptions, StaticHashError, type StaticHasherOptions } from '../src/index';
import { rejectUnknownKeys } from '../src/internal';
import { makeFixture, type Fixture } from './helpers/fixture';

let fixture: Fixture;
beforeEach(() => {
  fixture = makeFixture({ 'a.js': 'a', 'file.txt': 'not a directory' });
});
afterEach(() => fixture.cleanup());

/** The StaticHashError that normalizeOptions throws for `options`. */
function rejection(options: unknown): StaticHashError {
  try {
    normalizeOptions(options as StaticHasherOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(StaticHashError);
    expect((error as StaticHashError).code).toBe('ERR_STATIC_INVALID_OPTION');
    return error as StaticHashError;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be rejected`);
}

describe('normalizeOptions() defaults', () => {
  it('fills in every default of DESIGN.md', () => {
    const options = normalizeOptions({ root: fixture.dir });
    expect(options).toEqual({
      roots: [{ dir: fixture.dir, realDir: fs.realpathSync(fixture.dir), prefix: '' }],
      baseUrl: '/static/',
      hashLength: 12,
      urlStyle: 'query',
      param: 'v',
      onMissing: 'warn',
      maxEntries: 10_000,
      maxBytes: 64 * 1024 * 1024,
      maxFileBytes: 1024 * 1024,
      watch: false,
      css: true,
      cssIgnore: [],
      manifest: undefined,
      version: undefined,
      logger: console,
      generation: undefined,
      modules: { exact: new Map(), prefixes: [] },
    });
  });

  it('resolves a relative root against the working directory', () => {
    const relative = path.relative(process.cwd(), fixture.dir);
    expect(normalizeOptions({ root: relative }).roots[0]!.dir).toBe(fixture.dir);
  });

  it('fills in watch defaults for watch: true', () => {
    expect(normalizeOptions({ root: fixture.dir, watch: true }).watch).toEqual({ debounceMs: 5, ignored: [], usePolling: false, interval: 100 });
  });

  it('accepts the edges of every range', () => {
    expect(normalizeOptions({ root: fixture.dir, hashLength: 4 }).hashLength).toBe(4);
    expect(normalizeOptions({ root: fixture.dir, hashLength: 16 }).hashLength).toBe(16);
    expect(normalizeOptions({ root: fixture.dir, param: '' }).param).toBe('');
    expect(normalizeOptions({ root: fixture.dir, cache: { maxEntries: 1 } }).maxEntries).toBe(1);
    expect(normalizeOptions({ root: fixture.dir, watch: { debounceMs: 0 } }).watch).toMatchObject({ debounceMs: 0 });
  });

  it('normalises baseUrl and prefixes', () => {
    expect(normalizeOptions({ root: fixture.dir, baseUrl: '/assets' }).baseUrl).toBe('/assets/');
    expect(normalizeOptions({ root: fixture.dir, baseUrl: 'HTTPS://cdn.example.com' }).baseUrl).toBe('HTTPS://cdn.example.com/');
    expect(normalizeOptions({ root: fixture.dir, baseUrl: '/a%20b/' }).baseUrl).toBe('/a%20b/');
    const roots = normalizeOptions({ roots: [{ dir: fixture.dir, prefix: '/vendor//' }, { dir: fixture.dir, prefix: '/' }] }).roots;
    expect(roots.map((root) => root.prefix)).toEqual(['vendor/', '']);
  });

  it('keeps roots with equal prefixes in the order given', () => {
    const other = makeFixture();
    try {
      const roots = normalizeOptions({ roots: [{ dir: other.dir }, { dir: fixture.dir }, { dir: other.dir, prefix: 'x' }] }).roots;
      expect(roots.map((root) => [root.dir, root.prefix])).toEqual([[other.dir, 'x/'], [other.dir, ''], [fixture.dir, '']]);
    } finally {
      other.cleanup();
    }
  });

  it('accepts a GenerationStore, a custom logger and watch options', () => {
    const generation = new MemoryGenerationStore();
    const logger = { warn: () => {} };
    const ignored = /node_modules/;
    const options = normalizeOptions({ root: fixture.dir, generation, logger, watch: { ignored, usePolling: true, interval: 50 } });
    expect(options.generation).toBe(generation);
    expect(options.logger).toBe(logger);
    expect(options.watch).toEqual({ debounceMs: 5, ignored: [ignored], usePolling: true, interval: 50 });
  });
});

describe('invalid options', () => {
  // [description, options, the option the error must name]
  const cases: Array<[string, () => unknown, string]> = [
    ['options not an object', () => 'public', 'options'],
    ['options null', () => null, 'options'],
    ['options an array', () => [], 'options'],
    ['root missing on disk', () => ({ root: path.join(fixture.dir, 'nope') }), 'root'],
    ['root a file', () => ({ root: fixture.path('file.txt') }), 'root'],
    ['root empty', () => ({ root: '' }), 'root'],
    ['root a number', () => ({ root: 5 }), 'root'],
    ['root null', () => ({ root: null }), 'root'],
    ['root and roots together', () => ({ root: fixture.dir, roots: [{ dir: fixture.dir }] }), 'roots'],
    ['roots empty', () => ({ roots: [] }), 'roots'],
    ['roots not an array', () => ({ roots: { dir: fixture.dir } }), 'roots'],
    ['roots entry a string', () => ({ roots: [fixture.dir] }), 'roots[0]'],
    ['roots entry without dir', () => ({ roots: [{ prefix: 'x/' }] }), 'roots[0].dir'],
    ['roots entry missing dir', () => ({ roots: [{ dir: fixture.dir }, { dir: path.join(fixture.dir, 'nope') }] }), 'roots[1].dir'],
    ['roots entry unknown key', () => ({ roots: [{ dir: fixture.dir, prefx: 'x/' }] }), 'prefx'],
    ['prefix with ..', () => ({ roots: [{ dir: fixture.dir, prefix: '../x/' }] }), 'roots[0].prefix'],
    ['prefix with a backslash', () => ({ roots: [{ dir: fixture.dir, prefix: 'a\\b' }] }), 'roots[0].prefix'],
    ['prefix with ?', () => ({ roots: [{ dir: fixture.dir, prefix: 'a?b' }] }), 'roots[0].prefix'],
    ['prefix with %', () => ({ roots: [{ dir: fixture.dir, prefix: '%2e/' }] }), 'roots[0].prefix'],
    ['prefix with a colon', () => ({ roots: [{ dir: fixture.dir, prefix: 'c:/' }] }), 'roots[0].prefix'],
    ['prefix a number', () => ({ roots: [{ dir: fixture.dir, prefix: 3 }] }), 'roots[0].prefix'],
    ['baseUrl empty', () => ({ root: fixture.dir, baseUrl: '' }), 'baseUrl'],
    ['baseUrl relative', () => ({ root: fixture.dir, baseUrl: 'static/' }), 'baseUrl'],
    ['baseUrl another scheme', () => ({ root: fixture.dir, baseUrl: 'ftp://example.com/' }), 'baseUrl'],
    ['baseUrl with a space', () => ({ root: fixture.dir, baseUrl: '/a b/' }), 'baseUrl'],
    ['baseUrl with a quote', () => ({ root: fixture.dir, baseUrl: '/a"b/' }), 'baseUrl'],
    ['baseUrl with a query', () => ({ root: fixture.dir, baseUrl: '/s?x=1' }), 'baseUrl'],
    ['baseUrl with a fragment', () => ({ root: fixture.dir, baseUrl: '/s#f' }), 'baseUrl'],
    ['baseUrl with a broken escape', () => ({ root: fixture.dir, baseUrl: '/%zz/' }), 'baseUrl'],
    ['baseUrl a number', () => ({ root: fixture.dir, baseUrl: 5 }), 'baseUrl'],
    ['hashLength 3', () => ({ root: fixture.dir, hashLength: 3 }), 'hashLength'],
    ['hashLength 17', () => ({ root: fixture.dir, hashLength: 17 }), 'hashLength'],
    ['hashLength 4.5', () => ({ root: fixture.dir, hashLength: 4.5 }), 'hashLength'],
    ['hashLength a string', () => ({ root: fixture.dir, hashLength: '8' }), 'hashLength'],
    ['hashLength NaN', () => ({ root: fixture.dir, hashLength: Number.NaN }), 'hashLength'],
    ['hashLength Infinity', () => ({ root: fixture.dir, hashLength: Infinity }), 'hashLength'],
    ['urlStyle unknown', () => ({ root: fixture.dir, urlStyle: 'path' }), 'urlStyle'],
    ['param with a space', () => ({ root: fixture.dir, param: 'a b' }), 'param'],
    ['param with =', () => ({ root: fixture.dir, param: 'v=' }), 'param'],
    ['param with &', () => ({ root: fixture.dir, param: '&' }), 'param'],
    ['param a number', () => ({ root: fixture.dir, param: 5 }), 'param'],
    ['onMissing unknown', () => ({ root: fixture.dir, onMissing: 'error' }), 'onMissing'],
    ['cache a number', () => ({ root: fixture.dir, cache: 100 }), 'cache'],
    ['cache unknown key', () => ({ root: fixture.dir, cache: { max: 100 } }), 'max'],
    ['cache.maxEntries 0', () => ({ root: fixture.dir, cache: { maxEntries: 0 } }), 'cache.maxEntries'],
    ['cache.maxEntries -1', () => ({ root: fixture.dir, cache: { maxEntries: -1 } }), 'cache.maxEntries'],
    ['cache.maxEntries 1.5', () => ({ root: fixture.dir, cache: { maxEntries: 1.5 } }), 'cache.maxEntries'],
    ['cache.maxEntries a string', () => ({ root: fixture.dir, cache: { maxEntries: '100' } }), 'cache.maxEntries'],
    ['watch a string', () => ({ root: fixture.dir, watch: 'yes' }), 'watch'],
    ['watch unknown key', () => ({ root: fixture.dir, watch: { debounce: 5 } }), 'debounce'],
    ['watch.ignored a glob', () => ({ root: fixture.dir, watch: { ignored: '**/*.tmp' } }), 'watch.ignored'],
    ['watch.usePolling a string', () => ({ root: fixture.dir, watch: { usePolling: 'yes' } }), 'watch.usePolling'],
    ['watch.debounceMs negative', () => ({ root: fixture.dir, watch: { debounceMs: -1 } }), 'watch.debounceMs'],
    ['watch.interval 0', () => ({ root: fixture.dir, watch: { interval: 0 } }), 'watch.interval'],
    ['logger without warn', () => ({ root: fixture.dir, logger: {} }), 'logger'],
    ['logger.warn not a function', () => ({ root: fixture.dir, logger: { warn: 'x' } }), 'logger'],
    ['logger null', () => ({ root: fixture.dir, logger: null }), 'logger'],
    ['param null', () => ({ root: fixture.dir, param: null }), 'param'],
    ['cache null', () => ({ root: fixture.dir, cache: null }), 'cache'],
    ['roots null', () => ({ roots: null }), 'roots'],
    ['baseUrl null', () => ({ root: fixture.dir, baseUrl: null }), 'baseUrl'],
    ['hashLength null', () => ({ root: fixture.dir, hashLength: null }), 'hashLength'],
    ['urlStyle null', () => ({ root: fixture.dir, urlStyle: null }), 'urlStyle'],
    ['onMissing null', () => ({ root: fixture.dir, onMissing: null }), 'onMissing'],
    ['watch null', () => ({ root: fixture.dir, watch: null }), 'watch'],
    ['watch.ignored null', () => ({ root: fixture.dir, watch: { ignored: null } }), 'watch.ignored'],
    ['generation null', () => ({ root: fixture.dir, generation: null }), 'generation'],
    ['prefix null', () => ({ roots: [{ dir: fixture.dir, prefix: null }] }), 'roots[0].prefix'],
    ['generation not a store', () => ({ root: fixture.dir, generation: 3 }), 'generation'],
    ['generation without subscribe', () => ({ root: fixture.dir, generation: { current: 0, fresh: true, bump: () => 1 } }), 'generation'],
  ];

  it.each(cases)('%s: ERR_STATIC_INVALID_OPTION naming %#', (_name, makeOptions, option) => {
    const error = rejection(makeOptions());
    expect(error.option).toBe(option);
    expect(error.message).toContain(`"${option}"`);
    expect(error.message).toMatch(/must be|unknown/);
    expect(error.status).toBeUndefined();
  });

  it.each(cases)('%s: createStaticHasher() rejects at construction', async (_name, makeOptions, option) => {
    await expect(createStaticHasher(makeOptions() as StaticHasherOptions)).rejects.toMatchObject({ code: 'ERR_STATIC_INVALID_OPTION', option });
  });

  it('says what it got', () => {
    expect(rejection({ root: fixture.dir, hashLength: 20 }).message).toBe('static-hash: option "hashLength" must be an integer from 4 to 16; got number 20');
    expect(rejection({ root: fixture.dir, urlStyle: 'path' }).message).toBe('static-hash: option "urlStyle" must be one of "query", "filename"; got "path"');
    expect(rejection({ root: fixture.dir, hashLength: 3 }).value).toBe(3);
  });
});

describe('unknown options', () => {
  it.each([
    ['hashLenght', 'hashLength'],
    ['baseURL', 'baseUrl'],
    ['onmissing', 'onMissing'],
    ['watchh', 'watch'],
    ['urlstyle', 'urlStyle'],
    ['generations', 'generation'],
  ])('%s suggests %s', (key, closest) => {
    const error = rejection({ root: fixture.dir, [key]: 1 });
    expect(error.option).toBe(key);
    expect(error.message).toContain(`unknown option "${key}"; did you mean "${closest}"?`);
  });

  it('suggests nothing for a key close to no option, and lists the known ones', () => {
    const error = rejection({ root: fixture.dir, somethingElse: 1 });
    expect(error.message).not.toContain('did you mean');
    expect(error.message).toContain('known: root, roots, baseUrl');
  });

  it('rejectUnknownKeys() is usable by adapters with their own keys', () => {
    expect(() => rejectUnknownKeys({ tag: 'x' }, ['tags', 'name'], 'nunjucks option')).toThrow('unknown nunjucks option "tag"; did you mean "tags"?');
    expect(() => rejectUnknownKeys({ tags: 'x' }, ['tags'])).not.toThrow();
  });
});
