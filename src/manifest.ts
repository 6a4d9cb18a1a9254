import fs from 'node:fs';
import path from 'node:path';
import { StaticHashError, describeValue } from './errors.js';
import type { LexedModule, ModuleImportRecord } from './modules.js';
import type { NormalizedOptions } from './options.js';
import { sweepTemporaryFiles, temporaryPathFor } from './temporary-file.js';

/** The format number written into every manifest; a reader refuses any other. */
export const MANIFEST_FORMAT = 1;

/**
 * The options a manifest was built with: everything that shapes a URL or a stylesheet's contents,
 * hence its hash. A hasher loading the manifest must have the same values.
 */
export interface ManifestOptions {
  hashLength: number;
  baseUrl: string;
  urlStyle: 'query' | 'filename';
  param: string;
  /** Whether stylesheets had their url()/@import references rewritten (their hash covers the result). */
  css: boolean;
}

/**
 * A manifest as written to disk by `static-hash manifest`.
 *
 * @example
 * {
 *   "format": 1,
 *   "generator": "static-hash",
 *   "options": { "hashLength": 12, "baseUrl": "/static/", "urlStyle": "query", "param": "v", "css": true },
 *   "files": { "js/app.js": "3f9a1c0b7d2e" },
 *   "integrity": { "js/app.js": "sha384-…" }
 * }
 */
export interface StaticManifest {
  format: typeof MANIFEST_FORMAT;
  generator: 'static-hash';
  options: ManifestOptions;
  /** Canonical path (as `parseReference()` gives it) -> hash as it appears in URLs. */
  files: Record<string, string>;
  /** Canonical path -> `sha384-…`, present when built with `--integrity`. */
  integrity?: Record<string, string>;
  /**
   * Canonical path of each JavaScript file (`.js`, `.mjs`) that imports something -> what it imports, as
   * written, so `importMap()` reads no file at run time. A JavaScript file not listed imports nothing.
   * Absent in manifests written before module graphs existed: those graphs are then read from the files.
   */
  modules?: Record<string, LexedModule>;
}

/** A manifest read and checked, ready for lookups. */
export interface LoadedManifest {
  /** Absolute path it was read from. */
  file: string;
  options: ManifestOptions;
  // Maps, not the parsed objects: a lookup of "constructor" or "__proto__" must find nothing.
  files: Map<string, string>;
  integrity: Map<string, string> | undefined;
  /** What each listed module imports; undefined when the manifest has no "modules" section. */
  modules?: Map<string, LexedModule> | undefined;
}

const OPTION_KEYS = ['hashLength', 'baseUrl', 'urlStyle', 'param', 'css'] as const;
const INTEGRITY = /^sha384-[A-Za-z0-9+/]{64}$/;

/** The URL-shaping options of a hasher, as a manifest records them. */
export function manifestOptionsOf(options: NormalizedOptions): ManifestOptions {
  return {
    hashLength: options.hashLength,
    baseUrl: options.baseUrl,
    urlStyle: options.urlStyle,
    param: options.param,
    css: options.css,
  };
}

