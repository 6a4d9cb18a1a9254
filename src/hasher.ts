import fs from 'node:fs';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import { SAFE_OPEN_FLAGS, digestFile, loadDigester } from './digest.js';
import { StaticHashError, describeValue } from './errors.js';
import { MemoryGenerationStore, type GenerationState, type GenerationStore } from './generation.js';
import { normalizeOptions, rejectUnknownKeys, type NormalizedOptions, type StaticHasherOptions } from './options.js';
import { firstCandidate, parseReference, resolveFile, type ParsedReference } from './resolve.js';
import { encodePath, formatUrl } from './url.js';
import { watchRoots, type RootWatcher } from './watcher.js';

/** The state of the file watcher, as `stats().watcher` reports it. */
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

/** Options of {@link StaticHasher.invalidate}. */
export interface InvalidateOptions {
  /** `true`: stop caching (every lookup hashes afresh) until `invalidate({ nocache: false })`. */
  nocache?: boolean;
}

// Cache value for a file that was looked for and not found under this generation.
const MISSING = '';

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
export class StaticHasher {
  /** The validated options with every default filled in. */
  readonly options: Readonly<NormalizedOptions>;
  /** Resolves when the watcher's initial scan is done; at once without a watcher. */
  readonly ready: Promise<void>;

  readonly #store: GenerationStore;
  readonly #unsubscribe: () => void;
  readonly #hashes: LRUCache<string, string>;
  // The hot path: reference -> finished URL for the current generation only, dropped whole when the
  // generation moves. A cached url() is then one Map.get, no key building, no LRU bookkeeping.
  #urls = new Map<string, string>();
  #warned = new Set<string>();
  #generation: number;
  #nocache = false;
  #storeFresh: boolean;
  #watcherState: WatcherState = 'off';
  // True when any reason to skip caching holds; one field so url() tests one boolean.
  #bypass = false;
  #hits = 0;
  #misses = 0;
  #watcher: RootWatcher | undefined;
  #closed = false;

