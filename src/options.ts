import fs from 'node:fs';
import path from 'node:path';
import { StaticHashError, describeValue, invalidOption } from './errors.js';
import type { GenerationStore } from './generation.js';
import { parseReference } from './resolve.js';

/**
 * Below this many listed files, a walk (`warm()`, `buildManifest()`) stays on its own thread and
 * does not even load the pool's code (src/pool.ts). Measured on the development
 * machine: a worker is ready with xxhash-wasm after about 35 ms (W), during which it takes CPU from
 * the calling thread, and one thread digests the benchmark tree's files (42 KiB on average) at about
 * 20 µs each. n threads pay off when the digest work D exceeds W·n/(n-1): about 3,500 such files
 * for 2 threads, 2,000 for 8 (docs/performance.md, "Worker threads").
 */
export const POOL_MIN_FILES = 4096;

/** Where warnings go. `console` fits; so does a pino or winston logger. */
export interface Logger {
  warn(message: string): void;
  info?(message: string): void;
  error?(message: string): void;
}

/** One directory of static files, optionally mounted under a reference prefix. */
export interface RootOption {
  /** The directory, absolute or relative to `process.cwd()`. Must exist. */
  dir: string;
  /**
   * References starting with this prefix are looked up in `dir` with the prefix removed.
   * @default '' (every reference)
   */
  prefix?: string;
}

/** Options of the file watcher (`watch: { … }`). */
export interface WatchOptions {
  /**
   * Events closer together than this form one burst: the generation moves at the burst's first
   * event and once more after its last, and nothing is cached while the burst lasts.
   * @default 5
   */
  debounceMs?: number;
  /**
   * Paths to ignore: globs are not supported, use a RegExp or a function `(path) => boolean`. They are
   * tested against absolute paths under each root's real path (symlinks resolved).
   */
  ignored?: RegExp | ((file: string) => boolean) | Array<RegExp | ((file: string) => boolean)>;
  /**
   * Poll instead of using native events (network filesystems, some container bind mounts). Costs
   * CPU in proportion to the number of files: every file is stat()ed every `interval`.
   * @default false
   */
  usePolling?: boolean;
  /**
   * Polling interval in ms when `usePolling` is on.
   * @default 100
   */
  interval?: number;
}

/**
 * A reference in a stylesheet to leave as written (see the `cssIgnore` option): a RegExp or a string
 * prefix, tested against the reference as written and against the path it resolves to under the
 * roots, or a function given the reference as written and the stylesheet's path.
 */
export type CssIgnorePattern = RegExp | string | ((reference: string, stylesheet: string) => boolean);

/** The long form of the `manifest` option. */
export interface ManifestOption {
  /** The manifest file written by `static-hash manifest`, absolute or relative to `process.cwd()`. */
  path: string;
  /**
   * What a reference the manifest does not list does: `'onMissing'` applies the `onMissing` policy
   * without touching the disk; `'live'` hashes the file as a hasher without a manifest would.
   * @default 'onMissing'
   */
  fallback?: 'onMissing' | 'live';
}

/** The `modules` option: how ES-module graphs resolve (see docs/modules.md). */
export interface ModulesOption {
  /**
   * Bare specifiers to references under the roots, as in an import map: an exact name
   * (`lit: 'vendor/lit/index.js'`), or a prefix ending in '/' for a package's other files
   * (`'lit/': 'vendor/lit/'`). A root mounted on `node_modules/lit` under the prefix `vendor/lit/`
   * serves an npm package to the browser without a bundler.
   * @default {}
   */
  imports?: Record<string, string>;
}