function corrupt(file: string, why: string, cause?: unknown): never {
  throw new StaticHashError('ERR_STATIC_MANIFEST', `static-hash: manifest ${file} is not a valid static-hash manifest: ${why}`, {
    file, cause,
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses and validates a manifest's text. Throws `ERR_STATIC_MANIFEST` naming `file` and what is
 * wrong: not JSON (a truncated file), another format, a bad option, or a hash that does not have
 * the manifest's `hashLength`.
 *
 * @example
 * const manifest = parseManifest(fs.readFileSync('static-manifest.json', 'utf8'), 'static-manifest.json');
 */
export function parseManifest(text: string, file: string): LoadedManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    corrupt(file, `not JSON (${(error as Error).message}); was it cut short? Rebuild it with "static-hash manifest"`, error);
  }
  if (!isPlainObject(data)) corrupt(file, `expected a JSON object; got ${describeValue(data)}`);
  if (data.format !== MANIFEST_FORMAT) corrupt(file, `expected "format": ${MANIFEST_FORMAT}; got ${describeValue(data.format)}`);

  const options = data.options;
  if (!isPlainObject(options)) corrupt(file, `expected "options" to be an object; got ${describeValue(options)}`);
  const { hashLength, baseUrl, urlStyle, param, css } = options;
  if (typeof hashLength !== 'number' || !Number.isInteger(hashLength) || hashLength < 4 || hashLength > 16) {
    corrupt(file, `expected options.hashLength to be an integer from 4 to 16; got ${describeValue(hashLength)}`);
  }
  if (typeof baseUrl !== 'string' || baseUrl === '') corrupt(file, `expected options.baseUrl to be a string; got ${describeValue(baseUrl)}`);
  if (urlStyle !== 'query' && urlStyle !== 'filename') corrupt(file, `expected options.urlStyle "query" or "filename"; got ${describeValue(urlStyle)}`);
  if (typeof param !== 'string') corrupt(file, `expected options.param to be a string; got ${describeValue(param)}`);
  if (typeof css !== 'boolean') corrupt(file, `expected options.css to be a boolean; got ${describeValue(css)}`);

  if (!isPlainObject(data.files)) corrupt(file, `expected "files" to be an object of path -> hash; got ${describeValue(data.files)}`);
  const hashPattern = new RegExp(`^[0-9a-f]{${hashLength}}$`);
  const files = new Map<string, string>();
  for (const [key, hash] of Object.entries(data.files)) {
    if (typeof hash !== 'string' || !hashPattern.test(hash)) {
      corrupt(file, `expected files[${describeValue(key)}] to be ${hashLength} hex characters; got ${describeValue(hash)}`);
    }
    files.set(key, hash);
  }

  let integrity: Map<string, string> | undefined;
  if (data.integrity !== undefined) {
    if (!isPlainObject(data.integrity)) corrupt(file, `expected "integrity" to be an object of path -> sha384; got ${describeValue(data.integrity)}`);
    integrity = new Map();
    for (const [key, value] of Object.entries(data.integrity)) {
      if (typeof value !== 'string' || !INTEGRITY.test(value)) {
        corrupt(file, `expected integrity[${describeValue(key)}] to be "sha384-" and 64 base64 characters; got ${describeValue(value)}`);
      }
      if (!files.has(key)) corrupt(file, `integrity[${describeValue(key)}] has no entry in "files"`);
      integrity.set(key, value);
    }
  }

  let modules: Map<string, LexedModule> | undefined;
  if (data.modules !== undefined) {
    if (!isPlainObject(data.modules)) corrupt(file, `expected "modules" to be an object of path -> { imports }; got ${describeValue(data.modules)}`);
    modules = new Map();
    for (const [key, value] of Object.entries(data.modules)) {
      if (!files.has(key)) corrupt(file, `modules[${describeValue(key)}] has no entry in "files"`);
      modules.set(key, parseModuleRecord(value, `modules[${describeValue(key)}]`, file));
    }
  }

  return { file, options: { hashLength, baseUrl, urlStyle, param, css }, files, integrity, modules };
}

/** One "modules" entry of a manifest, checked. */
function parseModuleRecord(value: unknown, where: string, file: string): LexedModule {
  if (!isPlainObject(value) || !Array.isArray(value.imports)) corrupt(file, `expected ${where} to be { imports: [...] }; got ${describeValue(value)}`);
  const computed = value.computed ?? 0;
  if (typeof computed !== 'number' || !Number.isInteger(computed) || computed < 0) corrupt(file, `expected ${where}.computed to be a count; got ${describeValue(computed)}`);
  if (value.error !== undefined && typeof value.error !== 'string') corrupt(file, `expected ${where}.error to be a string; got ${describeValue(value.error)}`);
  const imports: ModuleImportRecord[] = value.imports.map((entry: unknown, index: number) => {
    if (!isPlainObject(entry) || typeof entry.specifier !== 'string' || (entry.dynamic !== undefined && entry.dynamic !== true)
      || (entry.type !== undefined && typeof entry.type !== 'string')) {
      corrupt(file, `expected ${where}.imports[${index}] to be { specifier, dynamic?: true, type?: string }; got ${describeValue(entry)}`);
    }
    const record: ModuleImportRecord = { specifier: entry.specifier };
    if (entry.dynamic === true) record.dynamic = true;
    if (entry.type !== undefined) record.type = entry.type as string;
    return record;
  });
  const lexed: LexedModule = { imports, computed };
  if (value.error !== undefined) lexed.error = value.error as string;
  return lexed;
}

/**
 * Reads and validates a manifest file. Throws `ERR_STATIC_MANIFEST` when it cannot be read or is
 * not a valid manifest.
 *
 * @example
 * const manifest = await readManifest('static-manifest.json');
 * manifest.files.get('js/app.js'); //=> '3f9a1c0b7d2e'
 */
export async function readManifest(file: string): Promise<LoadedManifest> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await fs.promises.readFile(absolute, 'utf8');
  } catch (error) {
    throw new StaticHashError('ERR_STATIC_MANIFEST', `static-hash: cannot read manifest ${absolute}: ${(error as Error).message}`, {
      file: absolute, cause: error,
    });
  }
  return parseManifest(text, absolute);
}

/**
 * Throws `ERR_STATIC_MANIFEST` naming the manifest and every option whose value differs between
 * the manifest and the hasher: the URLs (and stylesheets) would not be the ones it was built for.
 */
