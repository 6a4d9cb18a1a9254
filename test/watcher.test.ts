import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStaticHasher, type StaticHasher, type StaticHasherOptions } from '../src/index';
// Test seam, not part of the public API: reaches the chokidar instance to inject a failure.
import { watcherOf } from '../src/hasher';

// Every wait polls for an observable state with a generous timeout: nothing here asserts on time.
const TIMEOUT_MS = 15_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-watch-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

interface Watching {
  hasher: StaticHasher;
  warnings: string[];
  /** The URL a hasher that caches nothing gives now: what the watching hasher must agree with. */
  fresh(reference: string): string;
}

async function watching(root: string, watch: StaticHasherOptions['watch'] = true): Promise<Watching> {
  const warnings: string[] = [];
  const logger = { warn: (message: string) => warnings.push(message) };
  const hasher = await createStaticHasher({ root, watch, logger, onMissing: 'ignore' });
  cleanups.push(() => hasher.close());
  const reference = await createStaticHasher({ root, logger, onMissing: 'ignore' });
  reference.invalidate({ nocache: true });
  await hasher.ready;
  return { hasher, warnings, fresh: (ref) => reference.url(ref) };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Waits until the generation has moved past `before`: the watcher has observed a change. */
function observed(hasher: StaticHasher, before: number): Promise<void> {
  return waitFor(() => hasher.generation > before, `the watcher to observe a change (generation > ${before})`);
}

/** Waits until no burst is open and the generation has not moved for `quietMs`. */
async function quiet(hasher: StaticHasher, quietMs = 300): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  let generation = hasher.generation;
  let since = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (hasher.generation !== generation || hasher.stats().bypass) {
      generation = hasher.generation;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return;
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for the watcher to settle');
  }
}

