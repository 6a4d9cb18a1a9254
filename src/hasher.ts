import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { AssetStore, type StaticAsset } from './asset.js';
import { isStylesheet } from './css-references.js';
import type { StylesheetHasher } from './stylesheet.js';
import { nodeCrypto } from './deferred.js';
import { digestBytes, digestFile, loadDigester } from './digest.js';
import { StaticHashError, describePath, describeValue, invalidOption } from './errors.js';
import { GenerationCache, GenerationClock, MemoryGenerationStore, type GenerationState, type GenerationStore } from './generation.js';
import { checkManifestOptions, readManifest, type LoadedManifest } from './manifest.js';
import { normalizeOptions, POOL_MIN_FILES, rejectUnknownKeys, type NormalizedOptions, type StaticHasherOptions } from './options.js';
import { lookedForPath, parseReference, resolveFile, type ParsedReference } from './resolve.js';
import { encodePath, formatUrl } from './url.js';
import { readRegularFile } from './read-file.js';
import type { HashPool, PoolDigest, PoolJob } from './pool.js';
import { listRoots, resolvesToListedFile, type ListedFile } from './walk.js';
import {
  buildImportMap, lexModuleBytes, moduleResolver, walkModuleGraph, type ImportMap, type ImportMapOptions, type LexedModule,
  type ModuleGraph, type ModuleHost, type ModuleResolver,
} from './modules.js';
import type { RootWatcher } from './watcher.js';

// Code only some hashers use, loaded by createStaticHasher() when the options ask for it, so that
// importing the package and creating a plain hasher costs little more than lru-cache and xxhash-wasm
// (a serverless function that renders templates pays it at every cold start): chokidar with `watch`,
// the stylesheet hasher and its dependency graph with `css`.
let stylesheetCode: typeof import('./stylesheet.js') | undefined;
let watcherCode: typeof import('./watcher.js') | undefined;
// The hashing pool (src/pool.ts, node:worker_threads): loaded by the first walk that may use it.
let poolCode: typeof import('./pool.js') | undefined;

/** Loads the modules the options need beyond the core (see above). Idempotent. */
async function loadCodeFor(options: NormalizedOptions): Promise<void> {
  if (options.css && stylesheetCode === undefined) stylesheetCode = await import('./stylesheet.js');
  if (options.watch && watcherCode === undefined) watcherCode = await import('./watcher.js');
}

/** A module loadCodeFor() loads, or an error saying the hasher was not made by createStaticHasher(). */
function loaded<T>(code: T | undefined, option: string): T {
  if (code === undefined) throw new Error(`static-hash: create hashers with createStaticHasher(), which loads the code "${option}" needs`);
  return code;
}

/**
 * The state of the file watcher, as `stats().watcher` reports it: `'off'` without `watch`;
 * `'starting'` until `ready` (lookups hash afresh meanwhile, since not every file is watched yet);
 * `'watching'`; `'degraded'` after a watcher failure (lookups hash afresh for good); `'closed'`
 * after `close()`.
 */
export type WatcherState = 'off' | 'starting' | 'watching' | 'degraded' | 'closed';

/** A snapshot of a hasher's counters. */
export interface StaticHasherStats {
  /** The current generation. */
  generation: number;
  /** Hash entries held in the LRU (current and orphaned generations). */
  entries: number;
  /** Lookups answered from a cache. */
  hits: number;
  /** Lookups that resolved and hashed a file. */
  misses: number;
  /** Whether every lookup currently hashes afresh (nocache, a failed watcher, a store out of touch). */
  bypass: boolean;
  /** The file watcher's state: `'off'` without the `watch` option. */
  watcher: WatcherState;
}

/** What {@link StaticHasher.warm} did. */
export interface WarmResult {
  /** Files hashed. */
  files: number;
  /** The generation their hashes were stored under. */
  generation: number;
}

/** A reference resolved to its file, as {@link StaticHasher.resolve} returns it. */
export interface ResolvedReference {
  /** The canonical path ('js/app.js' for '/js/app.js?x=1'). */
  path: string;
  /** The real path of the file on disk, inside a root. */
  file: string;
  /** The current content hash, as in URLs. */
  hash: string;
  /** The current URL of the reference. */
  url: string;
}

/** What moved the generation, in a {@link ChangeEvent}. */
export type ChangeCause = 'watch' | 'invalidate' | 'store' | 'asset' | 'notify';

/** What `hasher.on('change', …)` listeners receive after the generation moved (or `notify()`). */
export interface ChangeEvent {
  /** The generation now current: lookups from here on see the change. */
  generation: number;
  /**
   * `'watch'`: the watcher saw files change (a burst of events is over); `'invalidate'`: `invalidate()`;
   * `'store'`: another process moved a shared generation; `'asset'`: a server found a file changed
   * since it was hashed; `'notify'`: `notify()`.
   */
  cause: ChangeCause;
  /**
   * The references that changed, sorted, when they are known: the paths the watcher saw, plus every
   * stylesheet (read so far) that references one of them, transitively. `undefined`: anything may
   * have changed.
   */
  references: readonly string[] | undefined;
}

/** The events of a {@link StaticHasher}, typed as chokidar 4 types its own. */
export interface StaticHasherEventMap {
  change: [event: ChangeEvent];
  /** Every warning also given to `logger.warn`, with the same message. */
  warning: [message: string];
  /** The watcher failed (the hasher now hashes afresh for good). Emitted only when someone listens. */
  error: [error: Error];
  /** `close()` was called (live-reload streams end on it). */
  close: [];
}

/** Options of {@link StaticHasher.invalidate}. */
export interface InvalidateOptions {
  /** `true`: stop caching (every lookup hashes afresh) until `invalidate({ nocache: false })`. */
  nocache?: boolean;
}

// Set by a static block of StaticHasher, which alone can read its private fields.
let readWatcher: (hasher: StaticHasher) => RootWatcher | undefined;
let readClock: (hasher: StaticHasher) => GenerationClock;
let readAssets: (hasher: StaticHasher) => AssetStore | undefined;
let runWalk: (hasher: StaticHasher, options: WalkOptions) => Promise<WalkResult>;