export function checkManifestOptions(manifest: LoadedManifest, options: NormalizedOptions): void {
  const expected = manifestOptionsOf(options);
  const mismatches = OPTION_KEYS
    .filter((key) => manifest.options[key] !== expected[key])
    .map((key) => `${key} is ${JSON.stringify(manifest.options[key])} in the manifest but ${JSON.stringify(expected[key])} in the hasher`);
  if (mismatches.length === 0) return;
  throw new StaticHashError(
    'ERR_STATIC_MANIFEST',
    `static-hash: manifest ${manifest.file} was built with other options: ${mismatches.join('; ')}. `
      + 'Rebuild it with the hasher\'s options ("static-hash manifest --help") or give the hasher the manifest\'s.',
    { file: manifest.file, value: mismatches },
  );
}

function sortedModules(record: Record<string, LexedModule>): Record<string, LexedModule> {
  const out: Record<string, LexedModule> = Object.create(null);
  for (const key of Object.keys(record).sort()) out[key] = record[key]!;
  return out;
}

/** The JSON text of a manifest: keys sorted, so a rebuild of the same tree gives the same bytes. */
export function serializeManifest(manifest: StaticManifest): string {
  const sorted = (record: Record<string, string>): Record<string, string> => {
    const out: Record<string, string> = Object.create(null);
    for (const key of Object.keys(record).sort()) out[key] = record[key]!;
    return out;
  };
  const ordered: StaticManifest = {
    format: manifest.format,
    generator: manifest.generator,
    options: manifest.options,
    files: sorted(manifest.files),
    ...(manifest.integrity === undefined ? {} : { integrity: sorted(manifest.integrity) }),
    ...(manifest.modules === undefined ? {} : { modules: sortedModules(manifest.modules) }),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** What a non-regular file is, for a message. */
function describeKind(stats: fs.Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** Throws unless `target` is a regular file or does not exist (its parent must be a directory). */
function refuseForeignTarget(target: string): void {
  let stats: fs.Stats;
  try {
    stats = fs.lstatSync(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // a missing parent directory shows when the temp file is opened
    throw new StaticHashError('ERR_STATIC_IO', `static-hash: cannot write the manifest ${target}: ${describeWriteError(error, path.dirname(target))}`, {
      file: target, cause: error,
    });
  }
  if (stats.isFile()) return;
  throw new StaticHashError(
    'ERR_STATIC_IO',
    `static-hash: cannot write the manifest ${target}: it is ${describeKind(stats)}, not a regular file; left untouched`,
    { file: target },
  );
}

/** The real cause of a failed write, in words: ENOTDIR names the path that is not a directory. */
function describeWriteError(error: unknown, dir: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'ENOENT') {
    // Walk up to the first ancestor that exists: it is the file in the way, or the missing directory.
    let ancestor = dir;
    while (!fs.existsSync(ancestor) && path.dirname(ancestor) !== ancestor) ancestor = path.dirname(ancestor);
    if (code === 'ENOTDIR' || !fs.statSync(ancestor).isDirectory()) return `${ancestor} is not a directory`;
    return `directory ${dir} does not exist`;
  }
  return (error as Error).message;
}

/**
 * Writes a manifest atomically: the JSON goes to a temporary file in the target's directory (same
 * filesystem, so the rename is atomic), is flushed to disk, then renamed over the target. A reader,
 * or a run killed at any point, sees the previous complete manifest or the new one, never a part.
 *
 * Synchronous on purpose: no signal handler can run between the write and the rename, so only a
 * SIGKILL or a power loss can leave a `.<name>.<pid>.<random>.tmp` file behind; the next successful
 * write removes such leftovers of processes that are no longer running.
 *
 * @throws {StaticHashError} `ERR_STATIC_IO` when the directory is not writable, or the target is anything but a
 *   regular file (a symlink, FIFO, socket, device node or directory is left untouched).
 * @example
 * writeManifest('static-manifest.json', (await buildManifest({ root: 'public' })).manifest);
 */
export function writeManifest(file: string, manifest: StaticManifest): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const base = path.basename(target);
  // Only a regular file (or nothing) is replaced: a symlink, FIFO, socket, device node or directory
  // at the target is someone else's, and is left as it is. Checked again right before the rename.
  refuseForeignTarget(target);
  const temp = temporaryPathFor(target);
  let created = false;
  try {
    const fd = fs.openSync(temp, 'wx', 0o644);
    created = true;
    try {
      fs.writeFileSync(fd, serializeManifest(manifest));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    refuseForeignTarget(target);
    fs.renameSync(temp, target);
  } catch (error) {
    // Clean up only what this call created, and never let the cleanup's own failure hide the cause.
    if (created) {
      try {
        fs.rmSync(temp, { force: true });
      } catch { /* the cause below matters more */ }
    }
    if (error instanceof StaticHashError) throw error;
    throw new StaticHashError('ERR_STATIC_IO', `static-hash: cannot write the manifest ${target}: ${describeWriteError(error, dir)}`, {
      file: target, cause: error,
    });
  }
  // Persist the rename itself; not every platform lets a directory be opened for fsync.
  try {
    const dirFd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dirFd); } finally { fs.closeSync(dirFd); }
  } catch { /* best effort */ }
  sweepTemporaryFiles(dir, base);
}
