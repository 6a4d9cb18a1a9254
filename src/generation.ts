import { LRUCache } from 'lru-cache';

/**
 * What a {@link GenerationStore} tells its subscribers: the generation it last saw and whether it
 * can vouch for it. While `fresh` is false (say, a shared store lost its server), the hasher caches
 * nothing, so no lookup can return a hash from before a change it did not hear about.
 */
export interface GenerationState {
  generation: number;
  fresh: boolean;
}

/**
 * Holds the generation number (Django's cache "prefix key"): every cached hash is stored under the
 * generation current when its lookup began, so moving the generation orphans all of them at once.
 *
 * The generation only ever moves forward. Implementations must answer `current` and `bump()`
 * synchronously, because templates render synchronously; a shared store mirrors the shared value
 * locally and reports remote changes through `subscribe()`.
 */
export interface GenerationStore {
  /** The generation as last seen by this process. */
  readonly current: number;
  /** Whether `current` can be trusted now (false while a shared store is out of touch). */
  readonly fresh: boolean;
  /** Moves the generation forward and returns the new value (at least `current + 1`). */
  bump(): number;
  /**
   * Calls `listener` whenever `current` or `fresh` changes, through `bump()` too: every hasher
   * sharing the store then moves with any of them. Returns an unsubscribe function.
   */
  subscribe(listener: (state: GenerationState) => void): () => void;
  /** Resolves once `current` reflects the shared value (a shared store reads it at startup). */
  open?(): Promise<void>;
  /** Releases what the store holds (subscriptions, timers). Idempotent. Called by whoever created the store, never by a hasher it was given to. */
  close?(): Promise<void>;
}

/**
 * The default store: a plain counter in this process. Every `bump()` gives a new number, however
 * close together the calls are (unlike a timestamp, two bumps in one millisecond never collide).
 *
 * @example
 * const store = new MemoryGenerationStore();
 * store.bump(); //=> 1
 */
export class MemoryGenerationStore implements GenerationStore {
  #current: number;
  readonly fresh = true;
  readonly #listeners = new Set<(state: GenerationState) => void>();

  constructor(initial = 0) {
    this.#current = initial;
  }

  get current(): number {
    return this.#current;
  }

