import { createStaticHasher, MemoryGenerationStore, type GenerationState, type GenerationStore, type StaticHasher } from '../src/index';
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
