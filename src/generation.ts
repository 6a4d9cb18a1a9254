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
