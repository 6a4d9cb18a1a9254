import { isUtf8 } from 'node:buffer';
import type * as EsModuleLexer from 'es-module-lexer';
import { StaticHashError, describeValue, type StaticHashErrorCode } from './errors.js';
import { walkComponents } from './graph.js';
import type { NormalizedModulesOptions, NormalizedOptions } from './options.js';
import { moduleLexer } from './module-lexer.js';
import { parseReference } from './resolve.js';

// ---------------------------------------------------------------------------------------------
// Lexing: what a module imports, as written. Pure; the manifest stores exactly this.
// ---------------------------------------------------------------------------------------------

/** One import of a module as written, as {@link lexModule} reports it and a manifest records it. */
export interface ModuleImportRecord {
  /** The specifier as written, escapes decoded: `'./util.js'`, `'lit'`, `'/static/js/a.js'`. */
  specifier: string;
  /** `true` for `import('…')` with a literal specifier: mapped, not preloaded. */
  dynamic?: true;
  /**
   * Set when the target is not a JavaScript module: the import attribute `type` (`'json'`, `'css'`),
   * or `'source'` for a source-phase import. Such a target is mapped but neither lexed nor preloaded.
   */
  type?: string;
}

/** What a module imports, as written. */
export interface LexedModule {
  /** Static imports, `export … from`, and dynamic imports with a literal specifier, in source order. */
  imports: ModuleImportRecord[];
  /** How many dynamic imports have a specifier computed at run time (`import(name)`, a template with `${}`). */
  computed: number;
  /** The lexer's message when the module does not parse (then `imports` is empty). */
  error?: string;
}

/**
 * Lists what a module's source imports with es-module-lexer (what Vite uses for the same job):
 * static imports, `export … from` (also `export * from`) and dynamic `import('literal')`. TypeScript
 * type-only imports and `import.meta` are left out. A source the lexer refuses gives `error`.
 *
 * @example
 * lexModule("import { a } from './a.js'; export * from 'lit'; import(name);")
 * //=> { imports: [{ specifier: './a.js' }, { specifier: 'lit' }], computed: 1 }
 */
export function lexModule(source: string): LexedModule {
  // Outside the try: a lexer that cannot load is an install problem, not a module that does not parse.
  const lexer = moduleLexer();
  let imports: ReturnType<typeof EsModuleLexer.parse>[0];
  try {
    [imports] = lexer.parse(source);
  } catch (error) {
    return { imports: [], computed: 0, error: (error as Error).message };
  }
  const found: ModuleImportRecord[] = [];
  let computed = 0;
  for (const entry of imports) {
    if (entry.type === 'import-meta') continue;
    if (entry.type === 'dynamic') {
      // A glob (a template literal with substitutions) names no one module either.
      if (entry.specifier === undefined || entry.glob) {
        if (!entry.probablyTypeOnly) computed++;
        continue;
      }
      if (entry.probablyTypeOnly) continue;
      const record: ModuleImportRecord = { specifier: entry.specifier, dynamic: true };
      if (entry.phase === 'source') record.type = 'source';
      found.push(record);
      continue;
    }
    if (entry.typeOnly) continue;
    const record: ModuleImportRecord = { specifier: entry.specifier };
    const type = entry.attributes?.find(([key]) => key === 'type')?.[1];
    if (type !== undefined && type !== 'javascript') record.type = type;
    else if (entry.phase === 'source') record.type = 'source';
    found.push(record);
  }
  return { imports: found, computed };
}

/**
 * {@link lexModule} over a file's bytes, decoded as a browser decodes a module script (UTF-8, which
 * HTML's "fetch a single module script" always uses). Bytes that are not UTF-8 text are not lexed:
 * they are a binary file under a `.js` name, not a module, and decoding them (with U+FFFD for every
 * bad sequence) costs about 80 times as much as decoding text (465 µs against 6 µs for 40 KB here).
 * They give `error`, like a source the lexer refuses.
 */