/** Options of {@link createStaticHasher}. Every option is optional. */
export interface StaticHasherOptions {
  /**
   * The directory of static files. Use `roots` for several.
   * @default 'public'
   */
  root?: string;
  /** Several directories, each optionally under a prefix; a reference is looked up under the longest matching prefix first. */
  roots?: RootOption[];
  /**
   * Prepended to every URL. A path (`/static/`) or an absolute URL (`https://cdn.example.com/assets/`).
   * A missing trailing slash is added.
   * @default '/static/'
   */
  baseUrl?: string;
  /**
   * How many hex characters of the xxHash64 digest go into URLs, 4 to 16.
   * @default 12
   */
  hashLength?: number;
  /**
   * `'query'` gives `app.js?v=HASH`; `'filename'` gives `app.HASH.js`.
   * @default 'query'
   */
  urlStyle?: 'query' | 'filename';
  /**
   * The query parameter carrying the hash; `''` gives `app.js?HASH`.
   * @default 'v'
   */
  param?: string;
  /**
   * What a reference to a missing file does: `'warn'` returns the plain URL and warns once per
   * reference and generation, `'throw'` throws `ERR_STATIC_NOT_FOUND`, `'ignore'` returns the plain URL.
   * @default 'warn'
   */
  onMissing?: 'warn' | 'throw' | 'ignore';
  /** Bounds of the hash cache. The generation is never part of it and never evicted. */
  cache?: {
    /**
     * At most this many hashes are kept (least recently used go first).
     * @default 10000
     */
    maxEntries?: number;
    /**
     * Total bytes of file contents a server keeps in memory to answer from (the exact bytes that
     * were hashed, so a version is never served with other bytes): see docs/serving.md. Files that
     * do not fit are streamed from a descriptor checked against the one that was hashed.
     * @default 67108864 (64 MiB)
     */
    maxBytes?: number;
    /**
     * Files up to this size are kept in memory when served; larger ones are always streamed.
     * @default 1048576 (1 MiB)
     */
    maxFileBytes?: number;
  };
  /**
   * Threads `warm()` and `buildManifest()` read and hash files on: the calling thread plus
   * `threads - 1` worker threads, started for the call (below 4,096 files to read, the call stays on
   * its own thread). `1`: the calling thread only. Stylesheets (with `css`) are always hashed on the
   * calling thread, after the other files.
   * @default os.availableParallelism()
   */
  threads?: number;
  /**
   * `true` or watcher options: a chokidar watcher on every root moves the generation on any change.
   * @default false
   */
  watch?: boolean | WatchOptions;
  /**
   * Where warnings go.
   * @default console
   */
  logger?: Logger;
  /**
   * Holds the generation. Default: in memory, per hasher. `redisGenerationStore()` from
   * `static-hash/redis` shares it between processes.
   * @default undefined (a new MemoryGenerationStore)
   */
  generation?: GenerationStore;
  /**
   * Rewrite the relative and root-relative references of `.css` files (`url()`, `@import`,
   * `image-set()`, `sourceMappingURL`) to their hashed URLs, and hash a stylesheet over the rewritten
   * text, so a stylesheet's URL changes when anything it references changes. See docs/css.md.
   * @default true
   */
  css?: boolean;
  /**
   * References in stylesheets to leave as written, e.g. `[/^fonts\//, 'legacy/']`.
   * @default []
   */
  cssIgnore?: CssIgnorePattern | CssIgnorePattern[];
  /**
   * A manifest file from `static-hash manifest` (or `{ path, fallback }`): hashes come from it and
   * lookups read no file. It is read and checked once, in {@link createStaticHasher}; a corrupt
   * manifest, or one built with other `hashLength`, `baseUrl`, `urlStyle`, `param` or `css`, fails
   * there with `ERR_STATIC_MANIFEST`. Not combinable with `version`.
   * @default undefined (hash files live)
   */
  manifest?: string | ManifestOption;
  /**
   * One release version for every URL instead of per-file hashes: `'1.4.2'` gives `app.js?v=1.4.2`
   * (or `app.1.4.2.js`) with no file read. `'git'` uses the first `hashLength` characters of the
   * commit checked out in the (first) root's directory, read once with `git rev-parse HEAD` at startup.
   * Letters, digits, `.`, `_`, `~` and `-` only, 1 to 128 characters. Not combinable with `manifest`.
   * @default undefined (per-file content hashes)
   */
  version?: string;
  /**
   * How module graphs (`moduleGraph()`, `importMap()`, `{% static_importmap %}`) resolve bare specifiers.
   * @default { imports: {} }
   */
  modules?: ModulesOption;
}