/** Options of the one walk over the roots that warm() and the manifest build share. */
interface WalkOptions {
  /** Also compute each file's sha384 integrity, from the same read as its hash where it can. */
  integrity: boolean;
  /** Each file hashed: its reference, hash, (with `integrity`) integrity, and its bytes when `withBytes` asked for them and the walk read them whole. */
  onFile?: (reference: string, hash: string, integrity: string | undefined, bytes: Buffer | undefined) => void;
  /** The files whose bytes `onFile` wants too (the manifest's modules): read once for hash and bytes where the walk reads them itself. */
  withBytes?: (reference: string) => boolean;
  /** A file left out because no reference can name it or it is not a regular file inside its root. */
  onSkipped?: (file: string) => void;
  /** After each listed file (hashed, shadowed by an earlier root or skipped), with the count done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Whether an ERR_STATIC_IO (a file that exists but cannot be read) stops the walk; warm() goes on. */
  stopOnReadError: boolean;
}

interface WalkResult {
  files: number;
  generation: number;
  /** Names no reference can express ('?', '#', '\\'), from the listing. */
  unnameable: string[];
}

/**
 * Hashes every file under the roots as warm() does, and reports each result: the manifest build is
 * this walk plus a snapshot of what it hashed, so which files count, how symlinks are followed and
 * which names are skipped are decided once, here and in src/walk.ts.
 * @internal
 */
export function walkRoots(hasher: StaticHasher, options: WalkOptions): Promise<WalkResult> {
  return runWalk(hasher, options);
}

/**
 * The generation clock a hasher's caches are bound to, for caches kept outside the core (the serving
 * adapter's) that must follow the same rules. Reached through src/internal.ts, not the public API.
 * @internal
 */
export function clockOf(hasher: StaticHasher): GenerationClock {
  return readClock(hasher);
}

/**
 * What {@link StaticHasher.asset} has remembered for a reference, synchronously: the asset (still
 * the file on disk, one stat), `null` for a reference known to be missing, undefined when only
 * `asset()` can tell. Lets a server answer a remembered file without a promise. For adapters,
 * through src/internal.ts.
 * @internal
 */
export function rememberedAsset(hasher: StaticHasher, reference: string): StaticAsset | null | undefined {
  // A hasher of another copy of the package (ESM beside CommonJS) has other private fields: it
  // answers through its own asset().
  if (!(hasher instanceof StaticHasher)) return undefined;
  return readAssets(hasher)?.peek(reference);
}

/**
 * The watcher a hasher runs, if any. A test seam (tests inject chokidar errors through it), not
 * exported from index.ts and so not reachable through the package's `exports`.
 * @internal
 */
export function watcherOf(hasher: StaticHasher): RootWatcher | undefined {
  return readWatcher(hasher);
}

// Cache value for a file that was looked for and not found under this generation.
const MISSING = '';

// What a JavaScript file that a manifest does not list under "modules" imports: nothing.
const NO_IMPORTS: LexedModule = Object.freeze({ imports: [], computed: 0 }) as LexedModule;

/** Freezes a graph before it is shared between callers through the cache. */
function freezeGraph(graph: ModuleGraph): ModuleGraph {
  for (const module of graph.modules) {
    for (const edge of module.imports) Object.freeze(edge);
    Object.freeze(module.imports);
    Object.freeze(module);
  }
  for (const entry of graph.unresolved) Object.freeze(entry);
  Object.freeze(graph.modules);
  Object.freeze(graph.unresolved);
  return Object.freeze(graph);
}

interface Lookup {
  url: string;
  hash: string | undefined;
}

/**
 * Computes cache-busting URLs from file contents. Create one with {@link createStaticHasher}.
 *
 * Hashes are cached under the current generation (`"<generation>:<path>"`, Django's prefix-key
 * scheme); `invalidate()` or the watcher moves the generation, orphaning every cached hash at once.
 */
export class StaticHasher extends EventEmitter<StaticHasherEventMap> {
  // The hot path's map, first of the fields: url() on a hit reads it and #hits, nothing else.
  readonly #currentUrls: ReadonlyMap<string, string>;
  // The options the parts of the hasher warn through: the user's logger, and 'warning' listeners.
  readonly #hostOptions: Readonly<NormalizedOptions>;
  /** The validated options with every default filled in. */
  readonly options: Readonly<NormalizedOptions>;
  /** Resolves when the watcher's initial scan is done; at once without a watcher. */
  readonly ready: Promise<void>;

  readonly #store: GenerationStore;
  // True when the hasher created its store (no `generation` option): only then does close() close it.
  readonly #ownsStore: boolean;
  readonly #unsubscribe: () => void;
  // The generation and whether caching is off: every cache below is bound to it.
  readonly #clock: GenerationClock;
  // Hashes by canonical path, orphaned when the generation moves.
  readonly #hashes: GenerationCache<string, string>;
  // Hashes .css files over their rewritten text (options.css); undefined when off.
  readonly #stylesheets: StylesheetHasher | undefined;
  // sha384 digests, keyed and orphaned like #hashes.
  readonly #integrities: GenerationCache<string, string>;
  readonly #manifest: LoadedManifest | undefined;
  // The hot path: reference -> finished URL for the current generation only, dropped whole when the
  // generation moves or bypassing starts. A cached url() is then one Map.get, no key building, no
  // LRU bookkeeping, and no bypass test (the map is empty while bypassing).
  readonly #urls: GenerationCache<string, string>;
  #warned = new Set<string>();
  #nocache = false;
  #storeFresh: boolean;
  #watcherState: WatcherState = 'off';
  // A burst of file events is open: files may still be being written, so nothing is cached.
  #eventBurst = false;
  #hits = 0;
  #misses = 0;
  #watcher: RootWatcher | undefined;
  #closed = false;
  // True while this hasher's own store.bump() runs: the store's synchronous echo is not a remote change.
  #bumping = false;
  readonly #modules: ModuleResolver;
  readonly #moduleHost: ModuleHost;
  // What each module imports, and walked graphs by entry: the current generation's, dropped whole when it moves.
  readonly #lexed: GenerationCache<string, LexedModule>;
  readonly #graphs: GenerationCache<string, ModuleGraph>;
  // What servers answer with (exact bytes, or descriptors checked against what was hashed); made on first use.
  #assets: AssetStore | undefined;