export function lexModuleBytes(bytes: Buffer): LexedModule {
  if (!isUtf8(bytes)) return { imports: [], computed: 0, error: 'not UTF-8 text (module scripts are decoded as UTF-8)' };
  return lexModule(bytes.toString('utf8'));
}

// The files whose imports a manifest records: JavaScript by name, as servers type them.
const MODULE_FILE = /\.m?js$/i;

/**
 * What a manifest records for a file (`"modules"`): its imports when it is JavaScript (`.js`, `.mjs`)
 * and imports something, or has a computed import, or does not parse; undefined otherwise (a
 * JavaScript file a manifest does not list imports nothing). Shared by the manifest and the build.
 */
export function manifestModuleRecord(reference: string, bytes: Buffer): LexedModule | undefined {
  if (!MODULE_FILE.test(reference)) return undefined;
  const lexed = lexModuleBytes(bytes);
  return lexed.imports.length > 0 || lexed.computed > 0 || lexed.error !== undefined ? lexed : undefined;
}

// ---------------------------------------------------------------------------------------------
// Resolving a specifier the way a browser does, to a file under the roots.
// ---------------------------------------------------------------------------------------------

/** Where a specifier written in a module leads. */
export type ModuleTarget =
  /** A full URL (`https:`, `data:`, `blob:`): left alone. */
  | { kind: 'external' }
  /**
   * A file under the roots: `reference` is what `hasher.url()` takes (canonical path, and any query
   * or fragment written), `key` the import-map key: the URL the browser resolves the specifier to,
   * without a version (or the bare specifier itself).
   */
  | { kind: 'file'; path: string; reference: string; key: string }
  /** Cannot be followed: outside the base URL, an unmapped bare specifier, or an unusable path. */
  | { kind: 'unresolved'; reason: 'outside' | 'bare'; message: string };

/** What resolution needs from the options, prepared once per hasher. */
export interface ModuleResolver {
  /** The base URL as an absolute URL string ending in '/'. */
  base: string;
  /** How keys are written: the prefix to drop from an absolute URL ('https://static-hash.invalid' for a path base URL). */
  strip: string;
  modules: NormalizedModulesOptions;
}

// A path base URL ('/static/') is resolved under an origin no real URL has, then written without it.
const PLACEHOLDER_ORIGIN = 'https://static-hash.invalid';

/** Prepares resolution for a hasher's `baseUrl` and `modules` option. */
export function moduleResolver(options: Pick<NormalizedOptions, 'baseUrl' | 'modules'>): ModuleResolver {
  const { baseUrl, modules } = options;
  if (baseUrl.startsWith('//')) return { base: new URL(`https:${baseUrl}`).href, strip: 'https:', modules };
  if (baseUrl.startsWith('/')) return { base: new URL(baseUrl, PLACEHOLDER_ORIGIN).href, strip: PLACEHOLDER_ORIGIN, modules };
  return { base: new URL(baseUrl).href, strip: '', modules };
}

/** A canonical path as a relative URL: '%' is the one character of a canonical path the URL parser reads specially. */
function pathAsUrl(canonical: string): string {
  return canonical.includes('%') ? canonical.replaceAll('%', '%25') : canonical;
}

/** The URL a browser resolves a canonical path under the base URL to, written as an import-map key. */
export function moduleKey(resolver: ModuleResolver, canonical: string): string {
  return new URL(pathAsUrl(canonical), resolver.base).href.slice(resolver.strip.length);
}

/** A URL-like specifier per the HTML spec: it starts with '/', './' or '../'. */
function isUrlLike(specifier: string): boolean {
  return specifier.startsWith('/') || specifier.startsWith('./') || specifier.startsWith('../');
}

