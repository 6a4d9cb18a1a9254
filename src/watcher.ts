import { watch, type FSWatcher } from 'chokidar';
import type { NormalizedRoot, NormalizedWatchOptions } from './options.js';

/** What the watcher reports to its owner. */
export interface WatcherHandlers {
  /** Something under a root changed: move the generation. */
  onChange(): void;
  /** The watcher can no longer be trusted to see every change. */
  onFailure(error: Error): void;
}

/** A running watcher over every root. */
export interface RootWatcher {
  /** Resolves when the initial scan is done. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Watches every root with chokidar and reports changes in bursts: `onChange` fires at once on the
 * first event of a burst (so a lookup right after a save already misses the cache) and once more
 * `debounceMs` after the last event (so content written after the first event, e.g. by a slow or
 * chunked write, can never stay cached under the first bump's generation).
 *
 * chokidar throttles `change` events per file (a second change within 50 ms is dropped): `raw`
 * events, which fire for every fs.watch notification, are listened to as well, so quick successive
 * saves are never lost.
 */
export function watchRoots(roots: readonly NormalizedRoot[], options: NormalizedWatchOptions, handlers: WatcherHandlers): RootWatcher {
  const dirs = [...new Set(roots.map((root) => root.dir))];
  const watcher: FSWatcher = watch(dirs, {
    ignoreInitial: true,
    persistent: true,
    followSymlinks: true,
    usePolling: options.usePolling,
    interval: options.interval,
    binaryInterval: options.interval,
    ignored: options.ignored.length === 0 ? undefined : options.ignored,
  });
  let burst: NodeJS.Timeout | undefined;
  let closed = false;

  const endBurst = (): void => {
    burst = undefined;
    if (!closed) handlers.onChange();
  };
  const onEvent = (): void => {
    if (closed) return;
    if (burst === undefined) handlers.onChange();
    else clearTimeout(burst);
    burst = setTimeout(endBurst, options.debounceMs);
  };

  let failed = false;
  const fail = (error: Error): void => {
    if (closed || failed) return;
    failed = true;
    handlers.onFailure(error);
  };

  watcher.on('all', (event, changed) => {
    onEvent();
    if (event === 'unlinkDir' && dirs.includes(changed)) fail(new Error(`root directory removed: ${changed}`));
  });
  watcher.on('raw', onEvent);
  watcher.on('error', (error) => fail(error instanceof Error ? error : new Error(String(error))));

  const ready = new Promise<void>((resolve) => {
    watcher.once('ready', () => resolve());
  });

  return {
    ready,
    async close() {
      if (closed) return;
      closed = true;
      if (burst !== undefined) clearTimeout(burst);
      await watcher.close();
    },
  };
}