/** Calls url() in a tight async loop for `ms`, as a busy server would render between saves. */
async function renderFor(hasher: StaticHasher, reference: string, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    hasher.url(reference);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Applies `change`, waits until the watcher observes it, then checks that the very next url() of
 * each reference is the fresh one, that it stays right once the burst is over, and that it is then
 * served from the cache again.
 */
async function expectObserved(w: Watching, references: string[], change: () => void): Promise<void> {
  const before = w.hasher.generation;
  change();
  await observed(w.hasher, before);
  for (const reference of references) expect(w.hasher.url(reference)).toBe(w.fresh(reference));
  await quiet(w.hasher);
  for (const reference of references) expect(w.hasher.url(reference)).toBe(w.fresh(reference));
  const { hits } = w.hasher.stats();
  for (const reference of references) w.hasher.url(reference);
  expect(w.hasher.stats().hits).toBe(hits + references.length);
}

describe('watch: changes on disk move the generation', () => {
  it('sees an edit', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'one');
    const w = await watching(root);
    const first = w.hasher.url('app.js');
    await expectObserved(w, ['app.js'], () => write(path.join(root, 'app.js'), 'two'));
    expect(w.hasher.url('app.js')).not.toBe(first);
  });

  it('sees a file created, including one that was looked up while missing', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'one');
    const w = await watching(root);
    expect(w.hasher.url('new.js')).toBe('/static/new.js');
    await expectObserved(w, ['new.js'], () => write(path.join(root, 'new.js'), 'new'));
    expect(w.hasher.url('new.js')).toMatch(/^\/static\/new\.js\?v=[0-9a-f]{12}$/);
  });

  it('sees a file deleted', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'one');
    const w = await watching(root);
    expect(w.hasher.url('app.js')).toMatch(/\?v=/);
    await expectObserved(w, ['app.js'], () => fs.unlinkSync(path.join(root, 'app.js')));
    expect(w.hasher.url('app.js')).toBe('/static/app.js');
  });

  it('sees a rename: the old name goes missing, the new one gets a hash', async () => {
    const root = tempDir();
    write(path.join(root, 'old.js'), 'content');
    const w = await watching(root);
    expect(w.hasher.url('old.js')).toMatch(/\?v=/);
    expect(w.hasher.url('new.js')).toBe('/static/new.js');
    await expectObserved(w, ['old.js', 'new.js'], () => fs.renameSync(path.join(root, 'old.js'), path.join(root, 'new.js')));
    expect(w.hasher.url('old.js')).toBe('/static/old.js');
    expect(w.hasher.url('new.js')).toMatch(/\?v=/);
  });

  it('sees an atomic save (temp file renamed over the original)', async () => {
    const root = tempDir();
    write(path.join(root, 'css', 'site.css'), 'a{}');
    const w = await watching(root);
    const first = w.hasher.url('css/site.css');
    await expectObserved(w, ['css/site.css'], () => {
      write(path.join(root, 'css', '.site.css.tmp-1234'), 'b{}');
      fs.renameSync(path.join(root, 'css', '.site.css.tmp-1234'), path.join(root, 'css', 'site.css'));
    });
    expect(w.hasher.url('css/site.css')).not.toBe(first);
  });

  it("sees a vim-style save (original moved to a backup, new file written, backup removed)", async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'one');
    const w = await watching(root);
    const first = w.hasher.url('app.js');
    await expectObserved(w, ['app.js'], () => {
      fs.renameSync(path.join(root, 'app.js'), path.join(root, 'app.js~'));
      write(path.join(root, 'app.js'), 'two');
      fs.unlinkSync(path.join(root, 'app.js~'));
    });
    expect(w.hasher.url('app.js')).not.toBe(first);
  });

  it('sees files in a new nested directory, and later edits of them', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'one');
    const w = await watching(root);
    expect(w.hasher.url('a/b/c/deep.js')).toBe('/static/a/b/c/deep.js');
    await expectObserved(w, ['a/b/c/deep.js'], () => write(path.join(root, 'a', 'b', 'c', 'deep.js'), 'deep'));
    await expectObserved(w, ['a/b/c/deep.js'], () => write(path.join(root, 'a', 'b', 'c', 'deep.js'), 'deeper'));
    await expectObserved(w, ['a/b/c/deep.js', 'a/b/c/d/e.js'], () => write(path.join(root, 'a', 'b', 'c', 'd', 'e.js'), 'e'));
  });

  it('sees a directory renamed and removed', async () => {
    const root = tempDir();
    write(path.join(root, 'v1', 'app.js'), 'one');
    const w = await watching(root);
    expect(w.hasher.url('v1/app.js')).toMatch(/\?v=/);
    await expectObserved(w, ['v1/app.js', 'v2/app.js'], () => fs.renameSync(path.join(root, 'v1'), path.join(root, 'v2')));
    expect(w.hasher.url('v2/app.js')).toMatch(/\?v=/);
    await expectObserved(w, ['v2/app.js'], () => fs.rmSync(path.join(root, 'v2'), { recursive: true }));
    expect(w.hasher.url('v2/app.js')).toBe('/static/v2/app.js');
  });

  it('watches dotfiles (.well-known/ is served)', async () => {
    const root = tempDir();
    write(path.join(root, '.well-known', 'security.txt'), 'Contact: a@example.com');
    const w = await watching(root);
    await expectObserved(w, ['.well-known/security.txt'], () => write(path.join(root, '.well-known', 'security.txt'), 'Contact: b@example.com'));
    await expectObserved(w, ['.well-known/assetlinks.json'], () => write(path.join(root, '.well-known', 'assetlinks.json'), '[]'));
    await expectObserved(w, ['.htaccess'], () => write(path.join(root, '.htaccess'), 'x'));
  });

  it('watches a symlinked root at its target', async () => {
    const base = tempDir();
    const real = path.join(base, 'releases', 'v1');
    write(path.join(real, 'app.js'), 'one');
    fs.symlinkSync(real, path.join(base, 'public'));
    const w = await watching(path.join(base, 'public'));
    await expectObserved(w, ['app.js'], () => write(path.join(real, 'app.js'), 'two'));
    await expectObserved(w, ['app.js'], () => write(path.join(base, 'public', 'app.js'), 'three'));
  });

  it('watches a root of thousands of files', async () => {
    const root = tempDir();
    for (let dir = 0; dir < 30; dir++) {
      for (let file = 0; file < 100; file++) write(path.join(root, `d${dir}`, `f${file}.js`), `${dir}/${file}`);
    }
    const w = await watching(root);
    expect(w.hasher.stats().watcher).toBe('watching');
    await w.hasher.warm();
    await expectObserved(w, ['d29/f99.js', 'd0/f0.js'], () => write(path.join(root, 'd29', 'f99.js'), 'changed'));
  });
});