  /** Use {@link createStaticHasher}: it loads the hash function, which this constructor expects loaded. */
  constructor(options: NormalizedOptions) {
    this.options = Object.freeze(options);
    this.#store = options.generation ?? new MemoryGenerationStore();
    this.#generation = this.#store.current;
    this.#storeFresh = this.#store.fresh;
    this.#hashes = new LRUCache({ max: options.maxEntries });
    this.#unsubscribe = this.#store.subscribe((state) => this.#onStoreState(state));
    this.#updateBypass();
    if (options.watch) {
      this.#watcherState = 'starting';
      this.#watcher = watchRoots(options.roots, options.watch, {
        onChange: () => this.#onGeneration(this.#store.bump()),
        onFailure: (error) => this.#onWatcherFailure(error),
      });
      this.ready = this.#watcher.ready.then(() => {
        if (this.#watcherState === 'starting') this.#watcherState = 'watching';
      });
    } else {
      this.ready = Promise.resolve();
    }
  }

  /** The current generation. Only ever moves forward. */
  get generation(): number {
    return this.#generation;
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
    if (!this.#bypass) {
      const cached = this.#urls.get(reference);
      if (cached !== undefined) {
        this.#hits++;
        return cached;
      }
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
    const hash = this.#cachedHash(parsed, reference, this.#generation);
    if (hash === MISSING) return undefined;
    return { path: parsed.path, file: resolved.file, hash, url: this.#formatUrl(parsed, hash) };
  }

  /**
   * The bytes a reference's hash covers: the file's contents. Resolves to undefined when no root has
   * the file.
   *
   * @example
   * const bytes = await hasher.read('js/app.js');
   */
  async read(reference: string): Promise<Buffer | undefined> {
    const parsed = parseReference(reference);
    const resolved = resolveFile(parsed.path, this.options.roots, reference);
    if (resolved === undefined) return undefined;
    const fail = (error: unknown): never => {
      throw new StaticHashError('ERR_STATIC_IO', `static: cannot read ${describeValue(reference)}: ${(error as Error).message}`, {
        reference, file: resolved.file, cause: error,
      });
    };
    let handle: fs.promises.FileHandle;
    try {
      // The same flags as hashing: no symlink swapped in since resolution, no hang on a FIFO.
      handle = await fs.promises.open(resolved.file, SAFE_OPEN_FLAGS);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      if (code === 'ELOOP') {
        throw new StaticHashError('ERR_STATIC_UNSAFE_PATH', `static: unsafe path ${describeValue(reference)}: it became a symlink`, { reference, file: resolved.file });
      }
      return fail(error);
    }
    try {
      if (!(await handle.stat()).isFile()) {
        throw new StaticHashError('ERR_STATIC_NOT_A_FILE', `static: not a file: ${describeValue(reference)} is a directory or special file`, { reference, file: resolved.file });
      }
      return await handle.readFile();
    } catch (error) {
      if (error instanceof StaticHashError) throw error;
      return fail(error);
    } finally {
      await handle.close();
    }
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
        throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: option "nocache" must be a boolean; got ${describeValue(options.nocache)}`, {
          option: 'nocache', value: options.nocache,
        });
      }
      this.#nocache = options.nocache;
      this.#updateBypass();
    }
    this.#onGeneration(this.#store.bump());
    return this.#generation;
  }

  /**
   * Hashes every file under the roots now, so the first page views hash nothing. Files whose names
   * cannot be written as a reference (containing '?', '#', '\\') are skipped.
   */
  async warm(): Promise<WarmResult> {
    const generation = this.#generation;
    const { roots } = this.options;
    let files = 0;
    let visited = 0;
    for (const [index, root] of roots.entries()) {
      // [real directory, its reference prefix ending in '/' or '']
      const pending: Array<[string, string]> = [[root.realDir, root.prefix]];
      while (pending.length > 0) {
        const [dir, prefix] = pending.pop()!;
        let entries: fs.Dirent[];
        try {
          entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
          continue; // removed while walking
        }
        for (const entry of entries) {
          const full = dir + path.sep + entry.name;
          const reference = prefix + entry.name;
          // Symlinked directories are not descended into (they could loop); symlinked files are
          // hashed if their target stays inside the root, as for any lookup.
          if (entry.isDirectory()) {
            pending.push([full, `${reference}/`]);
            continue;
          }
          if (!entry.isFile() && !entry.isSymbolicLink()) continue;
          if (reference.includes('?') || reference.includes('#') || reference.includes('\\')) continue;
          // The walk starts at the root's real path and never follows a symlinked directory, so a
          // plain file's path here is already its real path inside the root: the realpath call
          // (a syscall per path component, most of warm()'s overhead over bare reading) is skipped,
          // unless an earlier root (longer or equal prefix) could claim the reference first.
          const known = entry.isFile() && !this.#claimedEarlier(reference, index) ? full : undefined;
          try {
            // Only the hash is cached here: URLs are formatted (cheaply, from the cached hash) on first
            // use, so warming costs little more than reading the files.
            if (this.#cachedHash(parseReference(reference), reference, generation, known) !== MISSING) files++;
          } catch (error) {
            if (!(error instanceof StaticHashError)) throw error;
          }
          // Let other work run now and then while warming a large tree.
          if (++visited % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
    return { files, generation };
  }

  /** Whether a root before `index` (searched first) has a prefix matching `reference`. */
  #claimedEarlier(reference: string, index: number): boolean {
    const { roots } = this.options;
    for (let earlier = 0; earlier < index; earlier++) {
      const { prefix } = roots[earlier]!;
      if (prefix === '' || reference.startsWith(prefix)) return true;
    }
    return false;
  }

  /** Counters and state, for health checks and tests. */
  stats(): StaticHasherStats {
    return {
      generation: this.#generation,
      entries: this.#hashes.size,
      hits: this.#hits,
      misses: this.#misses,
      bypass: this.#bypass,
      watcher: this.#watcherState,
    };
  }

  /** Stops the watcher and the generation store's subscription. Idempotent; lookups keep working. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    if (this.#watcher) {
      this.#watcherState = 'closed';
      await this.#watcher.close();
    }
    await this.#store.close?.();
  }

  #lookup(reference: string): Lookup {
    // Read the generation once, first: a hash computed from content that changes mid-read is stored
    // under the generation that was current before the change, never under a later one.
    const generation = this.#generation;
    const parsed = parseReference(reference);
    const cacheable = !this.#bypass;
    const hash = this.#cachedHash(parsed, reference, generation);
    const found = hash === MISSING ? undefined : hash;
    if (found === undefined) this.#onMissing(parsed, reference, generation);
    const url = this.#formatUrl(parsed, found);
    if (cacheable && generation === this.#generation) {
      // Bounded like the LRU: a flood of distinct references restarts the map rather than grow it.
      if (this.#urls.size >= this.options.maxEntries) this.#urls = new Map();
      this.#urls.set(reference, url);
    }
    return { url, hash: found };
  }

  /**
   * The hash of a parsed reference under `generation`, from the LRU or computed and stored there.
   * `knownFile`: the file's real path inside its root, when the caller already knows it (warm()).
   */
  #cachedHash(parsed: ParsedReference, reference: string, generation: number, knownFile?: string): string {
    const cacheable = !this.#bypass;
    const key = `${generation}:${parsed.path}`;
    let hash = cacheable ? this.#hashes.get(key) : undefined;
    if (hash === undefined) {
      this.#misses++;
      hash = this.#hashFile(parsed, reference, knownFile);
      if (cacheable && generation === this.#generation) this.#hashes.set(key, hash);
    } else {
      this.#hits++;
    }
    return hash;
  }

  /** The first `hashLength` hex characters of the file's digest, or MISSING. */
  #hashFile(parsed: ParsedReference, reference: string, knownFile?: string): string {
    let file = knownFile;
    if (file === undefined) {
      const resolved = resolveFile(parsed.path, this.options.roots, reference);
      if (resolved === undefined) return MISSING;
      file = resolved.file;
    }
    return digestFile(file, reference)?.slice(0, this.options.hashLength) ?? MISSING;
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
    const { onMissing, roots, logger } = this.options;
    if (onMissing === 'ignore') return;
    const file = firstCandidate(parsed.path, roots);
    if (onMissing === 'throw') {
      throw new StaticHashError('ERR_STATIC_NOT_FOUND', `static: file not found: ${describeValue(reference)} (looked for ${file})`, {
        reference, file,
      });
    }
    const key = `${generation}:${parsed.path}`;
    if (this.#warned.has(key)) return;
    if (this.#warned.size >= this.options.maxEntries) this.#warned.clear();
    this.#warned.add(key);
    logger.warn(`static-hash: file not found: ${describeValue(reference)} (looked for ${file}); serving it without a version`);
  }

  #onGeneration(generation: number): void {
    // Generations only move forward, even if a shared store reports an older value late.
    if (generation <= this.#generation) return;
    this.#generation = generation;
    this.#urls = new Map();
    this.#warned.clear();
  }

  #onStoreState(state: GenerationState): void {
    // Back in touch with no new generation: hashes cached before the outage may predate what was
    // served fresh during it, so they go; URLs must not flip back to older content.
    if (state.fresh && !this.#storeFresh) this.#hashes.clear();
    this.#storeFresh = state.fresh;
    this.#updateBypass();
    this.#onGeneration(state.generation);
  }

  #onWatcherFailure(error: Error): void {
    this.#watcherState = 'degraded';
    this.#updateBypass();
    this.options.logger.warn(
      `static-hash: the file watcher failed (${error.message}); every lookup now hashes afresh (nocache) so no URL goes stale`,
    );
  }

  #updateBypass(): void {
    this.#bypass = this.#nocache || !this.#storeFresh || this.#watcherState === 'degraded';
    if (this.#bypass) this.#urls = new Map();
  }
}

/**
 * Creates a hasher. Async only because the xxHash WebAssembly module loads asynchronously; every
 * lookup afterwards is synchronous.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` naming the first bad option.
 * @example
 * const hasher = await createStaticHasher({ root: 'public' });
 * hasher.url('js/app.js'); //=> '/static/js/app.js?v=3f9a1c0b7d2e'
 */
export async function createStaticHasher(options: StaticHasherOptions = {}): Promise<StaticHasher> {
  const normalized = normalizeOptions(options);
  await loadDigester();
  await normalized.generation?.open?.();
  return new StaticHasher(normalized);
}
