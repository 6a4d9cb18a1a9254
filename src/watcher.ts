import fs from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { NormalizedRoot, NormalizedWatchOptions } from './options.js';

/** What the watcher reports to its owner. */
export interface WatcherHandlers {
  /**
   * Something under a root changed: move the generation. Called with `settling: true` at the first
   * event of a burst and with `settling: false` once the burst is over (no event for `debounceMs`).
   * While settling, the owner must cache nothing: files may still be being written.
   */
  onChange(settling: boolean): void;
  /** The watcher can no longer be trusted to see every change. Called at most once. */
  onFailure(error: Error): void;
}

/** A running watcher over every root. */
export interface RootWatcher {
  /** Resolves when the initial scan is done, or at once if the watcher fails or is closed first. Never rejects. */
  readonly ready: Promise<void>;
  /**
   * The chokidar instance, for tests that inject failures (`chokidar.emit('error', …)`). Not part
   * of the public API: the hasher never hands it out.
   */
  readonly chokidar: FSWatcher;
  /** Stops watching and releases every handle and timer. Idempotent. */
  close(): Promise<void>;
}

/** The identity of a root directory, to notice it being removed or replaced (renamed away, recreated). */
interface RootIdentity {
  dir: string;
  dev: number;
  ino: number;
}

function identify(dir: string): RootIdentity {
  const stats = fs.statSync(dir);
  return { dir, dev: stats.dev, ino: stats.ino };
}