  bump(): number {
    this.#current += 1;
    // Hashers sharing this store all move, whichever of them invalidated.
    const state: GenerationState = { generation: this.#current, fresh: true };
    for (const listener of this.#listeners) listener(state);
    return this.#current;
  }

  subscribe(listener: (state: GenerationState) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}

/**
 * The generation and bypass state a set of {@link GenerationCache}s is bound to. Its owner (a hasher)
 * moves it; the caches read it to refuse writes that would outlive a change. Internal: adapters reach
 * a hasher's clock through src/internal.ts.
 */
export class GenerationClock {
  #generation: number;
  #bypass = false;
  // Caches dropped whole when the generation moves or bypassing starts; and every cache bound here.
  readonly #dropped = new Set<{ clear(): void }>();
  readonly #all = new Set<{ clear(): void }>();

  constructor(generation: number) {
    this.#generation = generation;
  }

  /** The current generation. */
  get generation(): number {
    return this.#generation;
  }

  /** Whether every lookup hashes afresh: nothing may be read from or written to a cache. */
  get bypass(): boolean {
    return this.#bypass;
  }

  /** Moves to `generation` if it is newer (generations only move forward). Returns whether it moved. */
  advance(generation: number): boolean {
    if (generation <= this.#generation) return false;
    this.#generation = generation;
    for (const cache of this.#dropped) cache.clear();
    return true;
  }

  /** Starts or stops bypassing; starting drops the whole-generation caches, so nothing stale is kept for later. */
  setBypass(bypass: boolean): void {
    this.#bypass = bypass;
    if (bypass) for (const cache of this.#dropped) cache.clear();
  }

  /**
   * Empties every cache bound to this clock, of every generation: for when values cached under the
   * current generation can no longer be trusted without the generation moving (a shared store back in
   * touch after missing changes). No cache can be forgotten here, since each one registers itself.
   */
  forgetAll(): void {
    for (const cache of this.#all) cache.clear();
  }

  /** @internal registers a cache; `dropOnMove`: dropped whole on every move and when bypassing starts. */
  track(cache: { clear(): void }, dropOnMove: boolean): void {
    this.#all.add(cache);
    if (dropOnMove) this.#dropped.add(cache);
  }
}

/** Options of {@link GenerationCache}. */
export interface GenerationCacheOptions<V> {
  /**
   * `'drop'`: holds the current generation only, dropped whole when the generation moves; a lookup
   * is one `Map.get` (the hot path's finished URLs). `'orphan'`: entries are keyed by the generation
   * they were computed under, so a move orphans them in O(1) and they age out of a bounded LRU
   * (Django's prefix-key scheme); a lookup that began under an older generation still finds that
   * generation's entries.
   * @default 'orphan'
   */
  onMove?: 'drop' | 'orphan';
  /** Most entries held (a full 'drop' cache starts afresh rather than grow). */
  maxEntries: number;
  /** With 'orphan': a total size bound instead of `maxEntries`, each entry measured by `sizeOf`. */
  maxSize?: number;
  /** With `maxSize`: the size of one value (at least 1). */
  sizeOf?: (value: V) => number;
}

/**
 * A cache of values computed under a generation, for every per-generation cache of the package:
 * reads give nothing while the clock bypasses, and a write is refused while bypassing or when it
 * comes from a lookup that began under an older generation than the current one. That one guard is
 * what keeps "no lookup made after a change was observed returns a hash read before it".
 *
 * @example
 * const clock = new GenerationClock(0);
 * const urls = new GenerationCache<string, string>(clock, { onMove: 'drop', maxEntries: 1000 });
 * urls.set('a.js', '/static/a.js?v=1', clock.generation); //=> true
 * clock.advance(1);
 * urls.get('a.js'); //=> undefined
 */
export class GenerationCache<K extends string, V extends {}> {
  readonly #clock: GenerationClock;
  readonly #maxEntries: number;
  // 'drop': the current generation's entries (one Map for the cache's life, cleared in place, so
  // view() stays valid); 'orphan': undefined.
  readonly #map: Map<K, V> | undefined;
  readonly #lru: LRUCache<string, V> | undefined;
  // The last "<generation>:<key>" built: a lookup's get() and set() name the same entry, built once.
  #lastKey: K | undefined;
  #lastGeneration = -1;
  #lastEntry = '';

  constructor(clock: GenerationClock, options: GenerationCacheOptions<V>) {
    this.#clock = clock;
    this.#maxEntries = options.maxEntries;
    if (options.onMove === 'drop') {
      this.#map = new Map();
      this.#lru = undefined;
    } else {
      // Bounded by count as a size of 1 per entry, not with `max`: lru-cache preallocates its arrays
      // for `max` entries, 1.4 ms for 10,000 (three of them were half of createStaticHasher()'s
      // time, a cold start's cost); sized entries grow the arrays as they come.
      this.#lru = options.maxSize === undefined
        ? new LRUCache({ maxSize: options.maxEntries, sizeCalculation: () => 1 })
        : new LRUCache({
          maxSize: options.maxSize,
          maxEntrySize: options.maxSize / 4,
          sizeCalculation: (value: V) => Math.max(1, options.sizeOf?.(value) ?? 1),
        });
    }
    clock.track(this, options.onMove === 'drop');
  }

  /**
   * The value stored for `key` under `generation` (default: the current one), or undefined. A 'drop'
   * cache holds only the current generation and is empty while bypassing, so its lookup is one Map.get.
   */
  get(key: K, generation?: number): V | undefined {
    if (this.#lru === undefined) return this.#map!.get(key);
    if (this.#clock.bypass) return undefined;
    return this.#lru.get(this.#entryKey(key, generation ?? this.#clock.generation));
  }

  #entryKey(key: K, generation: number): string {
    if (key !== this.#lastKey || generation !== this.#lastGeneration) {
      this.#lastKey = key;
      this.#lastGeneration = generation;
      this.#lastEntry = `${generation}:${key}`;
    }
    return this.#lastEntry;
  }

  /**
   * A 'drop' cache's entries as a live read-only Map, for a hot path that must cost exactly one
   * `Map.get` (the hasher's cached `url()`): it only ever holds the current generation's entries,
   * and nothing while bypassing, so reading it needs no check. Writes still go through set().
   */
  view(): ReadonlyMap<K, V> {
    if (this.#map === undefined) throw new TypeError("GenerationCache.view() is for onMove: 'drop' caches");
    return this.#map;
  }

  /** Stores `value`, computed by a lookup that began under `generation`, if that is still allowed. Returns whether it was stored. */
  set(key: K, value: V, generation: number): boolean {
    const clock = this.#clock;
    if (clock.bypass || generation !== clock.generation) return false;
    if (this.#map !== undefined) {
      // Bounded like the LRU: a flood of distinct keys restarts the map rather than grow it.
      if (this.#map.size >= this.#maxEntries) this.#map.clear();
      this.#map.set(key, value);
    } else {
      this.#lru!.set(this.#entryKey(key, generation), value);
    }
    return true;
  }

  /** Forgets `key` under `generation` (default: the current one): what it was computed from changed. */
  delete(key: K, generation?: number): void {
    if (this.#map !== undefined) this.#map.delete(key);
    else this.#lru!.delete(`${generation ?? this.#clock.generation}:${key}`);
  }

  /** Entries held, current and (with 'orphan') orphaned. */
  get size(): number {
    return this.#map?.size ?? this.#lru!.size;
  }

  /** Forgets every entry of every generation. */
  clear(): void {
    if (this.#map !== undefined) this.#map.clear();
    else this.#lru!.clear();
  }
}
