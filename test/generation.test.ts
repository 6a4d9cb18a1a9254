import { createStaticHasher, MemoryGenerationStore, type GenerationState, type GenerationStore, type StaticHasher } from '../src/index';
// GenerationCache from the internal module the adapters use: the same class every core cache is.
import { GenerationCache, GenerationClock } from '../src/internal';
import { makeFixture, type Fixture } from './helpers/fixture';

/**
 * A store whose value other processes change: `remote()` stands for a change heard from elsewhere
 * (as the Redis store reports one), `disconnect()` / `reconnect()` for losing and regaining touch.
 */
class SharedStore implements GenerationStore {
  current = 0;
  fresh = true;
  opened = 0;
  closed = 0;
  unsubscribed = 0;
  #listeners = new Set<(state: GenerationState) => void>();

  bump(): number {
    this.current += 1;
    return this.current;
  }
  subscribe(listener: (state: GenerationState) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.unsubscribed++;
      this.#listeners.delete(listener);
    };
  }
  async open(): Promise<void> {
    this.opened++;
    this.current = 40; // the shared value, read at startup
  }
  async close(): Promise<void> {
    this.closed++;
  }
  remote(generation: number): void {
    this.current = generation;
    this.#emit();
  }
  disconnect(): void {
    this.fresh = false;
    this.#emit();
  }
  reconnect(): void {
    this.fresh = true;
    this.#emit();
  }
  #emit(): void {
    for (const listener of this.#listeners) listener({ generation: this.current, fresh: this.fresh });
  }
}

let fixture: Fixture;
let hasher: StaticHasher | undefined;
beforeEach(() => {
  fixture = makeFixture({ 'app.js': 'one' });
});
afterEach(async () => {
  await hasher?.close();
  hasher = undefined;
  fixture.cleanup();
});

describe('MemoryGenerationStore', () => {
  it('counts up by one on every bump, however close together', () => {
    const store = new MemoryGenerationStore();
    expect(store.current).toBe(0);
    const seen = Array.from({ length: 1000 }, () => store.bump());
    expect(new Set(seen).size).toBe(1000);
    expect(seen[999]).toBe(1000);
    expect(store.fresh).toBe(true);
  });

  it('starts from a given generation', () => {
    const store = new MemoryGenerationStore(7);
    expect(store.bump()).toBe(8);
  });

  it('subscribe() returns an unsubscribe function', () => {
    const store: GenerationStore = new MemoryGenerationStore();
    expect(typeof store.subscribe(() => {})).toBe('function');
  });

  it('is the store a hasher uses by default, one per hasher', async () => {
    hasher = await createStaticHasher({ root: fixture.dir });
    const other = await createStaticHasher({ root: fixture.dir });
    hasher.invalidate();
    expect(other.generation).toBe(0);
    await other.close();
  });
});