export interface NormalizedModulesOptions {
  /** Exact bare names -> canonical reference. */
  exact: Map<string, string>;
  /** Prefixes ending in '/' -> reference prefix ending in '/', longest first. */
  prefixes: Array<[prefix: string, target: string]>;
}

export interface NormalizedManifestOption {
  /** Absolute path of the manifest file. */
  path: string;
  fallback: 'onMissing' | 'live';
}

export interface NormalizedRoot {
  /** The directory as resolved from the option (absolute). */
  dir: string;
  /** Its real path (symlinks resolved) at construction: files must stay inside it. */
  realDir: string;
  /** '' or a prefix ending in '/', without a leading slash. */
  prefix: string;
}

export interface NormalizedWatchOptions {
  debounceMs: number;
  ignored: Array<RegExp | ((file: string) => boolean)>;
  usePolling: boolean;
  interval: number;
}

export interface NormalizedOptions {
  /** Sorted by prefix length, longest first; equal prefixes keep the order given. */
  roots: NormalizedRoot[];
  baseUrl: string;
  hashLength: number;
  urlStyle: 'query' | 'filename';
  param: string;
  onMissing: 'warn' | 'throw' | 'ignore';
  maxEntries: number;
  /** `cache.maxBytes`: bytes of file contents kept in memory for serving. */
  maxBytes: number;
  /** `cache.maxFileBytes`: files up to this size are served from memory. */
  maxFileBytes: number;
  /** undefined: os.availableParallelism(), read when a walk asks. */
  threads: number | undefined;
  watch: NormalizedWatchOptions | false;
  logger: Logger;
  generation: GenerationStore | undefined;
  css: boolean;
  cssIgnore: CssIgnorePattern[];
  manifest: NormalizedManifestOption | undefined;
  /** A release version, or 'git' until {@link createStaticHasher} has read the commit. */
  version: string | undefined;
  modules: NormalizedModulesOptions;
}

/** Every default in one place. */
const DEFAULTS = {
  root: 'public',
  baseUrl: '/static/',
  hashLength: 12,
  urlStyle: 'query',
  param: 'v',
  onMissing: 'warn',
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  maxFileBytes: 1024 * 1024,
  watch: { debounceMs: 5, usePolling: false, interval: 100 },
  // On by default, against habit 2 (booleans default to false): a stylesheet whose URL does not move
  // when its images do is the stale-asset bug this package exists to prevent.
  css: true,
  manifestFallback: 'onMissing',
  // No bare specifiers: a module graph follows relative and root-relative imports only.
  modules: { imports: {} },
} as const;

const OPTION_NAMES = [
  'root', 'roots', 'baseUrl', 'hashLength', 'urlStyle', 'param', 'onMissing', 'cache', 'threads', 'watch', 'logger', 'generation', 'css', 'cssIgnore',
  'manifest', 'version', 'modules',
] as const;

/** Characters allowed in a base URL or a query parameter name without escaping. */
const URL_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const PARAM_SAFE = /^[A-Za-z0-9\-._~]*$/;
// RFC 3986 unreserved characters: a version needs no escaping in a query or a file name.
const VERSION_SAFE = /^[A-Za-z0-9\-._~]{1,128}$/;

function fail(option: string, expected: string, value: unknown): never {
  invalidOption('static-hash', option, expected, value);
}

/** Levenshtein distance, for "did you mean" hints (options here, flags in the CLI). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/**
 * Throws `ERR_STATIC_INVALID_OPTION` for a key of `object` that is not in `known`, naming the closest
 * known key. The adapters validate their own options the same way, through src/internal.ts.
 */
