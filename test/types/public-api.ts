// Type test of the public API: compiled by `npm run typecheck` (tsc --noEmit), never run. Each
// `@ts-expect-error` line must fail to compile; if the types grow too loose, tsc reports the
// directive as unused and the typecheck fails.
import {
  buildStatic,
  verifyStatic,
  type BuildStaticResult,
  type VerifyStaticResult,
  createStaticHasher,
  MemoryGenerationStore,
  normalizeOptions,
  parseReference,
  StaticHasher,
  StaticHashError,
  type GenerationState,
  type GenerationStore,
  type ImportMap,
  type ModuleGraph,
  type InvalidateOptions,
  type Logger,
  type ParsedReference,
  type ResolvedReference,
  type StaticHasherOptions,
  type StaticHasherStats,
  type StaticHashErrorCode,
  type WarmResult,
  type WatcherState,
} from '../../src/index.js';

export async function publicApi(): Promise<void> {
  const hasher: StaticHasher = await createStaticHasher({ root: 'public' });
  await createStaticHasher();

  const url: string = hasher.url('js/app.js');
  const hash: string | undefined = hasher.hash('js/app.js');
  // @ts-expect-error hash() may be undefined (missing file under onMissing 'warn' or 'ignore')
  const notAlwaysHash: string = hasher.hash('js/app.js');
  const generation: number = hasher.invalidate();
  hasher.invalidate({ nocache: true } satisfies InvalidateOptions);
  // @ts-expect-error nocache is a boolean
  hasher.invalidate({ nocache: 'yes' });
  // @ts-expect-error unknown invalidate() option
  hasher.invalidate({ nocahce: true });
  const current: number = hasher.generation;
  // @ts-expect-error the generation is read-only
  hasher.generation = 3;

  const warmed: WarmResult = await hasher.warm();
  const files: number = warmed.files;
  const stats: StaticHasherStats = hasher.stats();
  const watcher: WatcherState = stats.watcher;
  const counters: number = stats.hits + stats.misses + stats.entries + stats.generation;
  const bypass: boolean = stats.bypass;
  const resolved: ResolvedReference | undefined = hasher.resolve('js/app.js');
  const file: string | undefined = resolved?.file;
  const bytes: Buffer | undefined = await hasher.read('js/app.js');
  const ready: Promise<void> = hasher.ready;
  const closed: Promise<void> = hasher.close();
  // @ts-expect-error url() takes a string reference
  hasher.url(42);
  // @ts-expect-error url() is synchronous: it returns a string, not a promise
  const notPromise: Promise<string> = hasher.url('x');
  void [url, hash, notAlwaysHash, generation, current, files, watcher, counters, bypass, file, bytes, ready, closed, notPromise];
}

export async function modules(): Promise<void> {
  const hasher = await createStaticHasher({ root: 'public', modules: { imports: { lit: 'vendor/lit/index.js', 'lit/': 'vendor/lit/' } } });
  const graph: ModuleGraph = hasher.moduleGraph('js/main.js');
  const first: string | undefined = graph.modules[0]?.url;
  const preloaded: boolean | undefined = graph.modules[0]?.static;
  const reason: 'computed' | 'syntax' | 'outside' | 'bare' | 'missing' | undefined = graph.unresolved[0]?.reason;
  const map: ImportMap = hasher.importMap(['js/main.js', 'js/admin.js'], { integrity: true });
  const imports: Record<string, string> = hasher.importMap('js/main.js').imports;
  const integrity: Record<string, string> | undefined = map.integrity;
  // @ts-expect-error integrity is a boolean
  hasher.importMap('js/main.js', { integrity: 'yes' });
  // @ts-expect-error the graph is read-only in spirit and typed as data: no such method
  graph.refresh();
  // @ts-expect-error modules.imports maps names to reference strings
  const badModules: StaticHasherOptions = { modules: { imports: { lit: 42 } } };
  void [first, preloaded, reason, imports, integrity, badModules];
}