describe('watch: an entry changing kind (issue #13)', () => {
  /** Edits `file` after the swap and expects each edit to be observed: a new URL, fresh, cached again. */
  async function expectLaterEditsObserved(w: Watching, reference: string, file: string): Promise<void> {
    await quiet(w.hasher);
    for (let edit = 1; edit <= 3; edit++) {
      const before = w.hasher.url(reference);
      await expectObserved(w, [reference], () => fs.writeFileSync(file, `edit ${edit} ${Math.random()}`));
      expect(w.hasher.url(reference)).not.toBe(before);
    }
    expect(w.hasher.stats().watcher).toBe('watching');
  }

  it.each([
    ['fs.watch, run 1', true],
    ['fs.watch, run 2', true],
    ['fs.watch, run 3', true],
  ] as const)('a file replaced by a directory in one tick: later edits inside it are observed (%s)', async (_name, watch) => {
    const root = tempDir();
    write(path.join(root, 'a.js'), 'file');
    const w = await watching(root, watch);
    expect(w.hasher.url('a.js')).toMatch(/\?v=/);
    await expectObserved(w, ['a.js/inner.js'], () => {
      fs.rmSync(path.join(root, 'a.js'));
      fs.mkdirSync(path.join(root, 'a.js'));
      fs.writeFileSync(path.join(root, 'a.js', 'inner.js'), 'inner');
    });
    await expectLaterEditsObserved(w, 'a.js/inner.js', path.join(root, 'a.js', 'inner.js'));
  });

  it.each([1, 2, 3])('a directory replaced by a file in one tick: later edits of the file are observed (run %i)', async () => {
    const root = tempDir();
    write(path.join(root, 'lib', 'inner.js'), 'inner');
    const w = await watching(root);
    expect(w.hasher.url('lib/inner.js')).toMatch(/\?v=/);
    await expectObserved(w, ['lib', 'lib/inner.js'], () => {
      fs.rmSync(path.join(root, 'lib'), { recursive: true });
      fs.writeFileSync(path.join(root, 'lib'), 'now a file');
    });
    await expectLaterEditsObserved(w, 'lib', path.join(root, 'lib'));
  });

  it.each([1, 2, 3])('a directory renamed over another: later edits of the files it brought are observed (run %i)', async () => {
    const root = tempDir();
    write(path.join(root, 'current', 'old.js'), 'old');
    write(path.join(root, 'next', 'app.js'), 'next');
    const w = await watching(root);
    expect(w.hasher.url('current/old.js')).toMatch(/\?v=/);
    await expectObserved(w, ['current/app.js', 'current/old.js'], () => {
      fs.rmSync(path.join(root, 'current', 'old.js'));
      fs.renameSync(path.join(root, 'next'), path.join(root, 'current'));
    });
    await expectLaterEditsObserved(w, 'current/app.js', path.join(root, 'current', 'app.js'));
  });
});

describe('watch: quick successive saves', () => {
  // chokidar drops a `change` for a file changed again within 50 ms of its last reported change.
  async function editEvery10ms(w: Watching, root: string, reference: string): Promise<void> {
    for (let edit = 0; edit < 8; edit++) {
      write(path.join(root, reference), `edit ${edit} of ${reference}`);
      await renderFor(w.hasher, reference, 10);
    }
    await waitFor(() => w.hasher.url(reference) === w.fresh(reference), `url(${reference}) to reflect the last edit`);
    await quiet(w.hasher);
    expect(w.hasher.url(reference)).toBe(w.fresh(reference));
    expect(w.fresh(reference)).toBe((await createStaticHasher({ root, onMissing: 'ignore' })).url(reference));
  }

  it('never loses the last of edits spaced 10 ms apart', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'start');
    const w = await watching(root);
    await editEvery10ms(w, root, 'app.js');
  });

  it('never loses the last of edits spaced 10 ms apart in a directory created after start', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'start');
    const w = await watching(root);
    await expectObserved(w, ['later/sub/app.js'], () => write(path.join(root, 'later', 'sub', 'app.js'), 'created'));
    await editEvery10ms(w, root, 'later/sub/app.js');
  });

  it('with usePolling, never loses the last of edits spaced 10 ms apart, old or new directories', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'start');
    const w = await watching(root, { usePolling: true, interval: 25 });
    await editEvery10ms(w, root, 'app.js');
    await expectObserved(w, ['later/sub/app.js'], () => write(path.join(root, 'later', 'sub', 'app.js'), 'created'));
    await editEvery10ms(w, root, 'later/sub/app.js');
  });
});