function fileTarget(canonicalWithQuery: string, key: string, specifier: string): ModuleTarget {
  try {
    const parsed = parseReference(canonicalWithQuery);
    return { kind: 'file', path: parsed.path, reference: canonicalWithQuery, key };
  } catch (error) {
    if (!(error instanceof StaticHashError)) throw error;
    return { kind: 'unresolved', reason: 'outside', message: `${describeValue(specifier)} cannot name a file under the roots (${error.message})` };
  }
}

/**
 * Resolves a specifier written in the module at canonical path `importer` as a browser would,
 * given that the module is served at `<baseUrl><importer>` (a version in its query or file name
 * changes nothing: both keep its directory). URL-like specifiers resolve against the module's URL
 * and must stay under the base URL; bare ones go through `modules.imports` (exact names, then the
 * longest prefix ending in '/'); full URLs are left alone.
 *
 * @example
 * resolveModuleSpecifier('../lib/a.js?x=1', 'js/app/main.js', moduleResolver(hasher.options))
 * //=> { kind: 'file', path: 'js/lib/a.js', reference: 'js/lib/a.js?x=1', key: '/static/js/lib/a.js?x=1' }
 */
export function resolveModuleSpecifier(specifier: string, importer: string, resolver: ModuleResolver): ModuleTarget {
  if (isUrlLike(specifier)) {
    let url: URL;
    try {
      url = new URL(specifier, new URL(pathAsUrl(importer), resolver.base));
    } catch {
      return { kind: 'unresolved', reason: 'outside', message: `${describeValue(specifier)} is not a valid URL` };
    }
    const href = url.href;
    const withoutSuffix = href.slice(0, href.length - url.search.length - url.hash.length);
    if (!withoutSuffix.startsWith(resolver.base) || withoutSuffix.length === resolver.base.length) {
      const shown = href.slice(resolver.strip.length);
      return { kind: 'unresolved', reason: 'outside', message: `${describeValue(specifier)} resolves to ${shown}, outside the base URL ${describeValue(resolver.base.slice(resolver.strip.length))}` };
    }
    const segments: string[] = [];
    for (const raw of withoutSuffix.slice(resolver.base.length).split('/')) {
      let segment: string;
      try {
        segment = decodeURIComponent(raw);
      } catch {
        return { kind: 'unresolved', reason: 'outside', message: `${describeValue(specifier)} has a malformed percent-escape` };
      }
      if (/[/\\\0?#]/.test(segment)) {
        return { kind: 'unresolved', reason: 'outside', message: `${describeValue(specifier)} encodes "/", "\\", "?", "#" or NUL in a path segment` };
      }
      segments.push(segment);
    }
    // The URL keeps its query and fragment: a module imported with '?x' is another module instance.
    return fileTarget(segments.join('/') + url.search + url.hash, href.slice(resolver.strip.length), specifier);
  }
  if (URL.canParse(specifier)) return { kind: 'external' };
  const { exact, prefixes } = resolver.modules;
  const mapped = exact.get(specifier);
  if (mapped !== undefined) return fileTarget(mapped, specifier, specifier);
  for (const [prefix, target] of prefixes) {
    if (specifier.startsWith(prefix)) return fileTarget(target + specifier.slice(prefix.length), specifier, specifier);
  }
  return {
    kind: 'unresolved',
    reason: 'bare',
    message: `the bare specifier ${describeValue(specifier)} is not in the "modules.imports" option (e.g. modules: { imports: { ${JSON.stringify(specifier)}: 'vendor/…/index.js' } })`,
  };
}

// ---------------------------------------------------------------------------------------------
// The graph: every module reachable from an entry, walked once per generation.
// ---------------------------------------------------------------------------------------------

/** One import of a module in a {@link ModuleGraph}, resolved. */
export interface ModuleEdge {
  /** The specifier as written. */
  specifier: string;
  /** `import('…')`: mapped, not preloaded. */
  dynamic: boolean;
  /** The import-map key: the URL the browser resolves the specifier to, without a version, or the bare specifier. */
  key: string;
  /** The target's canonical path. */
  path: string;
  /** The target's versioned URL (any query written with the specifier kept). */
  url: string;
}

/** One module of a {@link ModuleGraph}. */
export interface GraphModule {
  /** Canonical path, as `parseReference()` gives it. */
  path: string;
  /** Its import-map key: the URL it has without a version (`'/static/js/util.js'`). */
  key: string;
  /** Its versioned URL. */
  url: string;
  /** Reached from the entry through static imports only: part of what `modulepreload` lists. */
  static: boolean;
  /** Not a JavaScript module (a JSON or CSS module, a source-phase import): mapped, not lexed, not preloaded. */
  type: string | undefined;
  /** Its imports that lead to files under the roots. */
  imports: ModuleEdge[];
}

/** What a module graph could not follow. */
export interface UnresolvedImport {
  /** The canonical path of the module holding the import (of the module itself for `syntax` and `missing` entries). */
  module: string;
  /** The specifier as written; undefined for `computed` and `syntax`. */
  specifier: string | undefined;
  /**
   * `computed`: a dynamic import whose specifier is computed at run time; `syntax`: the module does not
   * parse; `outside`: it resolves outside the base URL or to an unusable path; `bare`: a bare specifier
   * that `modules.imports` does not map; `missing`: no root has the file (or it cannot be read).
   */
  reason: 'computed' | 'syntax' | 'outside' | 'bare' | 'missing';
  /** Says what and why, for a warning. */
  message: string;
  /**
   * The StaticHashError code that `onMissing: 'throw'` throws for it: `ERR_STATIC_MODULE` (syntax,
   * bare), `ERR_STATIC_UNSAFE_PATH` (outside), `ERR_STATIC_NOT_FOUND` (missing), or the code of the
   * error reading the file (`ERR_STATIC_NOT_A_FILE`, `ERR_STATIC_IO`); none for `computed`.
   */
  code: StaticHashErrorCode | undefined;
}

/** Every module reachable from one entry, as {@link StaticHasher.moduleGraph} returns it. */
export interface ModuleGraph {
  /** The entry's canonical path. */
  entry: string;
  /** The generation it was computed under. */
  generation: number;
  /** The entry first, then statically imported modules, then those reached through dynamic imports; each once. */
  modules: GraphModule[];
  /** What could not be followed, in walk order. */
  unresolved: UnresolvedImport[];
}

/** What the hasher lends the module graph. */
export interface ModuleHost {
  /** The module's hash (undefined when no root has it). May throw StaticHashError. */
  hash(canonical: string, generation: number): string | undefined;
  /** The versioned URL of a reference whose hash is known. */
  url(reference: string, hash: string): string;
  /** What the module imports: from the manifest, or lexed from the file; undefined if it vanished. May throw StaticHashError. */
  lex(canonical: string, generation: number): LexedModule | undefined;
}

/**
 * Walks a module graph with the shared walk of src/graph.ts: first from the entry over static
 * imports (those modules are `static`), then from each module reached through a dynamic import,
 * over every import. A module already seen is not explored again, so cycles end the walk: a module's
 * hash is its own bytes (nothing is rewritten), so unlike stylesheets no component needs a joint hash.
 */
export function walkModuleGraph(entry: string, generation: number, host: ModuleHost, resolver: ModuleResolver): ModuleGraph {
  const modules: GraphModule[] = [];
  const unresolved: UnresolvedImport[] = [];
  // Canonical path -> its module, or null when it could not be used (reported once).
  const seen = new Map<string, GraphModule | null>();
  const hashes = new Map<string, string>();
  // Each module's imports, resolved once; linked to their targets' modules when the walk is done.
  const resolved = new Map<GraphModule, Array<{ record: ModuleImportRecord; target: FileTarget }>>();
  // Who first led to a path not loaded yet: for its message when it is missing, and its module type.
  const firstImport = new Map<string, { importer: string; record: ModuleImportRecord }>();
  const deferred: string[] = [];

  const visit = (canonical: string, isStatic: boolean): GraphModule | undefined => {
    const known = seen.get(canonical);
    if (known !== undefined) return known ?? undefined;
    const from = firstImport.get(canonical);
    const importer = from?.importer;
    const specifier = from?.record.specifier;
    let hash: string | undefined;
    try {
      hash = host.hash(canonical, generation);
    } catch (error) {
      if (!(error instanceof StaticHashError)) throw error;
      seen.set(canonical, null);
      unresolved.push({ module: importer ?? canonical, specifier, reason: 'missing', message: error.message, code: error.code });
      return undefined;
    }
    if (hash === undefined) {
      seen.set(canonical, null);
      unresolved.push({
        module: importer ?? canonical, specifier, reason: 'missing', code: 'ERR_STATIC_NOT_FOUND',
        message: importer === undefined ? `module ${describeValue(canonical)} was not found`
          : `module ${describeValue(importer)} imports ${describeValue(specifier)}, which was not found (${describeValue(canonical)})`,
      });
      return undefined;
    }
    const module: GraphModule = {
      path: canonical, key: moduleKey(resolver, canonical), url: host.url(canonical, hash), static: isStatic, type: from?.record.type, imports: [],
    };
    seen.set(canonical, module);
    hashes.set(canonical, hash);
    modules.push(module);
    return module;
  };

  /** Lexes and resolves a module's imports once, reporting what cannot be followed. */
  const importsOf = (module: GraphModule): Array<{ record: ModuleImportRecord; target: FileTarget }> => {
    let list = resolved.get(module);
    if (list !== undefined) return list;
    list = [];
    resolved.set(module, list);
    if (module.type !== undefined) return list;
    let lexed: LexedModule | undefined;
    try {
      lexed = host.lex(module.path, generation);
    } catch (error) {
      if (!(error instanceof StaticHashError)) throw error;
      unresolved.push({ module: module.path, specifier: undefined, reason: 'missing', message: error.message, code: error.code });
      return list;
    }
    if (lexed === undefined) return list;
    if (lexed.error !== undefined) {
      unresolved.push({
        module: module.path, specifier: undefined, reason: 'syntax', code: 'ERR_STATIC_MODULE',
        message: `module ${describeValue(module.path)} does not parse (${lexed.error}); its imports are not mapped`,
      });
    }
    if (lexed.computed > 0) {
      unresolved.push({
        module: module.path, specifier: undefined, reason: 'computed', code: undefined,
        message: `module ${describeValue(module.path)} has ${lexed.computed} dynamic import${lexed.computed === 1 ? '' : 's'} computed at run time; `
          + 'the modules they load are not in the import map (the browser revalidates them)',
      });
    }
    for (const record of lexed.imports) {
      const target = resolveModuleSpecifier(record.specifier, module.path, resolver);
      if (target.kind === 'external') continue;
      if (target.kind === 'unresolved') {
        unresolved.push({
          module: module.path, specifier: record.specifier, reason: target.reason,
          code: target.reason === 'bare' ? 'ERR_STATIC_MODULE' : 'ERR_STATIC_UNSAFE_PATH',
          message: `module ${describeValue(module.path)} imports ${target.message}`,
        });
        continue;
      }
      if (!firstImport.has(target.path)) firstImport.set(target.path, { importer: module.path, record });
      list.push({ record, target });
    }
    return list;
  };

  // Static imports first, so that a module imported both ways counts as static (and is preloaded);
  // a static module's dynamic imports wait for the second part.
  const root = visit(entry, true);
  if (root !== undefined) {
    walkComponents(entry, root, {
      edges: (module) => importsOf(module).flatMap(({ record, target }) => {
        if (record.dynamic !== true) return [target.path];
        deferred.push(target.path);
        return [];
      }),
      load: (key) => (seen.has(key) ? undefined : visit(key, true)),
      component: () => {},
    });
    for (const key of deferred) {
      if (seen.has(key)) continue;
      const start = visit(key, false);
      if (start === undefined) continue;
      walkComponents(key, start, {
        edges: (module) => importsOf(module).map(({ target }) => target.path),
        load: (next) => (seen.has(next) ? undefined : visit(next, false)),
        component: () => {},
      });
    }
  }
  for (const [module, list] of resolved) {
    for (const { record, target } of list) {
      const next = seen.get(target.path);
      if (next === undefined || next === null) continue;
      // An import written with a query or fragment is another module instance in the browser, with its own URL.
      const url = target.reference === target.path ? next.url : host.url(target.reference, hashes.get(next.path)!);
      module.imports.push({ specifier: record.specifier, dynamic: record.dynamic === true, key: target.key, path: target.path, url });
    }
  }
  return { entry, generation, modules, unresolved };
}

type FileTarget = Extract<ModuleTarget, { kind: 'file' }>;

// ---------------------------------------------------------------------------------------------
// Import maps.
// ---------------------------------------------------------------------------------------------

/** An import map, as `<script type="importmap">` takes it. */
export interface ImportMap {
  /** The URL each module resolves to without a version (or a bare specifier) -> its versioned URL. */
  imports: Record<string, string>;
  /** Versioned URL -> `sha384-…`, with `{ integrity: true }`. */
  integrity?: Record<string, string>;
}

/** Options of {@link StaticHasher.importMap}. */
export interface ImportMapOptions {
  /**
   * Add the import map's `integrity` section (Chrome 127+, Firefox 138+, Safari 18+): every mapped
   * module's sha384, which the browser checks before running it.
   * @default false
   */
  integrity?: boolean;
}

/**
 * The import map for a set of graphs: every module under its key, every import spelled another way
 * (another percent-encoding, a query) under that spelling, bare specifiers (and `aliases`, the
 * configured bare names) under their names. Keys
 * are sorted, so the same graphs always give the same text.
 */
export function buildImportMap(
  graphs: readonly ModuleGraph[],
  aliases: ReadonlyArray<{ key: string; url: string; path: string }>,
  integrityOf: ((path: string) => string | undefined) | undefined,
): ImportMap {
  const imports = new Map<string, string>();
  const paths = new Map<string, string>();
  for (const alias of aliases) {
    imports.set(alias.key, alias.url);
    paths.set(alias.url, alias.path);
  }
  for (const graph of graphs) {
    for (const module of graph.modules) {
      imports.set(module.key, module.url);
      paths.set(module.url, module.path);
      for (const edge of module.imports) {
        imports.set(edge.key, edge.url);
        paths.set(edge.url, edge.path);
      }
    }
  }
  const sortedImports: Record<string, string> = {};
  for (const key of [...imports.keys()].sort()) sortedImports[key] = imports.get(key)!;
  const map: ImportMap = { imports: sortedImports };
  if (integrityOf !== undefined) {
    const integrity: Record<string, string> = {};
    for (const url of [...paths.keys()].sort()) {
      const value = integrityOf(paths.get(url)!);
      if (value !== undefined) integrity[url] = value;
    }
    map.integrity = integrity;
  }
  return map;
}

/** The versioned URLs to `modulepreload` for a set of graphs: their static JavaScript modules, entries first, each once. */
export function preloadUrls(graphs: readonly ModuleGraph[]): Array<{ url: string; path: string }> {
  const seen = new Set<string>();
  const out: Array<{ url: string; path: string }> = [];
  for (const graph of graphs) {
    for (const module of graph.modules) {
      if (!module.static || module.type !== undefined || seen.has(module.url)) continue;
      seen.add(module.url);
      out.push({ url: module.url, path: module.path });
    }
  }
  return out;
}
