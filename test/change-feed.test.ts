import { createStaticHasher, MemoryGenerationStore, type ChangeEvent, type GenerationState, type StaticHasher } from '../src/index';
// Test seam, not part of the public API: how many paths the watcher recorded for the feed.
import { watcherOf } from '../src/hasher';
import { makeFixture, recordingLogger, type Fixture } from './helpers/fixture';

// Every wait polls an observable state with a generous bound: nothing here asserts on time.
const TIMEOUT_MS = 15_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function fixture(files: Record<string, string>): Fixture {
  const made = makeFixture(files);
  cleanups.push(() => made.cleanup());
  return made;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function watching(dir: string): Promise<{ hasher: StaticHasher; events: ChangeEvent[]; warnings: string[] }> {
  const logger = recordingLogger();
  const hasher = await createStaticHasher({ root: dir, watch: true, logger, onMissing: 'ignore' });
  cleanups.push(() => hasher.close());
  await hasher.ready;
  const events: ChangeEvent[] = [];
  hasher.on('change', (event) => events.push(event));
  return { hasher, events, warnings: logger.warnings };
}

/** Waits for a 'watch' event naming `reference`, and returns the union of references reported until then. */
async function reported(events: ChangeEvent[], reference: string): Promise<Set<string>> {
  await waitFor(() => events.some((event) => event.references?.includes(reference)), `a change event naming ${reference}`);
  return new Set(events.flatMap((event) => event.references ?? []));
}

describe('the change feed', () => {
  test('a watched edit reports the file, and every stylesheet referencing it, transitively', async () => {
    const site = fixture({
      'img/logo.png': 'png-1',
      'css/theme.css': '.logo { background: url(../img/logo.png) }',
      'css/site.css': '@import "theme.css"; body { color: red }',
      'css/other.css': 'p { color: blue }',
      'js/app.js': 'console.log(1)',
    });
    const { hasher, events } = await watching(site.dir);
    // The stylesheets are read (rendered) once, as a page would: the feed knows what they reference.
    const before = { site: hasher.url('css/site.css'), theme: hasher.url('css/theme.css'), other: hasher.url('css/other.css') };
    const generationBefore = hasher.generation;
    site.write('img/logo.png', 'png-2');
    const references = await reported(events, 'img/logo.png');
    expect(references).toEqual(new Set(['img/logo.png', 'css/theme.css', 'css/site.css']));
    const event = events.find((entry) => entry.references?.includes('img/logo.png'))!;
    expect(event.cause).toBe('watch');
    // A write can reach the watcher as two events (truncate, then data) on a busy machine, and a burst
    // moves the generation without an event until it settles; then the event it ends with carries
    // the generation the hasher is at. So: the first event is past the generation before the write,
    // and (bounded) the newest event catches up with the hasher's generation.
    expect(event.generation).toBeGreaterThan(generationBefore);
    expect(event.generation).toBeLessThanOrEqual(hasher.generation);
    await waitFor(() => Math.max(...events.map((entry) => entry.generation)) === hasher.generation, 'an event with the current generation');
    expect(Object.isFrozen(event)).toBe(true);
    // What the feed reports is what changed: the two stylesheets' URLs moved, the untouched one did not.
    expect(hasher.url('css/theme.css')).not.toBe(before.theme);
    expect(hasher.url('css/site.css')).not.toBe(before.site);
    expect(hasher.url('css/other.css')).toBe(before.other);

    events.length = 0;
    site.write('js/app.js', 'console.log(2)');
    expect(await reported(events, 'js/app.js')).toEqual(new Set(['js/app.js']));
  });

  test('a stylesheet cycle is reported whole, and a prefixed root names references with its prefix', async () => {
    const site = fixture({ 'a.css': '@import "b.css";', 'b.css': '@import "a.css"; .x { background: url(x.svg) }', 'x.svg': '<svg/>' });
    const logger = recordingLogger();
    const hasher = await createStaticHasher({ roots: [{ dir: site.dir, prefix: 'theme/' }], watch: true, logger, onMissing: 'ignore' });
    cleanups.push(() => hasher.close());
    await hasher.ready;
    const events: ChangeEvent[] = [];
    hasher.on('change', (event) => events.push(event));
    hasher.url('theme/a.css');
    site.write('x.svg', '<svg></svg>');
    expect(await reported(events, 'theme/x.svg')).toEqual(new Set(['theme/x.svg', 'theme/a.css', 'theme/b.css']));
  });

  test('invalidate(), a shared store, a server noticing a change and notify() report "anything may have changed" or what they name', async () => {
    let push!: (state: GenerationState) => void;
    const base = new MemoryGenerationStore();
    const store = {
      get current() { return base.current; },
      get fresh() { return true; },
      bump: () => base.bump(),
      subscribe(listener: (state: GenerationState) => void) {
        push = listener;
        return () => {};
      },
    };
    const site = fixture({ 'a.txt': 'a' });
    const hasher = await createStaticHasher({ root: site.dir, generation: store, logger: recordingLogger() });
    cleanups.push(() => hasher.close());
    const events: ChangeEvent[] = [];
    hasher.on('change', (event) => events.push(event));

    const generation = hasher.invalidate();
    expect(events).toEqual([{ generation, cause: 'invalidate', references: undefined }]);

    push({ generation: generation + 5, fresh: true });
    expect(events[1]).toEqual({ generation: generation + 5, cause: 'store', references: undefined });
    // The same generation again (a late echo) moves nothing and reports nothing.
    push({ generation: generation + 5, fresh: true });
    expect(events).toHaveLength(2);

    hasher.notify(['b.txt', 'a.txt', 'a.txt']);
    hasher.notify();
    expect(events.slice(2)).toEqual([
      { generation: generation + 5, cause: 'notify', references: ['a.txt', 'b.txt'] },
      { generation: generation + 5, cause: 'notify', references: undefined },
    ]);
    expect(() => hasher.notify('a.txt' as never)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION' }));

    // A server finding the file changed since it was hashed (no watcher here) moves the generation.
    expect((await hasher.asset('a.txt'))?.version).toBe(hasher.hash('a.txt'));
    site.write('a.txt', 'changed, and longer');
    await hasher.asset('a.txt');
    await waitFor(() => events.some((event) => event.cause === 'asset'), 'an asset change event');
    expect(events.at(-1)).toEqual({ generation: hasher.generation, cause: 'asset', references: undefined });
  });

  test('warnings go to the logger and to "warning" listeners; a throwing listener is a warning, not a crash', async () => {
    const site = fixture({ 'css/site.css': 'a { background: url(/nowhere/../../x.png) }' });
    const logger = recordingLogger();
    const hasher = await createStaticHasher({ root: site.dir, logger, onMissing: 'warn' });
    const heard: string[] = [];
    hasher.on('warning', (message) => heard.push(message));
    hasher.url('missing.js');
    hasher.url('css/site.css');
    expect(heard.length).toBeGreaterThanOrEqual(2);
    expect(heard).toEqual(logger.warnings);
    expect(heard.some((message) => message.includes('missing.js'))).toBe(true);
    expect(heard.some((message) => message.includes('stylesheet'))).toBe(true);

    hasher.on('change', () => {
      throw new Error('listener bug');
    });
    expect(() => hasher.invalidate()).not.toThrow();
    expect(logger.warnings.at(-1)).toMatch(/'change' listener threw: listener bug/);
  });

  test('a watcher failure reaches "error" listeners (and only if there are some) and reports everything changed', async () => {
    const site = fixture({ 'a.txt': 'a' });
    const { hasher, events, warnings } = await watching(site.dir);
    const errors: Error[] = [];
    hasher.on('error', (error) => errors.push(error));
    watcherOf(hasher)!.chokidar.emit('error', new Error('ENOSPC: injected'));
    await waitFor(() => errors.length === 1, 'the error event');
    expect(errors[0]!.message).toBe('ENOSPC: injected');
    expect(warnings.some((message) => message.includes('ENOSPC: injected'))).toBe(true);
    expect(events.at(-1)).toMatchObject({ cause: 'watch', references: undefined });

    // Without an 'error' listener the failure is only a warning (an EventEmitter would throw it).
    const other = fixture({ 'a.txt': 'a' });
    const quiet = await watching(other.dir);
    expect(() => watcherOf(quiet.hasher)!.chokidar.emit('error', new Error('EMFILE: injected'))).not.toThrow();
    await waitFor(() => quiet.hasher.stats().watcher === 'degraded', 'the watcher to degrade');
  });

  test('with nobody listening, the watcher records no paths (no added work); a listener turns it on', async () => {
    const site = fixture({ 'a.txt': 'a' });
    const hasher = await createStaticHasher({ root: site.dir, watch: true, logger: recordingLogger() });
    cleanups.push(() => hasher.close());
    await hasher.ready;
    const watcher = watcherOf(hasher)!;
    for (let edit = 1; edit <= 5; edit++) {
      const before = hasher.generation;
      site.write('a.txt', `edit ${edit}`);
      await waitFor(() => hasher.generation > before && !hasher.bypass, `edit ${edit} to be observed`);
    }
    expect(hasher.generation).toBeGreaterThanOrEqual(10);
    expect(watcher.pathsRecorded).toBe(0);
    const events: ChangeEvent[] = [];
    const listener = (event: ChangeEvent): void => void events.push(event);
    hasher.on('change', listener);
    site.write('a.txt', 'heard');
    await reported(events, 'a.txt');
    expect(watcher.pathsRecorded).toBeGreaterThan(0);
    hasher.off('change', listener);
    const recorded = watcher.pathsRecorded;
    const before = hasher.generation;
    site.write('a.txt', 'unheard');
    await waitFor(() => hasher.generation > before && !hasher.bypass, 'the last edit to be observed');
    expect(watcher.pathsRecorded).toBe(recorded);
    console.log(`change feed: ${hasher.generation} generations, ${recorded} paths recorded only while listened to`);
  });
});

describe('a store echoing a bump', () => {
  it("reports a hasher's own change once, with what it knows, and the store's echo only to the other hashers on it", async () => {
    // Stores tell every subscriber of a bump, synchronously, the bumping hasher included.
    const store = new MemoryGenerationStore();
    const site = fixture({ 'css/site.css': 'body { color: red }', 'a.txt': 'a' });
    const logger = recordingLogger();
    const editing = await createStaticHasher({ root: site.dir, generation: store, watch: true, logger });
    const other = await createStaticHasher({ root: site.dir, generation: store, logger });
    cleanups.push(() => other.close(), () => editing.close());
    await editing.ready;
    const own: ChangeEvent[] = [];
    const remote: ChangeEvent[] = [];
    editing.on('change', (event) => own.push(event));
    other.on('change', (event) => remote.push(event));

    const generation = editing.invalidate();
    expect(own).toEqual([{ generation, cause: 'invalidate', references: undefined }]);
    expect(remote).toEqual([{ generation, cause: 'store', references: undefined }]);

    site.write('css/site.css', 'body { color: blue }');
    await reported(own, 'css/site.css');
    // Not one "everything may have changed" from the echo: a live-reload page would reload for an
    // edit it can swap in place.
    expect(own.filter((event) => event.cause !== 'watch' && event.cause !== 'invalidate')).toEqual([]);
    expect(own.filter((event) => event.cause === 'watch' && event.references === undefined)).toEqual([]);
    expect(remote.length).toBeGreaterThan(1);
    expect(remote.every((event) => event.cause === 'store')).toBe(true);
  });
});