export function rejectUnknownKeys(object: object, known: readonly string[], where = 'option'): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    let closest = known[0]!;
    for (const candidate of known) if (editDistance(key, candidate) < editDistance(key, closest)) closest = candidate;
    const hint = editDistance(key, closest) <= Math.max(2, Math.floor(closest.length / 3)) ? `; did you mean "${closest}"?` : '';
    throw new StaticHashError(
      'ERR_STATIC_INVALID_OPTION',
      `static-hash: unknown ${where} "${key}"${hint} (known: ${known.join(', ')})`,
      { option: key, value: (object as Record<string, unknown>)[key] },
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function normalizePrefix(prefix: unknown, option: string): string {
  if (prefix === undefined || prefix === '' || prefix === '/') return '';
  if (typeof prefix !== 'string') fail(option, 'a string such as "vendor/"', prefix);
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/*$/, '/');
  const segments = trimmed.slice(0, -1).split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..') || /[\\\0?#%:]/.test(trimmed)) {
    fail(option, 'a plain relative path such as "vendor/" (no "..", "\\", "?", "#", "%", ":")', prefix);
  }
  return trimmed;
}

function normalizeRoot(dir: unknown, prefix: unknown, option: string, prefixOption = `${option}.prefix`): NormalizedRoot {
  if (typeof dir !== 'string' || dir === '') fail(option, 'a directory path (non-empty string)', dir);
  const absolute = path.resolve(dir);
  let realDir: string;
  try {
    realDir = fs.realpathSync.native(absolute);
  } catch {
    fail(option, `an existing directory (resolved to ${absolute})`, dir);
  }
  if (!fs.statSync(realDir).isDirectory()) fail(option, `a directory, not a file (${absolute})`, dir);
  return { dir: absolute, realDir, prefix: normalizePrefix(prefix, prefixOption) };
}

function normalizeRoots(options: StaticHasherOptions): NormalizedRoot[] {
  if (options.roots !== undefined && options.root !== undefined) {
    fail('roots', 'given alone: "root" and "roots" are exclusive', options.roots);
  }
  if (options.roots === undefined) return [normalizeRoot(options.root === undefined ? DEFAULTS.root : options.root, '', 'root')];
  if (!Array.isArray(options.roots) || options.roots.length === 0) {
    fail('roots', 'a non-empty array of { dir, prefix? }', options.roots);
  }
  const roots = options.roots.map((entry, index) => {
    const option = `roots[${index}]`;
    if (!isPlainObject(entry)) fail(option, 'an object { dir, prefix? }', entry);
    rejectUnknownKeys(entry, ['dir', 'prefix'], `${option} key`);
    return normalizeRoot(entry.dir, entry.prefix, `${option}.dir`, `${option}.prefix`);
  });
  // Array.prototype.sort is stable: roots with equal prefixes keep the caller's order.
  return roots.sort((a, b) => b.prefix.length - a.prefix.length);
}

function normalizeBaseUrl(value: unknown): string {
  if (value === undefined) return DEFAULTS.baseUrl;
  if (typeof value !== 'string' || value === '' || !URL_SAFE.test(value) || /%(?![0-9A-Fa-f]{2})/.test(value)) {
    fail('baseUrl', 'a URL path or absolute URL of URL-safe characters, e.g. "/static/" or "https://cdn.example.com/assets/"', value);
  }
  const isAbsolute = /^https?:\/\//i.test(value) || value.startsWith('//');
  if (!isAbsolute && !value.startsWith('/')) {
    fail('baseUrl', 'a path starting with "/" or an http(s):// or // URL', value);
  }
  if (value.includes('?') || value.includes('#')) fail('baseUrl', 'a URL without query or fragment', value);
  return value.endsWith('/') ? value : `${value}/`;
}

function normalizeInteger(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(option, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function normalizeBoolean(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(option, 'a boolean', value);
  return value;
}

function normalizeChoice<T extends string>(value: unknown, option: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) fail(option, `one of ${choices.map((c) => `"${c}"`).join(', ')}`, value);
  return value as T;
}

function normalizeCssIgnore(value: unknown): CssIgnorePattern[] {
  if (value === undefined) return [];
  const patterns = Array.isArray(value) ? value : [value];
  for (const pattern of patterns) {
    if (!(pattern instanceof RegExp) && typeof pattern !== 'function' && (typeof pattern !== 'string' || pattern === '')) {
      fail('cssIgnore', 'a RegExp, a non-empty string prefix, a function (reference, stylesheet) => boolean, or an array of them', pattern);
    }
  }
  return [...patterns] as CssIgnorePattern[];
}

function normalizeWatch(value: unknown): NormalizedWatchOptions | false {
  if (value === undefined || value === false) return false;
  if (value === true) return { ...DEFAULTS.watch, ignored: [] };
  if (!isPlainObject(value)) fail('watch', 'a boolean or { debounceMs, ignored, usePolling, interval }', value);
  rejectUnknownKeys(value, ['debounceMs', 'ignored', 'usePolling', 'interval'], 'watch option');
  const ignoredList = value.ignored === undefined ? [] : Array.isArray(value.ignored) ? value.ignored : [value.ignored];
  for (const matcher of ignoredList) {
    if (!(matcher instanceof RegExp) && typeof matcher !== 'function') fail('watch.ignored', 'a RegExp, a function, or an array of them', matcher);
  }
  if (value.usePolling !== undefined && typeof value.usePolling !== 'boolean') fail('watch.usePolling', 'a boolean', value.usePolling);
  return {
    debounceMs: normalizeInteger(value.debounceMs, 'watch.debounceMs', DEFAULTS.watch.debounceMs, 0, 60_000),
    ignored: ignoredList as NormalizedWatchOptions['ignored'],
    usePolling: (value.usePolling as boolean | undefined) ?? DEFAULTS.watch.usePolling,
    interval: normalizeInteger(value.interval, 'watch.interval', DEFAULTS.watch.interval, 1, 60_000),
  };
}

function normalizeManifest(value: unknown): NormalizedManifestOption | undefined {
  if (value === undefined) return undefined;
  const expected = 'a file path or { path, fallback?: "onMissing" | "live" }';
  if (typeof value === 'string') {
    if (value === '') fail('manifest', expected, value);
    return { path: path.resolve(value), fallback: DEFAULTS.manifestFallback };
  }
  if (!isPlainObject(value)) fail('manifest', expected, value);
  rejectUnknownKeys(value, ['path', 'fallback'], 'manifest option');
  if (typeof value.path !== 'string' || value.path === '') fail('manifest.path', 'a file path (non-empty string)', value.path);
  return {
    path: path.resolve(value.path),
    fallback: normalizeChoice(value.fallback, 'manifest.fallback', ['onMissing', 'live'] as const, DEFAULTS.manifestFallback),
  };
}

function normalizeVersion(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !VERSION_SAFE.test(value)) {
    fail('version', '"git" or 1 to 128 URL-safe characters (letters, digits, ".", "_", "~", "-"), e.g. "1.4.2"', value);
  }
  return value;
}

function normalizeModules(value: unknown): NormalizedModulesOptions {
  const normalized: NormalizedModulesOptions = { exact: new Map(), prefixes: [] };
  if (value === undefined) return normalized;
  if (!isPlainObject(value)) fail('modules', 'an object { imports }', value);
  rejectUnknownKeys(value, ['imports'], 'modules option');
  if (value.imports === undefined) return normalized;
  if (!isPlainObject(value.imports)) fail('modules.imports', 'an object of bare specifier -> reference, e.g. { lit: "vendor/lit/index.js" }', value.imports);
  for (const [name, target] of Object.entries(value.imports)) {
    const option = `modules.imports[${JSON.stringify(name)}]`;
    // Import maps treat URL-like keys as URLs: such a key is no bare specifier.
    if (name === '' || name.startsWith('/') || name.startsWith('./') || name.startsWith('../') || URL.canParse(name)) {
      fail('modules.imports', 'keyed by bare specifiers such as "lit" or "lit/" (not "/x", "./x", "../x" or a URL)', name);
    }
    if (typeof target !== 'string' || target === '') fail(option, 'a reference under the roots such as "vendor/lit/index.js"', target);
    if (name.endsWith('/') !== target.endsWith('/')) {
      fail(option, name.endsWith('/') ? 'a directory reference ending in "/" for a prefix key ending in "/"' : 'a file reference (not ending in "/")', target);
    }
    let canonical: string;
    try {
      canonical = parseReference(name.endsWith('/') ? `${target}x` : target).path;
    } catch (error) {
      fail(option, `a safe reference under the roots (${(error as Error).message})`, target);
    }
    if (name.endsWith('/')) normalized.prefixes.push([name, canonical.slice(0, -1)]);
    else normalized.exact.set(name, canonical);
  }
  normalized.prefixes.sort((a, b) => b[0].length - a[0].length);
  return normalized;
}

/**
 * Validates options and fills in every default. Throws `ERR_STATIC_INVALID_OPTION` naming the first
 * bad option and what it accepts. Touches the disk only to resolve the roots, which must exist.
 */
export function normalizeOptions(input: StaticHasherOptions = {}): NormalizedOptions {
  if (!isPlainObject(input)) fail('options', 'an object', input);
  rejectUnknownKeys(input, OPTION_NAMES);
  const options: StaticHasherOptions = input;

  // `=== undefined`, not `??`: an explicit null is a wrong value, reported like any other.
  const cache = options.cache === undefined ? {} : options.cache;
  if (!isPlainObject(cache)) fail('cache', 'an object { maxEntries, maxBytes, maxFileBytes }', cache);
  rejectUnknownKeys(cache, ['maxEntries', 'maxBytes', 'maxFileBytes'], 'cache option');

  const param = options.param === undefined ? DEFAULTS.param : options.param;
  if (typeof param !== 'string' || !PARAM_SAFE.test(param)) fail('param', 'a string of letters, digits, "-", "_", ".", "~" (or "")', param);

  const logger: Logger = options.logger === undefined ? console : options.logger;
  if (typeof logger !== 'object' || logger === null || typeof (logger as Partial<Logger>).warn !== 'function') {
    fail('logger', 'an object with a warn(message) method', logger);
  }

  const generation: GenerationStore | undefined = options.generation;
  const store = generation as Partial<GenerationStore> | null | undefined;
  if (store !== undefined && (typeof store !== 'object' || store === null
    || typeof store.bump !== 'function' || typeof store.subscribe !== 'function')) {
    fail('generation', 'a GenerationStore (current, bump(), subscribe())', generation);
  }

  const manifest = normalizeManifest(options.manifest);
  const version = normalizeVersion(options.version);
  if (manifest !== undefined && version !== undefined) {
    fail('version', 'left out when "manifest" is given (a manifest already fixes every URL)', version);
  }

  return {
    roots: normalizeRoots(options),
    baseUrl: normalizeBaseUrl(options.baseUrl),
    hashLength: normalizeInteger(options.hashLength, 'hashLength', DEFAULTS.hashLength, 4, 16),
    urlStyle: normalizeChoice(options.urlStyle, 'urlStyle', ['query', 'filename'] as const, DEFAULTS.urlStyle),
    param,
    onMissing: normalizeChoice(options.onMissing, 'onMissing', ['warn', 'throw', 'ignore'] as const, DEFAULTS.onMissing),
    maxEntries: normalizeInteger(cache.maxEntries, 'cache.maxEntries', DEFAULTS.maxEntries, 1, 2 ** 30),
    maxBytes: normalizeInteger(cache.maxBytes, 'cache.maxBytes', DEFAULTS.maxBytes, 0, Number.MAX_SAFE_INTEGER),
    maxFileBytes: normalizeInteger(cache.maxFileBytes, 'cache.maxFileBytes', DEFAULTS.maxFileBytes, 0, 2 ** 30),
    threads: options.threads === undefined ? undefined : normalizeInteger(options.threads, 'threads', 1, 1, 256),
    watch: normalizeWatch(options.watch),
    logger,
    generation,
    css: normalizeBoolean(options.css, 'css', DEFAULTS.css),
    cssIgnore: normalizeCssIgnore(options.cssIgnore),
    manifest,
    version,
    modules: normalizeModules(options.modules === undefined ? DEFAULTS.modules : options.modules),
  };
}