export function options(): void {
  const logger: Logger = { warn: (message: string) => void message };
  const store: GenerationStore = new MemoryGenerationStore();
  const all: StaticHasherOptions = {
    roots: [{ dir: 'public' }, { dir: 'node_modules/x/dist', prefix: 'x/' }],
    baseUrl: 'https://cdn.example.com/assets/',
    hashLength: 12,
    urlStyle: 'filename',
    param: '',
    onMissing: 'throw',
    cache: { maxEntries: 100 },
    watch: { debounceMs: 5, ignored: [/\.tmp$/, (path: string) => path.endsWith('~')], usePolling: false, interval: 100 },
    logger,
    generation: store,
  };
  const watchTrue: StaticHasherOptions = { root: 'public', watch: true };
  // @ts-expect-error hashLength is a number
  const badLength: StaticHasherOptions = { hashLength: '12' };
  // @ts-expect-error urlStyle is 'query' or 'filename'
  const badStyle: StaticHasherOptions = { urlStyle: 'path' };
  // @ts-expect-error onMissing is 'warn', 'throw' or 'ignore'
  const badMissing: StaticHasherOptions = { onMissing: 'error' };
  // @ts-expect-error cache takes { maxEntries }
  const badCache: StaticHasherOptions = { cache: { max: 100 } };
  // @ts-expect-error unknown option
  const typo: StaticHasherOptions = { hashLenght: 12 };
  // @ts-expect-error a root entry needs a dir
  const badRoot: StaticHasherOptions = { roots: [{ prefix: 'x/' }] };
  // @ts-expect-error the logger needs warn()
  const badLogger: StaticHasherOptions = { logger: { info: () => {} } };
  const normalized = normalizeOptions(all);
  const style: 'query' | 'filename' = normalized.urlStyle;
  void [watchTrue, badLength, badStyle, badMissing, badCache, typo, badRoot, badLogger, style];
}

export function errorsAndStores(error: unknown): void {
  if (error instanceof StaticHashError) {
    const code: StaticHashErrorCode = error.code;
    const status: number | undefined = error.status;
    const reference: unknown = error.reference;
    const file: string | undefined = error.file;
    // @ts-expect-error codes are a closed union
    const unknownCode: StaticHashErrorCode = 'ERR_SOMETHING_ELSE';
    void [code, status, reference, file, unknownCode];
  }
  const parsed: ParsedReference = parseReference('a.css?x=1#top');
  const query: string | undefined = parsed.query;
  const custom: GenerationStore = {
    current: 0,
    fresh: true,
    bump: () => 1,
    subscribe: (listener: (state: GenerationState) => void) => {
      void listener;
      return () => {};
    },
  };
  // @ts-expect-error a store must be able to bump
  const incomplete: GenerationStore = { current: 0, fresh: true, subscribe: () => () => {} };
  void [query, custom, incomplete];
}

export async function buildApi(): Promise<void> {
  const built: BuildStaticResult = await buildStatic({ root: 'public', out: 'dist/static', urlStyle: 'filename', compress: ['br', 'gz'], keep: 2 });
  const written: string[] = built.written;
  await buildStatic({ root: 'public', out: 'dist/static', compress: false, manifest: false });
  // @ts-expect-error out is required
  await buildStatic({ root: 'public' });
  // @ts-expect-error compressions are 'br', 'gz' or 'zstd'
  await buildStatic({ out: 'dist', compress: ['lz4'] });
  // @ts-expect-error a build hashes files: no release version
  await buildStatic({ out: 'dist', version: '1.0.0' });
  const verified: VerifyStaticResult = await verifyStatic({ manifest: 'dist/static/static-manifest.json', root: 'dist/static' });
  const problem: 'missing' | 'changed' | undefined = verified.problems[0]?.problem;
  void [written, problem];
}