describe('a shared GenerationStore', () => {
  it('is opened before the hasher is returned, and its generation is the hasher\'s', async () => {
    const store = new SharedStore();
    hasher = await createStaticHasher({ root: fixture.dir, generation: store });
    expect(store.opened).toBe(1);
    expect(hasher.generation).toBe(40);
    expect(hasher.invalidate()).toBe(41);
    expect(store.current).toBe(41);
  });

  it('a remote bump moves the generation: cached URLs are dropped and files hashed afresh', async () => {
    const store = new SharedStore();
    hasher = await createStaticHasher({ root: fixture.dir, generation: store });
    const before = hasher.url('app.js');
    fixture.write('app.js', 'two');
    expect(hasher.url('app.js')).toBe(before);
    store.remote(45);
    expect(hasher.generation).toBe(45);
    expect(hasher.url('app.js')).not.toBe(before);
  });

  it('never moves backwards when a store reports an older generation late', async () => {
    const store = new SharedStore();
    hasher = await createStaticHasher({ root: fixture.dir, generation: store });
    store.remote(50);
    const url = hasher.url('app.js');
    fixture.write('app.js', 'two');
    store.remote(48);
    expect(hasher.generation).toBe(50);
    expect(hasher.url('app.js')).toBe(url);
  });

  it('while the store is out of touch, every lookup hashes afresh; back in touch, caching resumes', async () => {
    const store = new SharedStore();
    hasher = await createStaticHasher({ root: fixture.dir, generation: store });
    const first = hasher.url('app.js');
    store.disconnect();
    expect(hasher.stats().bypass).toBe(true);
    fixture.write('app.js', 'two');
    const second = hasher.url('app.js');
    expect(second).not.toBe(first);
    store.reconnect();
    expect(hasher.stats().bypass).toBe(false);
    // Never back to the hash cached before the outage ('one'): the first lookup hashes afresh...
    const third = hasher.url('app.js');
    expect(third).toBe(second);
    // ...and is cached again.
    fixture.write('app.js', 'three');
    expect(hasher.url('app.js')).toBe(second);
  });

  it('back in touch, no cache keeps a value from before the outage: integrity() and stylesheets too, not only hashes', async () => {
    const store = new SharedStore();
    fixture.write('site.css', 'a { background: url(app.js) }');
    hasher = await createStaticHasher({ root: fixture.dir, generation: store });
    const before = { integrity: hasher.integrity('app.js'), sheet: hasher.hash('site.css') };
    store.disconnect();
    fixture.write('app.js', 'changed while out of touch');
    const during = { integrity: hasher.integrity('app.js'), sheet: hasher.hash('site.css') };
    expect(during.integrity).not.toBe(before.integrity);
    expect(during.sheet).not.toBe(before.sheet);
    store.reconnect();
    expect(hasher.integrity('app.js')).toBe(during.integrity);
    expect(hasher.hash('site.css')).toBe(during.sheet);
  });

  it('close() unsubscribes once, however often it is called, and leaves a store it was given open', async () => {
    const store = new SharedStore();
    hasher = await createStaticHasher({ root: fixture.dir, generation: store });
    await hasher.close();
    await hasher.close();
    expect(store.unsubscribed).toBe(1);
    // Issue #13: the store is the caller's (other hashers may share it); closing it is theirs to do.
    expect(store.closed).toBe(0);
    store.remote(99);
    expect(hasher.generation).toBe(40);
  });

  it('a hasher closed on a shared store leaves the others on it moving, with any of them invalidating', async () => {
    const store = new MemoryGenerationStore();
    const first = await createStaticHasher({ root: fixture.dir, generation: store });
    const second = await createStaticHasher({ root: fixture.dir, generation: store });
    hasher = second;
    const third = await createStaticHasher({ root: fixture.dir, generation: store });
    const before = second.url('app.js');
    fixture.write('app.js', 'two');
    first.invalidate();
    expect([second.generation, third.generation]).toEqual([1, 1]);
    await first.close();
    third.invalidate();
    expect(second.generation).toBe(2);
    expect(second.url('app.js')).not.toBe(before);
    expect(second.stats().bypass).toBe(false);
    await third.close();
  });
});