/** Undefined when the root is still the directory it was; otherwise why it is not. */
function checkRoot(root: RootIdentity): string | undefined {
  let stats: fs.Stats;
  try {
    stats = fs.statSync(root.dir);
  } catch (error) {
    return `root directory ${root.dir} is gone (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  if (stats.dev !== root.dev || stats.ino !== root.ino) return `root directory ${root.dir} was replaced by another directory`;
  return undefined;
}

/**
 * Watches every root with chokidar and reports changes in bursts.
 *
 * - The first event of a burst calls `onChange(true)` at once, so a lookup right after a save
 *   already misses the cache, and puts the owner in settling mode (nothing is cached).
 * - Each later event extends the burst; `debounceMs` after the last one, `onChange(false)` moves the
 *   generation once more and caching resumes. A lookup made after any event has been delivered
 *   therefore reads the file after that event: content written after the burst's first event
 *   (a slow or chunked write, an editor's temp-file-and-rename) can never stay cached.
 * - chokidar throttles `change` per file (a second change within 50 ms is dropped) and delays
 *   `unlink` by 100 ms (to merge atomic saves): its `raw` events, one per fs.watch notification or
 *   per changed stat when polling, are listened to as well, so no quick second save is lost.
 * - An entry that changes kind is watched as what it became: a file replaced by a directory in one
 *   tick (or the reverse) is re-added, so edits inside the new directory are seen.
 * - A chokidar `error` (ENOSPC, EMFILE, EACCES…) or a root that is removed or replaced (renamed
 *   away, deleted and recreated) calls `onFailure` once and closes the watcher.
 *
 * Roots are watched at their real path (symlinks resolved), which is where lookups read files.
 */
export function watchRoots(roots: readonly NormalizedRoot[], options: NormalizedWatchOptions, handlers: WatcherHandlers): RootWatcher {
  const dirs = [...new Set(roots.map((root) => root.realDir))];
  const identities: RootIdentity[] = [];
  let missingRoot: Error | undefined;
  for (const dir of dirs) {
    try {
      identities.push(identify(dir));
    } catch (error) {
      // Removed since the options were checked: report it like any later failure, once the owner
      // has its watcher in hand.
      missingRoot ??= new Error(`root directory ${dir} is gone (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  const ignored = options.ignored;
  const chokidar: FSWatcher = watch(dirs, {
    ignoreInitial: true,
    persistent: true,
    followSymlinks: true,
    usePolling: options.usePolling,
    interval: options.interval,
    binaryInterval: options.interval,
    ignored: ignored.length === 0 ? undefined : ignored,
  });

  let closed = false;
  let failed = false;
  let settling = false;
  let lastEventAt = 0;
  let burstTimer: NodeJS.Timeout | undefined;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });

  const stop = (): Promise<void> => {
    if (burstTimer !== undefined) clearTimeout(burstTimer);
    burstTimer = undefined;
    resolveReady();
    const closing = chokidar.close();
    // close() removes every listener; chokidar can still report a late error from an fs call that
    // was in flight, and an EventEmitter without an 'error' listener throws it.
    chokidar.on('error', () => {});
    return closing;
  };

  const fail = (error: Error): void => {
    if (closed || failed) return;
    failed = true;
    handlers.onFailure(error);
    stop().catch(() => {});
  };

  const endBurst = (): void => {
    burstTimer = undefined;
    if (closed || failed) return;
    // Re-arm rather than reset the timer on every event: a burst of thousands of events then costs
    // one timer, not thousands of clearTimeout/setTimeout pairs.
    const remaining = lastEventAt + options.debounceMs - performance.now();
    if (remaining > 0) {
      burstTimer = setTimeout(endBurst, Math.ceil(remaining));
      return;
    }
    // A root renamed away keeps its inotify watch: events from the moved directory would still
    // arrive, while lookups read the new directory at the old path. Check identity once per burst.
    for (const identity of identities) {
      const problem = checkRoot(identity);
      if (problem !== undefined) {
        fail(new Error(problem));
        return;
      }
    }
    settling = false;
    handlers.onChange(false);
  };

  const onEvent = (): void => {
    if (closed || failed) return;
    lastEventAt = performance.now();
    if (!settling) {
      settling = true;
      handlers.onChange(true);
    }
    burstTimer ??= setTimeout(endBurst, options.debounceMs);
  };

  // chokidar applies `ignored` to its own events but not to `raw` ones, which a directory's watcher
  // emits for every entry in it: filter them here, or an ignored file written often would keep the
  // hasher from ever caching.
  const isIgnored = (file: string): boolean => {
    for (const matcher of ignored) {
      if (typeof matcher === 'function' ? matcher(file) : matcher.test(file)) return true;
    }
    return false;
  };
  const onRaw = (_event: string, changed: string, details: unknown): void => {
    if (ignored.length === 0) {
      onEvent();
      return;
    }
    // fs.watch: `changed` is a name inside `watchedPath` (a directory's entry, or the watched file's
    // own name); polling: `changed` is the absolute path.
    const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
    if (watched === undefined) {
      if (!isIgnored(changed)) onEvent();
      return;
    }
    const inside = changed ? path.join(watched, changed) : watched;
    const itself = !changed || path.basename(watched) === changed;
    if (!isIgnored(inside) || (itself && !isIgnored(watched))) onEvent();
  };

  // An entry replaced by one of the other kind in one tick (rm a.js; mkdir a.js; write a.js/x.js)
  // can leave chokidar watching neither: it reports a 'change' of the file it knew and never scans
  // the new directory, or (polling, on a busy machine) its delayed 'unlink' of the old file drops the
  // watches it had just set on the new directory. Every later edit inside would go unseen. After such
  // an event, a path that is now of the other kind is re-added, so chokidar watches what is there.
  const rewatchIfKindChanged = (changed: string, wasDirectory: boolean): void => {
    if (dirs.includes(changed)) return; // roots are checked by identity at the end of each burst
    let stats: fs.Stats | undefined;
    try {
      stats = fs.statSync(changed, { throwIfNoEntry: false });
    } catch {
      return; // unreadable: the next event says what it became
    }
    if (stats === undefined || stats.isDirectory() === wasDirectory) return;
    chokidar.unwatch(changed);
    chokidar.add(changed);
  };

  chokidar.on('all', (event, changed) => {
    onEvent();
    if (event === 'change' || event === 'add' || event === 'unlink') rewatchIfKindChanged(changed, false);
    else if (event === 'unlinkDir') rewatchIfKindChanged(changed, true);
    if (event === 'unlinkDir' && dirs.includes(changed)) fail(new Error(`root directory ${changed} was removed`));
  });
  chokidar.on('raw', onRaw);
  chokidar.on('error', (error) => fail(error instanceof Error ? error : new Error(String(error))));
  chokidar.once('ready', () => resolveReady());
  if (missingRoot !== undefined) {
    const error = missingRoot;
    queueMicrotask(() => fail(error));
  }

  return {
    ready,
    chokidar,
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return stop();
    },
  };
}
