import fs from 'node:fs';
import path from 'node:path';
import { nodeCrypto } from './deferred.js';
import { StaticHashError, describeValue } from './errors.js';
import type { NormalizedOptions } from './options.js';

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
}

/** A manifest read and checked, ready for lookups. */
export interface LoadedManifest {
  /** Absolute path it was read from. */
  file: string;
  options: ManifestOptions;
  // Maps, not the parsed objects: a lookup of "constructor" or "__proto__" must find nothing.
  files: Map<string, string>;
  integrity: Map<string, string> | undefined;
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

  return { file, options: { hashLength, baseUrl, urlStyle, param, css }, files, integrity };
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
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
 * @throws {StaticHashError} `ERR_STATIC_IO` when the directory is not writable.
 * @example
 * writeManifest('static-manifest.json', (await buildManifest({ root: 'public' })).manifest);
 */
export function writeManifest(file: string, manifest: StaticManifest): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const base = path.basename(target);
  const temp = path.join(dir, `.${base}.${process.pid}.${nodeCrypto().randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(temp, 'wx', 0o644);
    try {
      fs.writeFileSync(fd, serializeManifest(manifest));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw new StaticHashError('ERR_STATIC_IO', `static-hash: cannot write manifest ${target}: ${(error as Error).message}`, {
      file: target, cause: error,
    });
  }
  // Persist the rename itself; not every platform lets a directory be opened for fsync.
  try {
    const dirFd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dirFd); } finally { fs.closeSync(dirFd); }
  } catch { /* best effort */ }
  const leftover = new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
  for (const name of fs.readdirSync(dir)) {
    const match = leftover.exec(name);
    if (match && Number(match[1]) !== process.pid && !isRunning(Number(match[1]))) fs.rmSync(path.join(dir, name), { force: true });
  }
}