describe('GenerationCache (src/internal.ts)', () => {
  describe.each(['drop', 'orphan'] as const)("onMove: '%s'", (onMove) => {
    it('keeps what a lookup of the current generation stores', () => {
      const clock = new GenerationClock(3);
      const cache = new GenerationCache<string, string>(clock, { onMove, maxEntries: 10 });
      expect(cache.set('a', 'A', 3)).toBe(true);
      expect(cache.get('a', 3)).toBe('A');
      expect(cache.get('a')).toBe('A');
      expect(cache.size).toBe(1);
    });

    it('refuses a write from a lookup that began under an older generation', () => {
      const clock = new GenerationClock(3);
      const cache = new GenerationCache<string, string>(clock, { onMove, maxEntries: 10 });
      clock.advance(4);
      expect(cache.set('a', 'stale', 3)).toBe(false);
      expect(cache.get('a')).toBeUndefined();
      expect(cache.get('a', 3)).toBeUndefined();
      expect(cache.size).toBe(0);
    });

    it('refuses writes and answers nothing while bypassing, and keeps nothing from before it', () => {
      const clock = new GenerationClock(0);
      const cache = new GenerationCache<string, string>(clock, { onMove, maxEntries: 10 });
      cache.set('a', 'A', 0);
      clock.setBypass(true);
      expect(cache.get('a')).toBeUndefined();
      expect(cache.set('b', 'B', 0)).toBe(false);
      clock.setBypass(false);
      expect(cache.get('b')).toBeUndefined();
      // A bypass is entered because the cached values may be stale: a 'drop' cache forgets them; an
      // 'orphan' cache's owner moves the generation (or clears it) before trusting it again.
      if (onMove === 'drop') expect(cache.get('a')).toBeUndefined();
    });

    it('never answers a newer generation with an older one\'s value', () => {
      const clock = new GenerationClock(0);
      const cache = new GenerationCache<string, string>(clock, { onMove, maxEntries: 10 });
      cache.set('a', 'old', 0);
      clock.advance(1);
      expect(cache.get('a')).toBeUndefined();
      expect(cache.get('a', 1)).toBeUndefined();
      cache.set('a', 'new', 1);
      expect(cache.get('a')).toBe('new');
      // Generations only move forward: an older value reported late changes nothing.
      expect(clock.advance(0)).toBe(false);
      expect(clock.generation).toBe(1);
      expect(cache.get('a')).toBe('new');
    });

    it('is bounded', () => {
      const clock = new GenerationClock(0);
      const cache = new GenerationCache<string, number>(clock, { onMove, maxEntries: 50 });
      for (let index = 0; index < 1000; index++) cache.set(`k${index}`, index, 0);
      expect(cache.size).toBeLessThanOrEqual(50);
      expect(cache.get('k999')).toBe(999);
    });
  });

  it("'drop' holds the current generation only; 'orphan' lets a lookup begun earlier find its own generation's entries", () => {
    const clock = new GenerationClock(0);
    const dropped = new GenerationCache<string, string>(clock, { onMove: 'drop', maxEntries: 10 });
    const orphaned = new GenerationCache<string, string>(clock, { maxEntries: 10 });
    dropped.set('a', 'A0', 0);
    orphaned.set('a', 'A0', 0);
    clock.advance(1);
    expect(dropped.size).toBe(0);
    expect(orphaned.size).toBe(1);
    expect(orphaned.get('a', 0)).toBe('A0');
    expect(orphaned.get('a')).toBeUndefined();
  });

  it('forgetAll() empties every cache bound to the clock, whatever its kind, without moving the generation', () => {
    const clock = new GenerationClock(7);
    const caches = [
      new GenerationCache<string, string>(clock, { onMove: 'drop', maxEntries: 10 }),
      new GenerationCache<string, string>(clock, { maxEntries: 10 }),
      new GenerationCache<string, Buffer>(clock, { maxEntries: 10, maxSize: 1000, sizeOf: (bytes) => bytes.length }),
    ] as const;
    caches[0].set('a', 'A', 7);
    caches[1].set('a', 'A', 7);
    caches[2].set('a', Buffer.from('A'), 7);
    clock.forgetAll();
    expect(caches.map((cache) => cache.size)).toEqual([0, 0, 0]);
    expect(clock.generation).toBe(7);
  });

  it('bounds a sized cache by the total size of its values', () => {
    const clock = new GenerationClock(0);
    const cache = new GenerationCache<string, Buffer>(clock, { maxEntries: 1000, maxSize: 100, sizeOf: (bytes) => bytes.length });
    for (let index = 0; index < 20; index++) cache.set(`b${index}`, Buffer.alloc(10), 0);
    expect(cache.size).toBe(10);
    // An entry above a quarter of the bound is not kept at all.
    cache.set('big', Buffer.alloc(30), 0);
    expect(cache.get('big')).toBeUndefined();
  });
});