describe('watch: bursts', () => {
  it('1,000 files written in a burst give a bounded number of bumps and the right final state', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'start');
    // 50 ms: gaps between chokidar's events while it scans a new directory of 1,000 files can exceed
    // the 5 ms default on a loaded machine, which is still correct but splits the burst.
    const w = await watching(root, { debounceMs: 50 });
    const references = Array.from({ length: 1000 }, (_, index) => `burst/f${index}.js`);
    for (const reference of references) expect(w.hasher.url(reference)).toBe(`/static/${reference}`);
    const before = w.hasher.generation;
    for (const reference of references) write(path.join(root, reference), `content of ${reference}`);
    await observed(w.hasher, before);
    await quiet(w.hasher);
    const bumps = w.hasher.generation - before;
    if (process.env.SHOW_BUMPS) console.log(`1,000-file burst: ${bumps} bumps`);
    // Each burst bumps twice (at its first event and after its last); 1,000 files arrive as a few
    // bursts at most, where one bump per event would give thousands.
    expect(bumps).toBeGreaterThanOrEqual(2);
    expect(bumps).toBeLessThanOrEqual(20);
    for (const reference of references) expect(w.hasher.url(reference)).toBe(w.fresh(reference));
    for (const reference of references) expect(w.hasher.url(reference)).toMatch(/\?v=[0-9a-f]{12}$/);
  });

  it('caches nothing while a burst is open, and caches again after it', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'one');
    // A long debounce keeps the burst open across the synchronous steps below even on a stalled machine.
    const w = await watching(root, { debounceMs: 1000 });
    const before = w.hasher.generation;
    // A write that completes after the burst's first event: the first event's bump is not enough.
    const fd = fs.openSync(path.join(root, 'app.js'), 'w');
    fs.writeSync(fd, 'tw');
    await observed(w.hasher, before);
    expect(w.hasher.url('app.js')).toBe(w.fresh('app.js'));
    fs.writeSync(fd, 'o, complete');
    fs.closeSync(fd);
    // No wait for another event: while the burst is open nothing read earlier is served.
    expect(w.hasher.url('app.js')).toBe(w.fresh('app.js'));
    expect(w.hasher.stats().bypass).toBe(true);
    await quiet(w.hasher);
    expect(w.hasher.stats().bypass).toBe(false);
    expect(w.hasher.url('app.js')).toBe(w.fresh('app.js'));
    expect(w.hasher.generation - before).toBe(2);
  });

  it('ignores what `ignored` matches, raw events included', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'one');
    write(path.join(root, 'logs', 'access.log'), '');
    const w = await watching(root, { ignored: [/\.log$/, (file: string) => file.endsWith('.tmp')] });
    const before = w.hasher.generation;
    for (let line = 0; line < 20; line++) {
      fs.appendFileSync(path.join(root, 'logs', 'access.log'), `line ${line}\n`);
      fs.writeFileSync(path.join(root, 'scratch.tmp'), `line ${line}\n`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await quiet(w.hasher);
    expect(w.hasher.generation).toBe(before);
    await expectObserved(w, ['app.js'], () => write(path.join(root, 'app.js'), 'two'));
  });

  it('reading files (hashing them) triggers no event', async () => {
    const root = tempDir();
    for (let file = 0; file < 20; file++) write(path.join(root, `f${file}.js`), `${file}`);
    const w = await watching(root);
    const generation = w.hasher.invalidate();
    for (let round = 0; round < 5; round++) {
      for (let file = 0; file < 20; file++) expect(w.hasher.hash(`f${file}.js`)).toMatch(/^[0-9a-f]{12}$/);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await w.hasher.read('f0.js');
    await quiet(w.hasher);
    expect(w.hasher.generation).toBe(generation);
  });
});