  static {
    readWatcher = (hasher) => hasher.#watcher;
    readClock = (hasher) => hasher.#clock;
    readAssets = (hasher) => hasher.#assets;
    runWalk = (hasher, options) => hasher.#walk(options);
  }

  /**
   * Use {@link createStaticHasher}: it loads the hash function and the code `css` and `watch` need,
   * which this constructor expects loaded,
   * reads and checks the manifest, and resolves `version: 'git'` to a commit.
   */
  constructor(options: NormalizedOptions, manifest?: LoadedManifest) {
    super();
    this.options = Object.freeze(options);
    const userLogger = options.logger;
    this.#hostOptions = Object.freeze({
      ...options,
      logger: {
        warn: (message: string) => {
          userLogger.warn(message);
          if (this.listenerCount('warning') > 0) this.emit('warning', message);
        },
      },
    });
    this.#manifest = manifest;
    this.#ownsStore = options.generation === undefined;
    this.#store = options.generation ?? new MemoryGenerationStore();
    this.#clock = new GenerationClock(this.#store.current);
    this.#storeFresh = this.#store.fresh;
    const { maxEntries } = options;
    this.#urls = new GenerationCache(this.#clock, { onMove: 'drop', maxEntries });
    this.#currentUrls = this.#urls.view();
    this.#hashes = new GenerationCache(this.#clock, { maxEntries });
    this.#integrities = new GenerationCache(this.#clock, { maxEntries });
    this.#stylesheets = options.css ? new (loaded(stylesheetCode, 'css').StylesheetHasher)(this.#hostOptions, this.#clock, (canonical, generation) => {
      const hash = this.#cachedHash(parseReference(canonical), canonical, generation);
      return hash === MISSING ? undefined : hash;
    }) : undefined;
    this.#modules = moduleResolver(options);
    this.#lexed = new GenerationCache(this.#clock, { onMove: 'drop', maxEntries });
    this.#graphs = new GenerationCache(this.#clock, { onMove: 'drop', maxEntries });
    this.#moduleHost = {
      hash: (canonical, generation) => {
        const hash = this.#moduleHash(canonical, generation);
        return hash === MISSING ? undefined : hash;
      },
      url: (reference, hash) => this.#formatUrl(parseReference(reference), hash),
      lex: (canonical, generation) => this.#lexModule(canonical, generation),
    };
    this.#unsubscribe = this.#store.subscribe((state) => this.#onStoreState(state));
    this.#updateBypass();
    if (options.watch) {
      this.#watcherState = 'starting';
      this.#watcher = loaded(watcherCode, 'watch').watchRoots(options.roots, options.watch, {
        onChange: (settling, changed) => {
          this.#eventBurst = settling;
          this.#updateBypass();
          this.#bump();
          if (!settling) this.#emitChange('watch', changed === undefined ? undefined : this.#referencesOf(changed));
        },
        wantsPaths: () => this.listenerCount('change') > 0,
        onFailure: (error) => this.#onWatcherFailure(error),
      });
      this.#updateBypass();
      this.ready = this.#watcher.ready.then(() => {
        if (this.#watcherState !== 'starting') return;
        this.#watcherState = 'watching';
        this.#updateBypass();
      });
    } else {
      this.ready = Promise.resolve();
    }
  }

  /** The current generation. Only ever moves forward. */
  get generation(): number {
    return this.#clock.generation;
  }

  /**
   * Whether every lookup currently hashes afresh and caches nothing (`nocache`, a failed watcher, a
   * burst of file events, a shared store out of touch), as `stats().bypass`, without building the
   * stats. Servers that remember anything per generation check it.
   */
  get bypass(): boolean {
    return this.#clock.bypass;
  }

  /**
   * The cache-busting URL of a reference, e.g. `'js/app.js'` -> `'/static/js/app.js?v=3f9a1c0b7d2e'`.
   * Synchronous, for templates. A missing file follows `onMissing`.
   *
   * @throws {StaticHashError} `ERR_STATIC_INVALID_REFERENCE`, `ERR_STATIC_UNSAFE_PATH`, `ERR_STATIC_NOT_A_FILE`,
   *   `ERR_STATIC_IO`, and `ERR_STATIC_NOT_FOUND` with `onMissing: 'throw'`.
   * @example
   * hasher.url('css/site.css?x=1#top') //=> '/static/css/site.css?x=1&v=3f9a1c0b7d2e#top'
   */
  url(reference: string): string {
    const cached = this.#currentUrls.get(reference);
    if (cached !== undefined) {
      this.#hits++;
      return cached;
    }
    return this.#lookup(reference).url;
  }

  /**
   * The content hash of a reference (`hashLength` hex characters), or undefined for a missing file
   * under `onMissing: 'warn'` or `'ignore'`.
   *
   * @example
   * hasher.hash('js/app.js') //=> '3f9a1c0b7d2e'
   */
  hash(reference: string): string | undefined {
    return this.#lookup(reference).hash;
  }

  /**
   * Where a reference's file is and its current hash, or undefined when no root has it (whatever
   * `onMissing` says: this is a question, not a render). For servers and tools built on the hasher.
   *
   * @throws {StaticHashError} as {@link StaticHasher.url}, except `ERR_STATIC_NOT_FOUND`.
   */
  resolve(reference: string): ResolvedReference | undefined {
    const parsed = parseReference(reference);
    const resolved = resolveFile(parsed.path, this.options.roots, reference);
    if (resolved === undefined) return undefined;
    const hash = this.#cachedHash(parsed, reference, this.#clock.generation);
    if (hash === MISSING) return undefined;
    return { path: parsed.path, file: resolved.file, hash, url: this.#formatUrl(parsed, hash) };
  }

  /**
   * What a server sends for a reference: the exact bytes (small files, from memory) or a way to open
   * the very file that was hashed (larger ones), the verified precompressed siblings, and the version
   * those bytes are proven to carry (undefined when none can be: serve `no-cache`). Resolves to
   * undefined when no root has the file. Remembered per generation; a remembered file costs one stat.
   *
   * @throws {StaticHashError} as {@link StaticHasher.resolve}.
   * @example
   * const asset = await hasher.asset('js/app.js');
   * asset.version === hasher.hash('js/app.js') //=> true, unless the file changed since it was hashed
   */
  async asset(reference: string): Promise<StaticAsset | undefined> {
    this.#assets ??= new AssetStore({
      options: this.#hostOptions,
      clock: this.#clock,
      currentHash: (canonical, written, generation) => {
        const hash = this.#cachedHash(parseReference(canonical), written, generation);
        return hash === MISSING ? undefined : hash;
      },
      stylesheetBytes: (canonical, file, generation) => this.#stylesheets?.read(canonical, file, generation),
      versionSource: (canonical) => {
        if (this.options.version !== undefined) return 'release';
        return this.#manifest?.files.has(canonical) ? 'manifest' : 'content';
      },
      changed: (generation) => {
        // The same move a watcher makes on a change it sees; several requests seeing one change move it once.
        if (generation === this.#clock.generation) {
          this.#bump();
          this.#emitChange('asset', undefined);
        }
      },
      manifestFile: this.#manifest?.file,
    });
    return this.#assets.get(reference);
  }

  /**
   * The bytes a reference's hash covers: the rewritten text for a stylesheet (with `css` on), the
   * file's contents otherwise. Resolves to undefined when no root has the file.
   *
   * @example
   * const bytes = await hasher.read('js/app.js');
   */
  async read(reference: string): Promise<Buffer | undefined> {
    const parsed = parseReference(reference);
    return this.#coveredBytes(parsed, reference);
  }

  /**
   * The subresource integrity value (`sha384-…`, base64) of the bytes the reference's hash covers,
   * for `<script integrity="…">` and `<link integrity="…">`. Cached per generation like hashes; taken
   * from the manifest when it was built with `--integrity`, otherwise computed from the file (also
   * with `version`, which never reads files for URLs). A missing file follows `onMissing`: undefined
   * under `'warn'` and `'ignore'`.
   *
   * @throws {StaticHashError} as {@link StaticHasher.url}.
   * @example
   * hasher.integrity('js/app.js') //=> 'sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC'
   */
  integrity(reference: string): string | undefined {
    const generation = this.#clock.generation;
    const parsed = parseReference(reference);
    let value = this.#integrities.get(parsed.path, generation);
    if (value === undefined) {
      value = this.#computeIntegrity(parsed, reference);
      this.#integrities.set(parsed.path, value, generation);
    }
    if (value === MISSING) {
      this.#onMissing(parsed, reference, generation);
      return undefined;
    }
    return value;
  }

  /**
   * The ES-module graph of an entry module: every module it imports statically (`import`, `export … from`,
   * `export * from`) and dynamically with a literal specifier (`import('./x.js')`), transitively,
   * found with es-module-lexer. Relative and root-relative specifiers resolve against the importing
   * module's URL, bare ones through the `modules.imports` option; full URLs are left alone. Cycles are
   * fine. Cached per generation (the result is frozen and shared).
   *
   * What cannot be followed is listed in `unresolved` and follows `onMissing` (warned once per
   * generation, or thrown): a module that does not parse (`ERR_STATIC_MODULE`), an unmapped bare
   * specifier (`ERR_STATIC_MODULE`), one resolving outside the base URL (`ERR_STATIC_UNSAFE_PATH`), a
   * missing file (`ERR_STATIC_NOT_FOUND`). A specifier computed at run time (`import(name)`) is
   * listed and warned about, never thrown: it is valid JavaScript whose module the browser revalidates.
   *
   * @throws {StaticHashError} `ERR_STATIC_INVALID_REFERENCE`/`ERR_STATIC_UNSAFE_PATH` for a bad entry; the
   *   codes above under `onMissing: 'throw'`.
   * @example
   * hasher.moduleGraph('js/main.js').modules.map((module) => module.path)
   * //=> ['js/main.js', 'js/util.js', 'vendor/lit/index.js']
   */
  moduleGraph(entry: string): ModuleGraph {
    // The generation first, as for hashes: a graph read while files change is stored under the
    // generation current before the change, never a later one.
    const generation = this.#clock.generation;
    const { path: canonical } = parseReference(entry);
    const cached = this.#graphs.get(canonical);
    if (cached !== undefined) return cached;
    const graph = freezeGraph(walkModuleGraph(canonical, generation, this.#moduleHost, this.#modules));
    this.#reportUnresolved(graph, generation);
    this.#graphs.set(canonical, graph, generation);
    return graph;
  }

  /**
   * The import map for one or more entry modules: `imports` maps the URL the browser resolves each
   * module of their graphs to without a version (`/static/js/util.js`, or the absolute URL under an
   * absolute `baseUrl`) to its versioned URL, so relative imports inside the modules load immutable
   * URLs without rewriting any JavaScript. Bare specifiers of `modules.imports` are included (with
   * their own graphs). `{ integrity: true }` adds the `integrity` section: versioned URL -> sha384.
   * Serialise it into `<script type="importmap">` before any module script (the template tags do).
   *
   * @throws {StaticHashError} as {@link StaticHasher.moduleGraph}; `ERR_STATIC_INVALID_OPTION` for bad options.
   * @example
   * hasher.importMap('js/main.js')
   * //=> { imports: { '/static/js/main.js': '/static/js/main.js?v=8c1d…', '/static/js/util.js': '/static/js/util.js?v=02ab…' } }
   */
  importMap(entries: string | readonly string[], options: ImportMapOptions = {}): ImportMap {
    const list = typeof entries === 'string' ? [entries] : entries;
    if (!Array.isArray(list) || list.length === 0) {
      throw new StaticHashError('ERR_STATIC_INVALID_REFERENCE', `static-hash: importMap() takes an entry module or a non-empty array of them; got ${describeValue(entries)}`, {
        reference: entries,
      });
    }
    if (typeof options !== 'object' || options === null) {
      throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: importMap() options must be { integrity?: boolean }; got ${describeValue(options)}`, {
        option: 'importMap', value: options,
      });
    }
    rejectUnknownKeys(options, ['integrity'], 'importMap() option');
    if (options.integrity !== undefined && typeof options.integrity !== 'boolean') {
      throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: option "integrity" must be a boolean; got ${describeValue(options.integrity)}`, {
        option: 'integrity', value: options.integrity,
      });
    }
    const graphs = list.map((entry) => this.moduleGraph(entry));
    const aliases: Array<{ key: string; url: string; path: string }> = [];
    for (const [name, target] of this.options.modules.exact) {
      const graph = this.moduleGraph(target);
      const module = graph.modules[0];
      if (module === undefined) continue;
      graphs.push(graph);
      aliases.push({ key: name, url: module.url, path: module.path });
    }
    return buildImportMap(graphs, aliases, options.integrity === true ? (path) => this.integrity(path) : undefined);
  }

  /**
   * Moves to a new generation: every later lookup hashes afresh. Returns the new generation.
   * `{ nocache: true }` also stops caching until `invalidate({ nocache: false })`.
   *
   * @example
   * hasher.invalidate() //=> 2
   */
  invalidate(options: InvalidateOptions = {}): number {
    if (typeof options !== 'object' || options === null) {
      throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: invalidate() takes { nocache?: boolean }; got ${describeValue(options)}`, {
        option: 'invalidate', value: options,
      });
    }
    rejectUnknownKeys(options, ['nocache'], 'invalidate() option');
    if (options.nocache !== undefined) {
      if (typeof options.nocache !== 'boolean') {
        invalidOption('static-hash', 'nocache', 'a boolean', options.nocache);
      }
      this.#nocache = options.nocache;
      this.#updateBypass();
    }
    this.#bump();
    this.#emitChange('invalidate', undefined);
    return this.#clock.generation;
  }

  /**
   * Tells `'change'` listeners (live reload) that something changed which the hasher cannot see (a
   * template, data), without moving the generation: `references` when you know them (reported as
   * they are written), nothing for "anything may have changed" (a live-reload page reloads).
   *
   * @example
   * hasher.notify(); // a template was saved: open pages reload
   */
  notify(references?: readonly string[]): void {
    if (references !== undefined && (!Array.isArray(references) || references.some((entry) => typeof entry !== 'string'))) {
      throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: notify() takes an array of references or nothing; got ${describeValue(references)}`, {
        option: 'notify', value: references,
      });
    }
    this.#emitChange('notify', references === undefined ? undefined : [...new Set(references)].sort());
  }

  /** Emits 'change' when someone listens; a listener that throws is reported as a warning, not to the caller. */
  #emitChange(cause: ChangeCause, references: readonly string[] | undefined): void {
    if (this.listenerCount('change') === 0) return;
    const event: ChangeEvent = Object.freeze({ generation: this.#clock.generation, cause, references: references && Object.freeze(references) });
    try {
      this.emit('change', event);
    } catch (error) {
      // From a timer (the watcher) a throw would end the process; from invalidate() it would undo nothing.
      this.#hostOptions.logger.warn(`static-hash: a 'change' listener threw: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  /**
   * The references behind absolute paths the watcher saw: each path under a root as that root names
   * it (directories and the roots themselves left out), plus every stylesheet that references one.
   */
  #referencesOf(changed: ReadonlySet<string>): string[] {
    const found = new Set<string>();
    for (const file of changed) {
      let isDirectory = false;
      try {
        isDirectory = fs.statSync(file).isDirectory();
      } catch {
        // Gone: reported, a page that used it should reload.
      }
      if (isDirectory) continue;
      for (const root of this.options.roots) {
        const relative = path.relative(root.realDir, file);
        if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) continue;
        found.add(root.prefix + relative.split(path.sep).join('/'));
      }
    }
    if (this.#stylesheets !== undefined) for (const sheet of this.#stylesheets.dependents(found)) found.add(sheet);
    return [...found].sort();
  }

  /**
   * Hashes every file under the roots now, so the first page views hash nothing. Files whose names
   * cannot be written as a reference (containing '?', '#', '\\') are skipped.
   */
  async warm(): Promise<WarmResult> {
    const { files, generation } = await this.#walk({ integrity: false, stopOnReadError: false });
    return { files, generation };
  }

  async #walk(options: WalkOptions): Promise<WalkResult> {
    const generation = this.#clock.generation;
    const { roots } = this.options;
    const { integrity, onFile, onSkipped, onProgress, stopOnReadError, withBytes } = options;
    let files = 0;
    let done = 0;
    let previous: string | undefined;
    // The walk follows no symlinked directory (they could loop) and skips names no reference can
    // express ('?', '#', '\\'); a symlinked file is hashed if its target stays inside the root.
    // Plain files are read and digested ahead, on the pool's threads when there are at least
    // POOL_MIN_FILES (src/pool.ts, loaded by the first walk that lists that many). Once its code is
    // loaded, the workers start as soon as the listing has found that many files, and boot while it
    // goes on. The listing runs before the walk's first await either way. Stylesheets and everything
    // else go through the lookups below, on this thread, in order.
    const mayPool = this.options.threads !== 1 && this.options.version === undefined && this.#manifest === undefined;
    const startPool = (code: typeof import('./pool.js')) => code.HashPool.start(code.threadCount(this.options.threads));
    const started: { pool?: HashPool } = {};
    let ahead: Array<PoolDigest | undefined> | undefined;
    let listed: ReturnType<typeof listRoots>;
    try {
      listed = listRoots(roots, mayPool && poolCode !== undefined ? POOL_MIN_FILES : Infinity, () => {
        started.pool = startPool(poolCode!);
      });
      if (mayPool && poolCode === undefined && listed.files.length >= POOL_MIN_FILES) {
        poolCode = await import('./pool.js');
        started.pool = startPool(poolCode);
      }
      ahead = await this.#digestAhead(listed.files, generation, integrity, started.pool);
    } finally {
      started.pool?.stop();
    }
    for (const [index, entry] of listed.files.entries()) {
      // Sorted by reference: a reference under several roots resolves to one file (the first root's), hashed once.
      if (entry.reference !== previous) {
        previous = entry.reference;
        try {
          // Only the hash is cached here: URLs are formatted (cheaply, from the cached hash) on first
          // use, so warming costs little more than reading the files.
          const pooled = ahead?.[index];
          let found: { hash: string; integrity: string | undefined; bytes?: Buffer };
          if (pooled !== undefined) {
            // Digested by the pool: parsed and resolved on its way there (#digestAhead).
            found = this.#fromPool(pooled);
          } else {
            // A regular file reached through real directories, under the first root the resolver tries,
            // already has its real path: the realpath call (a syscall per path component, most of warm()'s
            // overhead over bare reading) is skipped for it.
            const known = resolvesToListedFile(entry, roots) ? entry.file : undefined;
            // A name the resolver refuses (a '..'-like segment, a colon in the first one) throws here, before any read.
            const parsed = parseReference(entry.reference);
            found = integrity || withBytes?.(entry.reference) === true
              ? this.#hashWithIntegrity(parsed, entry.reference, generation, known, integrity)
              : { hash: this.#cachedHash(parsed, entry.reference, generation, known), integrity: undefined };
          }
          if (found.hash !== MISSING) {
            files++;
            onFile?.(entry.reference, found.hash, found.integrity, found.bytes);
          }
        } catch (error) {
          if (!(error instanceof StaticHashError)) throw error;
          if (error.code === 'ERR_STATIC_UNSAFE_PATH' || error.code === 'ERR_STATIC_NOT_A_FILE' || error.code === 'ERR_STATIC_INVALID_REFERENCE') {
            // No template can reference it either: left out, and said so.
            onSkipped?.(entry.file);
          } else if (stopOnReadError) {
            throw error;
          }
        }
      }
      onProgress?.(++done, listed.files.length);
      // Let other work (signals, progress output) run now and then while walking a large tree.
      if (done % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return { files, generation, unnameable: listed.skipped };
  }

  /**
   * Digests the plain files of a walk ahead of it with the pool the walk started (src/pool.ts), which
   * it does once it has listed POOL_MIN_FILES files; undefined without a pool (the walk then reads
   * each file itself).
   * Plain: a regular file whose real path the walk knows, not a stylesheet with `css` on, no
   * `version` or manifest, not cached yet. Each result is stored under `generation` only if that is
   * still the current generation (GenerationCache.set refuses otherwise), before the walk goes on,
   * so the stylesheets hashed after find their images' hashes cached.
   */
  async #digestAhead(entries: readonly ListedFile[], generation: number, integrity: boolean, pool: HashPool | undefined): Promise<Array<PoolDigest | undefined> | undefined> {
    if (pool === undefined) return undefined;
    const { roots } = this.options;
    const jobs: PoolJob[] = [];
    const slots: number[] = [];
    const paths: string[] = [];
    let previous: string | undefined;
    for (const [index, entry] of entries.entries()) {
      if (entry.reference === previous) continue;
      previous = entry.reference;
      if (!resolvesToListedFile(entry, roots)) continue;
      let path: string;
      try {
        path = parseReference(entry.reference).path;
      } catch {
        continue;
      }
      if (this.#stylesheets !== undefined && isStylesheet(path)) continue;
      if (this.#hashes.get(path, generation) !== undefined || (integrity && this.#integrities.get(path, generation) !== undefined)) continue;
      jobs.push({ file: entry.file, reference: entry.reference });
      slots.push(index);
      paths.push(path);
    }
    // Its workers are booting already: the pool is used for whatever is left to digest.
    if (jobs.length === 0) return undefined;
    const outcomes = await pool.run(jobs, integrity);
    const ahead = new Array<PoolDigest | undefined>(entries.length);
    for (const [job, outcome] of outcomes.entries()) {
      const found = poolCode!.outcomeDigest(outcome);
      ahead[slots[job]!] = found;
      if ('error' in found) continue;
      this.#misses++;
      const hash = found.digest === undefined ? MISSING : found.digest.slice(0, this.options.hashLength);
      this.#hashes.set(paths[job]!, hash, generation);
      if (integrity) this.#integrities.set(paths[job]!, found.integrity ?? MISSING, generation);
    }
    return ahead;
  }

  /** A decoded pool outcome as #hashWithIntegrity returns it; a StaticHashError the worker met is thrown here. */
  #fromPool(found: PoolDigest): { hash: string; integrity: string | undefined } {
    if ('error' in found) {
      const { code, message, file } = found.error;
      throw new StaticHashError(code, message, { file });
    }
    return { hash: found.digest === undefined ? MISSING : found.digest.slice(0, this.options.hashLength), integrity: found.integrity };
  }

  /**
   * The hash and (with `withIntegrity`) integrity of a file, cached like #cachedHash and integrity().
   * A regular file whose real path the walk knows is read once for both digests (the same bytes and
   * xxHash64 as the streamed digest), and its bytes are returned too; stylesheets and anything else
   * go through the usual lookups (no bytes).
   */
  #hashWithIntegrity(parsed: ParsedReference, reference: string, generation: number, knownFile: string | undefined, withIntegrity = true): { hash: string; integrity: string | undefined; bytes?: Buffer } {
    const cachedHash = this.#hashes.get(parsed.path, generation);
    const cachedIntegrity = this.#integrities.get(parsed.path, generation);
    if (knownFile !== undefined && cachedHash === undefined && this.options.version === undefined && this.#manifest === undefined
      && !(this.#stylesheets !== undefined && isStylesheet(parsed.path))) {
      this.#misses++;
      const bytes = readRegularFile(knownFile, reference);
      const hash = bytes === undefined ? MISSING : digestBytes(bytes).slice(0, this.options.hashLength);
      this.#hashes.set(parsed.path, hash, generation);
      if (!withIntegrity) return { hash, integrity: undefined, bytes };
      const integrity = bytes === undefined ? MISSING : `sha384-${nodeCrypto().createHash('sha384').update(bytes).digest('base64')}`;
      this.#integrities.set(parsed.path, integrity, generation);
      return { hash, integrity: integrity === MISSING ? undefined : integrity, bytes };
    }
    const hash = cachedHash ?? this.#cachedHash(parsed, reference, generation, knownFile);
    if (hash === MISSING || !withIntegrity) return { hash, integrity: undefined };
    let integrity = cachedIntegrity;
    if (integrity === undefined) {
      integrity = this.#computeIntegrity(parsed, reference);
      this.#integrities.set(parsed.path, integrity, generation);
    }
    return { hash, integrity: integrity === MISSING ? undefined : integrity };
  }

  /** Counters and state, for health checks and tests. */
  stats(): StaticHasherStats {
    return {
      generation: this.#clock.generation,
      entries: this.#hashes.size,
      hits: this.#hits,
      misses: this.#misses,
      bypass: this.#clock.bypass,
      watcher: this.#watcherState,
    };
  }

  /**
   * Stops the watcher and unsubscribes from the generation store. Idempotent; lookups keep working.
   * A store given as the `generation` option is left open: other hashers may share it, and whoever
   * created it closes it (`await store.close()`) once they are all done.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.emit('close');
    } catch (error) {
      this.#hostOptions.logger.warn(`static-hash: a 'close' listener threw: ${(error as Error)?.message ?? String(error)}`);
    }
    this.#unsubscribe();
    if (this.#watcher) {
      // From here on the hasher caches as one without a watcher: until invalidate().
      this.#watcherState = 'closed';
      this.#eventBurst = false;
      this.#updateBypass();
      await this.#watcher.close();
    }
    // A hasher closes only what it created; the in-memory default holds nothing to release.
    if (this.#ownsStore) await this.#store.close?.();
  }

  #lookup(reference: string): Lookup {
    // Read the generation once, first: a hash computed from content that changes mid-read is stored
    // under the generation that was current before the change, never under a later one.
    const generation = this.#clock.generation;
    const parsed = parseReference(reference);
    const hash = this.#cachedHash(parsed, reference, generation);
    const found = hash === MISSING ? undefined : hash;
    if (found === undefined) this.#onMissing(parsed, reference, generation);
    const url = this.#formatUrl(parsed, found);
    this.#urls.set(reference, url, generation);
    return { url, hash: found };
  }

  /**
   * The hash of a parsed reference under `generation`, from the LRU or computed and stored there.
   * `knownFile`: the file's real path inside its root, when the caller already knows it (warm()).
   */
  #cachedHash(parsed: ParsedReference, reference: string, generation: number, knownFile?: string): string {
    let hash = this.#hashes.get(parsed.path, generation);
    if (hash === undefined) {
      this.#misses++;
      hash = this.#hashFile(parsed, reference, generation, knownFile);
      this.#hashes.set(parsed.path, hash, generation);
    } else {
      this.#hits++;
    }
    return hash;
  }

  /** The first `hashLength` hex characters of the file's digest (or the version, or the manifest's hash), or MISSING. */
  #hashFile(parsed: ParsedReference, reference: string, generation: number, knownFile?: string): string {
    // A release version or a manifest answers without touching the disk.
    if (this.options.version !== undefined) return this.options.version;
    if (this.#manifest !== undefined) {
      const hash = this.#manifest.files.get(parsed.path);
      if (hash !== undefined) return hash;
      if (this.options.manifest?.fallback !== 'live') return MISSING;
    }
    // The digest streams the same bytes #coveredBytes returns, without holding a large file in
    // memory; stylesheets are hashed over their rewritten text, which #coveredBytes returns for them.
    // warm() passes the real path it already walked to, sparing a realpath per file.
    let file = knownFile;
    if (file === undefined) {
      const resolved = resolveFile(parsed.path, this.options.roots, reference);
      if (resolved === undefined) return MISSING;
      file = resolved.file;
    }
    const digest = this.#stylesheets !== undefined && isStylesheet(parsed.path)
      ? this.#stylesheets.hash(parsed.path, file, generation)
      : digestFile(file, reference);
    return digest?.slice(0, this.options.hashLength) ?? MISSING;
  }

  /** sha384 of the bytes the hash covers, from the manifest when it has them, or MISSING. */
  #computeIntegrity(parsed: ParsedReference, reference: string): string {
    const manifest = this.#manifest;
    if (manifest !== undefined) {
      const fromManifest = manifest.integrity?.get(parsed.path);
      if (fromManifest !== undefined) return fromManifest;
      if (!manifest.files.has(parsed.path) && this.options.manifest?.fallback !== 'live') return MISSING;
    }
    const bytes = this.#coveredBytes(parsed, reference);
    if (bytes === undefined) return MISSING;
    return `sha384-${nodeCrypto().createHash('sha384').update(bytes).digest('base64')}`;
  }

  /**
   * The one source of the bytes a URL's hash covers, for read() and integrity(): the rewritten text
   * for stylesheets (with `css` on), the file's contents otherwise. Undefined when no root has the file.
   */
  #coveredBytes(parsed: ParsedReference, reference: string): Buffer | undefined {
    const resolved = resolveFile(parsed.path, this.options.roots, reference);
    if (resolved === undefined) return undefined;
    if (this.#stylesheets !== undefined && isStylesheet(parsed.path)) {
      return this.#stylesheets.read(parsed.path, resolved.file, this.#clock.generation);
    }
    return readRegularFile(resolved.file, reference);
  }

  #formatUrl(parsed: ParsedReference, hash: string | undefined): string {
    return formatUrl({
      baseUrl: this.options.baseUrl,
      encodedPath: encodePath(parsed.path),
      hash,
      query: parsed.query,
      fragment: parsed.fragment,
      urlStyle: this.options.urlStyle,
      param: this.options.param,
    });
  }

  #onMissing(parsed: ParsedReference, reference: string, generation: number): void {
    const { onMissing, roots } = this.options;
    const { logger } = this.#hostOptions;
    if (onMissing === 'ignore') return;
    const file = lookedForPath(parsed.path, roots);
    // With a manifest (and no live fallback) the disk was not consulted: say where we looked.
    const manifest = this.#manifest !== undefined && this.options.manifest?.fallback !== 'live' ? this.#manifest.file : undefined;
    const where = manifest === undefined ? `looked for ${describePath(file)}` : `not in the manifest ${manifest}`;
    if (onMissing === 'throw') {
      throw new StaticHashError('ERR_STATIC_NOT_FOUND', `static-hash: file not found: ${describeValue(reference)} (${where})`, {
        reference, file,
      });
    }
    const key = `${generation}:${parsed.path}`;
    if (this.#warned.has(key)) return;
    if (this.#warned.size >= this.options.maxEntries) this.#warned.clear();
    this.#warned.add(key);
    logger.warn(`static-hash: file not found: ${describeValue(reference)} (${where}); serving it without a version`);
  }

  /**
   * A module's hash through the same cache as url(), with one read of a plain JavaScript file on a
   * miss: its digest and its imports both come from those bytes (a graph would otherwise read every
   * module twice). Everything else (a release version, a manifest, a stylesheet) goes the usual way.
   */
  #moduleHash(canonical: string, generation: number): string {
    const parsed = parseReference(canonical);
    if (this.options.version !== undefined || this.#manifest !== undefined || (this.#stylesheets !== undefined && isStylesheet(parsed.path))) {
      return this.#cachedHash(parsed, canonical, generation);
    }
    const cached = this.#hashes.get(parsed.path, generation);
    if (cached !== undefined) {
      this.#hits++;
      return cached;
    }
    this.#misses++;
    const bytes = this.#coveredBytes(parsed, canonical);
    // Hashed like digestFile() hashes (the same xxHash64 of the same bytes), in one call.
    const hash = bytes === undefined ? MISSING : digestBytes(bytes).slice(0, this.options.hashLength);
    if (this.#hashes.set(parsed.path, hash, generation) && bytes !== undefined) {
      this.#lexed.set(parsed.path, lexModuleBytes(bytes), generation);
    }
    return hash;
  }

  /** What a module imports: the manifest's record when it has one, else lexed from the bytes its hash covers. */
  #lexModule(canonical: string, generation: number): LexedModule | undefined {
    const manifest = this.#manifest;
    if (manifest?.modules !== undefined && manifest.files.has(canonical)) return manifest.modules.get(canonical) ?? NO_IMPORTS;
    const cached = this.#lexed.get(canonical);
    if (cached !== undefined) return cached;
    const bytes = this.#coveredBytes(parseReference(canonical), canonical);
    if (bytes === undefined) return undefined;
    const lexed = lexModuleBytes(bytes);
    this.#lexed.set(canonical, lexed, generation);
    return lexed;
  }

  /** Applies `onMissing` to what a graph could not follow: throws the first, or warns once per generation. */
  #reportUnresolved(graph: ModuleGraph, generation: number): void {
    const { onMissing } = this.options;
    const { logger } = this.#hostOptions;
    if (onMissing === 'ignore' || graph.unresolved.length === 0) return;
    if (onMissing === 'throw') {
      const first = graph.unresolved.find((entry) => entry.code !== undefined);
      if (first !== undefined) {
        throw new StaticHashError(first.code!, `static-hash: ${first.message}`, {
          reference: first.specifier ?? first.module, file: undefined,
        });
      }
    }
    for (const entry of graph.unresolved) {
      const key = `${generation}:module\0${entry.module}\0${entry.reason}\0${entry.specifier ?? ''}`;
      if (this.#warned.has(key)) continue;
      if (this.#warned.size >= this.options.maxEntries) this.#warned.clear();
      this.#warned.add(key);
      logger.warn(`static-hash: ${entry.message}`);
    }
  }

  /**
   * Moves the shared generation for a change this hasher saw. A store tells every subscriber of a
   * bump, this hasher included, synchronously: that echo is not another process's change, so it
   * must not reach 'change' listeners as "everything may have changed" (a live-reload page would
   * reload for an edit it can swap in place). The caller reports the change with what it knows.
   */
  #bump(): void {
    this.#bumping = true;
    try {
      this.#onGeneration(this.#store.bump());
    } finally {
      this.#bumping = false;
    }
  }

  #onGeneration(generation: number): void {
    // Generations only move forward, even if a shared store reports an older value late.
    if (this.#clock.advance(generation)) this.#warned.clear();
  }

  #onStoreState(state: GenerationState): void {
    // Back in touch under the same generation: whatever was cached before the store lost touch (hashes,
    // integrity values, stylesheets) may predate edits made meanwhile (which lookups have been showing,
    // computed afresh); never go back to any of it.
    const before = this.#clock.generation;
    if (state.fresh && !this.#storeFresh) this.#clock.forgetAll();
    this.#storeFresh = state.fresh;
    this.#updateBypass();
    this.#onGeneration(state.generation);
    if (this.#clock.generation !== before && !this.#bumping) this.#emitChange('store', undefined);
  }

  #onWatcherFailure(error: Error): void {
    if (this.#watcherState === 'closed') return;
    this.#watcherState = 'degraded';
    this.#updateBypass();
    this.#hostOptions.logger.warn(
      `static-hash: the file watcher failed (${error.message}); every lookup now hashes afresh (nocache) so no URL goes stale`,
    );
    // An EventEmitter throws an 'error' nobody listens to: only listeners hear it.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this.#emitChange('watch', undefined);
  }

  #updateBypass(): void {
    // Until the watcher's first scan is done, a file may change before it is watched; during a burst
    // of events, files may still be being written: in both cases cache nothing, so no lookup made
    // after a change was observed can return a hash read before it.
    this.#clock.setBypass(this.#nocache || !this.#storeFresh || this.#eventBurst
      || this.#watcherState === 'degraded' || this.#watcherState === 'starting');
  }
}

/**
 * Creates a hasher. Async because the xxHash WebAssembly module loads asynchronously, and because a
 * `manifest` is read and a `version: 'git'` commit looked up here, once; every lookup afterwards is
 * synchronous.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` naming the first bad option (or a `version: 'git'`
 *   outside a git checkout); `ERR_STATIC_MANIFEST` for a corrupt manifest or one built with other options.
 * @example
 * const hasher = await createStaticHasher({ root: 'public' });
 * hasher.url('js/app.js'); //=> '/static/js/app.js?v=3f9a1c0b7d2e'
 */
export async function createStaticHasher(options: StaticHasherOptions = {}): Promise<StaticHasher> {
  let normalized = normalizeOptions(options);
  await Promise.all([loadDigester(), loadCodeFor(normalized)]);
  let manifest: LoadedManifest | undefined;
  if (normalized.manifest !== undefined) {
    manifest = await readManifest(normalized.manifest.path);
    checkManifestOptions(manifest, normalized);
  }
  if (normalized.version === 'git') {
    normalized = { ...normalized, version: await (await import('./version.js')).readGitVersion(normalized.roots[0]!.dir, normalized.hashLength) };
  }
  await normalized.generation?.open?.();
  return new StaticHasher(normalized, manifest);
}