describe('watch: failure switches to nocache', () => {
  it('an error from chokidar: one warning, degraded, every lookup fresh', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'one');
    const w = await watching(root);
    expect(w.hasher.stats()).toMatchObject({ watcher: 'watching', bypass: false });
    const chokidar = watcherOf(w.hasher)!.chokidar;
    const error = Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    chokidar.emit('error', error);
    chokidar.emit('error', Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }));
    expect(w.hasher.stats()).toMatchObject({ watcher: 'degraded', bypass: true });
    expect(w.warnings).toHaveLength(1);
    expect(w.warnings[0]).toContain('ENOSPC');
    expect(w.warnings[0]).toContain('nocache');
    // No event can be relied on now: the very next lookup after a write must already be fresh.
    for (const content of ['two', 'three', 'four']) {
      write(path.join(root, 'app.js'), content);
      expect(w.hasher.url('app.js')).toBe(w.fresh('app.js'));
    }
    fs.unlinkSync(path.join(root, 'app.js'));
    expect(w.hasher.url('app.js')).toBe('/static/app.js');
    await w.hasher.close();
    expect(w.hasher.stats().watcher).toBe('closed');
    expect(w.warnings).toHaveLength(1);
  });

  it('a failure before the initial scan ends: ready still resolves, degraded', async () => {
    const root = tempDir();
    for (let file = 0; file < 200; file++) write(path.join(root, `f${file}.js`), `${file}`);
    const warnings: string[] = [];
    const hasher = await createStaticHasher({ root, watch: true, logger: { warn: (message) => warnings.push(message) } });
    cleanups.push(() => hasher.close());
    expect(hasher.stats().watcher).toBe('starting');
    watcherOf(hasher)!.chokidar.emit('error', Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }));
    await hasher.ready;
    expect(hasher.stats()).toMatchObject({ watcher: 'degraded', bypass: true });
    expect(warnings).toHaveLength(1);
    write(path.join(root, 'f0.js'), 'changed');
    expect(hasher.hash('f0.js')).toBe((await createStaticHasher({ root })).hash('f0.js'));
  });

  it('a root deleted and recreated: degraded, then the recreated files are served fresh', async () => {
    const base = tempDir();
    const root = path.join(base, 'public');
    write(path.join(root, 'app.js'), 'one');
    const w = await watching(root);
    const first = w.hasher.url('app.js');
    fs.rmSync(root, { recursive: true });
    await waitFor(() => w.hasher.stats().watcher === 'degraded', 'degraded mode');
    expect(w.hasher.url('app.js')).toBe('/static/app.js');
    write(path.join(root, 'app.js'), 'recreated');
    expect(w.hasher.url('app.js')).toBe(w.fresh('app.js'));
    expect(w.hasher.url('app.js')).not.toBe(first);
    write(path.join(root, 'app.js'), 'edited again');
    expect(w.hasher.url('app.js')).toBe(w.fresh('app.js'));
    expect(w.warnings).toHaveLength(1);
    expect(w.warnings[0]).toContain(root);
  });

  it('a root renamed away and replaced by another directory: degraded, the new files served fresh', async () => {
    const base = tempDir();
    const root = path.join(base, 'public');
    write(path.join(root, 'app.js'), 'one');
    const w = await watching(root);
    expect(w.hasher.url('app.js')).toMatch(/\?v=/);
    fs.renameSync(root, path.join(base, 'public.old'));
    write(path.join(root, 'app.js'), 'new release');
    await waitFor(() => w.hasher.stats().watcher === 'degraded', 'degraded mode');
    expect(w.hasher.url('app.js')).toBe(w.fresh('app.js'));
    write(path.join(root, 'app.js'), 'newer release');
    expect(w.hasher.url('app.js')).toBe(w.fresh('app.js'));
    expect(w.warnings).toHaveLength(1);
    expect(w.warnings[0]).toContain('replaced');
  });
});

describe('watch: lifecycle', () => {
  it('ready resolves at once without a watcher, and stats() says off', async () => {
    const root = tempDir();
    const hasher = await createStaticHasher({ root });
    await hasher.ready;
    expect(hasher.stats().watcher).toBe('off');
    await hasher.close();
  });

  it('ready resolves after the initial scan; lookups before it are never cached', async () => {
    const root = tempDir();
    for (let file = 0; file < 500; file++) write(path.join(root, `f${file}.js`), `${file}`);
    const hasher = await createStaticHasher({ root, watch: true });
    cleanups.push(() => hasher.close());
    expect(hasher.stats()).toMatchObject({ watcher: 'starting', bypass: true });
    await hasher.ready;
    expect(hasher.stats()).toMatchObject({ watcher: 'watching', bypass: false });
  });

  it('close() is idempotent, stops watching, and settles ready if called before it', async () => {
    const root = tempDir();
    write(path.join(root, 'app.js'), 'one');
    const hasher = await createStaticHasher({ root, watch: true });
    await Promise.all([hasher.close(), hasher.close()]);
    await hasher.ready;
    expect(hasher.stats().watcher).toBe('closed');
    const generation = hasher.generation;
    write(path.join(root, 'app.js'), 'two');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(hasher.generation).toBe(generation);
    await hasher.close();
  });

  it('after close() the process exits by itself (no handle left behind)', async () => {
    const root = tempDir();
    for (let file = 0; file < 200; file++) write(path.join(root, 'd', `f${file}.js`), `${file}`);
    const script = path.join(__dirname, 'fixtures', 'watch-then-close.ts');
    const child = spawn(process.execPath, ['-r', path.join(__dirname, 'fixtures', 'register-ts.cjs'), script, root], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let output = '';
    child.stdout.on('data', (data) => (output += data));
    child.stderr.on('data', (data) => (output += data));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const timedOut = new Promise<'timed out'>((resolve) => {
      const timer = setTimeout(() => resolve('timed out'), TIMEOUT_MS);
      cleanups.push(() => clearTimeout(timer));
    });
    expect(await Promise.race([exit, timedOut])).toBe(0);
    expect(output).toContain('watching');
    expect(output).toContain('closed');
  });
});
