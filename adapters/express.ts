import fs from 'node:fs';
import type { Stats } from 'node:fs';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import fresh from 'fresh';
import { contentType } from 'mime-types';
import send from 'send';
import { StaticHashError, type ResolvedReference, type StaticHasher } from '../src/index.js';
import { describeValue, rejectUnknownKeys } from '../src/internal.js';

/** A precompressed sibling the middleware can serve: `br` from `file.br`, `gzip` from `file.gz`. */
export type PrecompressedEncoding = 'br' | 'gzip';

/** Options of {@link serveStatic}. Every option is optional. */
export interface ServeStaticOptions {
  /**
   * The URL path the files are served under, as requests reach this server. Only requests under it
   * are answered; others go to `next()`. Set it when a CDN or proxy rewrites paths, e.g. `baseUrl`
   * `'https://cdn.example.com/'` pulling from `https://origin.example.com/static/` needs `'/static/'`.
   * A missing trailing slash is added.
   * @default the path of the hasher's `baseUrl` (`'/static/'`; `'/assets/'` for `'https://cdn.example.com/assets/'`)
   */
  basePath?: string;
  /**
   * What a request carrying a version other than the current one gets: `'serve'` answers the current
   * content with `Cache-Control: no-cache`; `'redirect'` answers `307` to the current URL. A request
   * without any version is always served.
   * @default 'serve'
   */
  staleVersion?: 'serve' | 'redirect';
  /**
   * `true`: a missing file, a directory or an ignored dotfile goes to `next()`, so later middleware
   * can answer. `false`: the middleware answers `404` itself. (Defaults to true like serve-static's.)
   * @default true
   */
  fallthrough?: boolean;
  /**
   * Files or directories whose name starts with a dot: `'ignore'` treats them as missing, `'deny'`
   * answers `403`, `'allow'` serves them. A first path segment `.well-known` (RFC 8615) is always
   * served.
   * @default 'ignore'
   */
  dotfiles?: 'ignore' | 'deny' | 'allow';
  /**
   * Precompressed siblings to look for, in order of preference when the client accepts several
   * equally: `'br'` serves `app.js.br`, `'gzip'` serves `app.js.gz`. `[]` turns this off.
   * @default ['br', 'gzip']
   */
  encodings?: PrecompressedEncoding[];
  /**
   * Called before a file is answered (200, 206, 304), to add headers, like serve-static's hook. It
   * runs after the middleware set its own, so it may override them (`Cache-Control` included).
   * `file` is the real path of the requested (uncompressed) file; `stat` describes the bytes sent
   * (the precompressed sibling when one is served). A hook that throws goes to `next(error)`.
   * @default undefined
   */
  setHeaders?: (res: ServerResponse, file: string, stat: Stats) => void;
}

/** {@link ServeStaticOptions} with every default filled in, as {@link normalizeServeStaticOptions} returns them. */
export interface NormalizedServeStaticOptions {
  /** Starts and ends with '/'. */
  basePath: string;
  staleVersion: 'serve' | 'redirect';
  fallthrough: boolean;
  dotfiles: 'ignore' | 'deny' | 'allow';
  /** Distinct, in order of preference. */
  encodings: PrecompressedEncoding[];
  setHeaders: ((res: ServerResponse, file: string, stat: Stats) => void) | undefined;
}

/** What the middleware calls when it does not answer: with an error for server faults (I/O errors). */
export type NextFunction = (error?: unknown) => void;

/** A Connect-style middleware; Express 5 accepts it as is, and plain `node:http` can call it. */
export type StaticMiddleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;

// Express mounts a middleware by cutting its mount path from req.url into req.baseUrl.
type RoutedRequest = IncomingMessage & { baseUrl?: unknown };

/** The header a current version gets: a year (the conventional maximum lifetime), never revalidated. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** The header an unversioned or stale request gets: cache, but ask (ETag / Last-Modified) every time. */
export const REVALIDATE_CACHE_CONTROL = 'no-cache';

const OPTION_NAMES = ['basePath', 'staleVersion', 'fallthrough', 'dotfiles', 'encodings', 'setHeaders'] as const;

/** Every default in one place. */
const DEFAULTS = {
  staleVersion: 'serve',
  fallthrough: true,
  dotfiles: 'ignore',
  encodings: ['br', 'gzip'],
} as const;

const SIBLING_EXTENSION: Record<PrecompressedEncoding, string> = { br: '.br', gzip: '.gz' };

// send is given an absolute real path with no root: its own dotfile check would then look at every
// directory above the root too (a site under ~/.local would be refused), so dotfiles are decided here
// on the request path and send allows them. No index files: directories go to next().
const SEND_OPTIONS: send.SendOptions = { dotfiles: 'allow', index: false, cacheControl: false, etag: true, lastModified: true };

const URL_PATH_SAFE = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;

// The scheme and authority of an absolute-form request target ('GET http://host/static/x HTTP/1.1'),
// which HTTP/1.1 servers must accept (RFC 9112 3.2.2) and proxies may send.
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** A request path that cannot be a file's URL: a malformed or unsafe one, answered 400. */
const MALFORMED = Symbol('malformed');

interface Variant {
  encoding: PrecompressedEncoding;
  file: string;
}

interface Found {
  resolved: ResolvedReference;
  /** The version the request carried (from the query or the file name), if any. */
  version: string | undefined;
}


function invalid(option: string, expected: string, value: unknown): never {
  throw new StaticHashError(
    'ERR_STATIC_INVALID_OPTION',
    `static-hash/express: option "${option}" must be ${expected}; got ${describeValue(value)}`,
    { option, value },
  );
}

function choice<T extends string>(value: unknown, option: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) invalid(option, `one of ${choices.map((entry) => `"${entry}"`).join(', ')}`, value);
  return value as T;
}

/** The path part of a base URL: '/static/' as is, '/assets/' for 'https://cdn.example.com/assets/'. */
function pathOfBaseUrl(baseUrl: string): string {
  if (baseUrl.startsWith('/') && !baseUrl.startsWith('//')) return baseUrl;
  const pathname = new URL(baseUrl, 'http://localhost').pathname;
  return pathname.endsWith('/') ? pathname : `${pathname}/`;
}

/**
 * Validates {@link serveStatic}'s options and fills in every default. Throws `ERR_STATIC_INVALID_OPTION`
 * naming the first bad option, or the closest known name for a misspelt one.
 *
 * @example
 * normalizeServeStaticOptions(hasher, { staleVersion: 'redirect' }).basePath //=> '/static/'
 */
export function normalizeServeStaticOptions(hasher: StaticHasher, options: ServeStaticOptions = {}): NormalizedServeStaticOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalid('options', 'an object', options);
  rejectUnknownKeys(options, OPTION_NAMES, 'serveStatic() option');

  let basePath: string;
  if (options.basePath === undefined) {
    basePath = pathOfBaseUrl(hasher.options.baseUrl);
  } else {
    if (typeof options.basePath !== 'string' || !URL_PATH_SAFE.test(options.basePath) || options.basePath.startsWith('//')) {
      invalid('basePath', 'a URL path starting with "/" such as "/static/", without query or fragment', options.basePath);
    }
    basePath = options.basePath.endsWith('/') ? options.basePath : `${options.basePath}/`;
  }

  if (options.fallthrough !== undefined && typeof options.fallthrough !== 'boolean') invalid('fallthrough', 'a boolean', options.fallthrough);

  let encodings: PrecompressedEncoding[] = [...DEFAULTS.encodings];
  if (options.encodings !== undefined) {
    const list: unknown = options.encodings;
    if (!Array.isArray(list) || list.some((entry) => entry !== 'br' && entry !== 'gzip') || new Set(list).size !== list.length) {
      invalid('encodings', 'an array of distinct "br" and "gzip" (or [] for none)', list);
    }
    encodings = [...(list as PrecompressedEncoding[])];
  }

  if (options.setHeaders !== undefined && typeof options.setHeaders !== 'function') {
    invalid('setHeaders', 'a function (res, file, stat) => void', options.setHeaders);
  }

  return {
    basePath,
    staleVersion: choice(options.staleVersion, 'staleVersion', ['serve', 'redirect'] as const, DEFAULTS.staleVersion),
    fallthrough: options.fallthrough ?? DEFAULTS.fallthrough,
    dotfiles: choice(options.dotfiles, 'dotfiles', ['ignore', 'deny', 'allow'] as const, DEFAULTS.dotfiles),
    encodings,
    setHeaders: options.setHeaders,
  };
}

/**
 * Decodes a request path (after the base path) into a reference, one segment at a time, so an
 * encoded '/' can never become a separator. Returns MALFORMED for bad percent-encoding (including
 * overlong UTF-8 such as %c0%ae) and encoded separators, undefined for names no reference can
 * write ('?' and '#' start a reference's query and fragment), and leaves every other check
 * (.., NUL, backslash, schemes, look-alikes) to the core's parseReference inside resolve().
 */
function decodeRequestPath(rawPath: string): string | typeof MALFORMED | undefined {
  if (rawPath.includes('#')) return undefined;
  if (!rawPath.includes('%')) return rawPath;
  const segments = rawPath.split('/');
  for (let index = 0; index < segments.length; index++) {
    let segment: string;
    try {
      segment = decodeURIComponent(segments[index]!);
    } catch {
      return MALFORMED;
    }
    if (segment.includes('/')) return MALFORMED;
    if (segment.includes('?') || segment.includes('#')) return undefined;
    segments[index] = segment;
  }
  return segments.join('/');
}

/** req.url without the scheme and host of an absolute-form target: always a path, or '*'. */
function originForm(url: string): string {
  if (url.charCodeAt(0) === 47) return url;
  const authority = ABSOLUTE_FORM.exec(url);
  if (authority === null) return url;
  const rest = url.slice(authority[0].length);
  return rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
}

function isHexHash(text: string, length: number): boolean {
  if (text.length !== length) return false;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return false;
  }
  return true;
}

/**
 * The inverse of the core's filename style: 'js/app.3f9a1c0b7d2e.js' -> 'js/app.js', 'LICENSE.H' ->
 * 'LICENSE', '.env.H' -> '.env'. Only a name the core could have produced is taken apart: the hash
 * must be exactly `hashLength` lower-case hex characters. Undefined for any other name.
 *
 * @example
 * removeFilenameHash('js/app.3f9a1c0b7d2e.js', 12) //=> { reference: 'js/app.js', hash: '3f9a1c0b7d2e' }
 */
export function removeFilenameHash(reference: string, hashLength: number): { reference: string; hash: string } | undefined {
  const slash = reference.lastIndexOf('/');
  const name = reference.slice(slash + 1);
  const directory = reference.slice(0, slash + 1);
  const lastDot = name.lastIndexOf('.');
  if (lastDot <= 0) return undefined;
  // 'LICENSE.H' / '.env.H': names without an extension get the hash appended.
  const tail = name.slice(lastDot + 1);
  if (isHexHash(tail, hashLength) && name.lastIndexOf('.', lastDot - 1) <= 0) {
    return { reference: directory + name.slice(0, lastDot), hash: tail };
  }
  // 'app.H.js': the hash goes before the last extension.
  const hashDot = name.lastIndexOf('.', lastDot - 1);
  if (hashDot <= 0) return undefined;
  const hash = name.slice(hashDot + 1, lastDot);
  if (!isHexHash(hash, hashLength)) return undefined;
  return { reference: directory + name.slice(0, hashDot) + name.slice(lastDot), hash };
}

/**
 * The inverse of filename style for a release version (`version: '1.4.2'`): 'js/app.1.4.2.js' ->
 * 'js/app.js', 'LICENSE.1.4.2' -> 'LICENSE'. A version has dots of its own, so the name is matched
 * against the exact version rather than taken apart at dots. Undefined for any other name.
 */
export function removeFilenameVersion(reference: string, version: string): { reference: string; hash: string } | undefined {
  const slash = reference.lastIndexOf('/');
  const directory = reference.slice(0, slash + 1);
  const name = reference.slice(slash + 1);
  const marker = `.${version}`;
  const lastDot = name.lastIndexOf('.');
  if (lastDot > 0) {
    const extension = name.slice(lastDot);
    const stem = name.slice(0, lastDot);
    if (stem.endsWith(marker) && stem.length > marker.length) {
      return { reference: directory + stem.slice(0, -marker.length) + extension, hash: version };
    }
  }
  if (name.endsWith(marker) && name.length > marker.length) return { reference: directory + name.slice(0, -marker.length), hash: version };
  return undefined;
}

/** The version in a query: the last `param=value` pair, or with `param: ''` the last pair without '='. */
function versionInQuery(query: string, param: string): string | undefined {
  let version: string | undefined;
  const prefix = `${param}=`;
  for (const pair of query.split('&')) {
    if (param === '') {
      if (pair !== '' && !pair.includes('=')) version = pair;
    } else if (pair.startsWith(prefix)) {
      version = pair.slice(prefix.length);
    }
  }
  return version;
}

/** A canonical path with a segment starting with '.', other than a leading '.well-known'. */
function isHiddenPath(canonical: string): boolean {
  if (canonical.charCodeAt(0) !== 46 && !canonical.includes('/.')) return false;
  const segments = canonical.split('/');
  for (let index = 0; index < segments.length; index++) {
    if (segments[index]!.startsWith('.') && !(index === 0 && segments[index] === '.well-known')) return true;
  }
  return false;
}

/** The quality the Accept-Encoding header gives `encoding` (0 when not acceptable). */
function acceptedQuality(header: string, encoding: PrecompressedEncoding): number {
  let wildcard = 0;
  for (const part of header.split(',')) {
    const semicolon = part.indexOf(';');
    const token = (semicolon === -1 ? part : part.slice(0, semicolon)).trim().toLowerCase();
    let quality = 1;
    if (semicolon !== -1) {
      const match = /(?:^|;)\s*q\s*=\s*([0-9.]+)/i.exec(part.slice(semicolon));
      if (match) quality = Number(match[1]);
      if (!Number.isFinite(quality)) quality = 0;
    }
    if (token === encoding || (encoding === 'gzip' && token === 'x-gzip')) return quality;
    if (token === '*') wildcard = quality;
  }
  return wildcard;
}

/** The best variant the client accepts; on equal quality the earlier one (the `encodings` order). */
function chooseVariant(header: string | undefined, variants: readonly Variant[]): Variant | undefined {
  if (header === undefined || header === '') return undefined;
  let best: Variant | undefined;
  let bestQuality = 0;
  for (const variant of variants) {
    const quality = acceptedQuality(header, variant.encoding);
    if (quality > bestQuality) {
      best = variant;
      bestQuality = quality;
    }
  }
  return best;
}

function appendVary(res: ServerResponse, field: string): void {
  const current = res.getHeader('Vary');
  if (current === undefined) {
    res.setHeader('Vary', field);
    return;
  }
  const text = Array.isArray(current) ? current.join(', ') : String(current);
  if (text.split(',').some((entry) => entry.trim() === '*' || entry.trim().toLowerCase() === field.toLowerCase())) return;
  res.setHeader('Vary', `${text}, ${field}`);
}

// Headers this middleware sets before it knows the outcome; removed if it then passes to next().
const OWN_HEADERS = ['Cache-Control', 'Content-Encoding', 'Content-Type', 'Content-Length', 'Content-Range', 'ETag', 'Last-Modified', 'Accept-Ranges'];

function removeOwnHeaders(res: ServerResponse): void {
  for (const name of OWN_HEADERS) res.removeHeader(name);
}

/** Answers a short plain-text status page (no body for HEAD). */
function respond(req: IncomingMessage, res: ServerResponse, status: number, headers?: Record<string, string>): void {
  const body = `${STATUS_CODES[status] ?? String(status)}\n`;
  res.statusCode = status;
  if (headers) for (const name of Object.keys(headers)) res.setHeader(name, headers[name]!);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** send URL-decodes the path it is given; the real path must reach the filesystem unchanged. */
function pathForSend(file: string): string {
  return file.includes('%') ? file.replaceAll('%', '%25') : file;
}

interface CachedResolution {
  resolved: ResolvedReference;
  /** The version a filename-style name carried ('app.H.js'); undefined when the name is the file's own. */
  versionFromName: string | undefined;
  /** Identity of the file that was resolved: a later request is served from this entry only if the path still leads to it. */
  dev: number;
  ino: number;
}

/**
 * The resolutions of the references requested in this generation. The core's resolve() takes each
 * file's real path (realpath: several system calls) to keep symlinks from leading out of the root;
 * that check dominated a request's cost (0.80x of serve-static's requests/s). A cached entry is used
 * only while one stat of its real path finds the very file that was checked (same device and inode):
 * a directory swapped for a symlink, a file replaced or removed, gives another inode or none, and the
 * reference is resolved, and checked, afresh. Dropped whole when the generation moves; not used at all
 * while the hasher caches nothing itself (nocache, a failed watcher, a shared store out of touch).
 */
class ResolutionCache {
  readonly #hasher: StaticHasher;
  #generation = -1;
  #entries = new Map<string, CachedResolution>();

  constructor(hasher: StaticHasher) {
    this.#hasher = hasher;
  }

  get(reference: string): CachedResolution | undefined {
    if (this.#hasher.generation !== this.#generation) {
      this.#generation = this.#hasher.generation;
      this.#entries = new Map();
      return undefined;
    }
    const entry = this.#entries.get(reference);
    if (entry === undefined) return undefined;
    const stat = fs.statSync(entry.resolved.file, { throwIfNoEntry: false });
    if (stat === undefined || !stat.isFile() || stat.ino !== entry.ino || stat.dev !== entry.dev || this.#hasher.bypass) {
      this.#entries.delete(reference);
      return undefined;
    }
    return entry;
  }

  set(reference: string, resolved: ResolvedReference, versionFromName: string | undefined): void {
    if (this.#hasher.generation !== this.#generation || this.#hasher.bypass) return;
    const stat = fs.statSync(resolved.file, { throwIfNoEntry: false });
    if (stat === undefined || !stat.isFile()) return;
    // Bounded like the hasher's own caches: a flood of distinct references restarts the map.
    if (this.#entries.size >= this.#hasher.options.maxEntries) this.#entries = new Map();
    this.#entries.set(reference, { resolved, versionFromName, dev: stat.dev, ino: stat.ino });
  }
}

/**
 * Which precompressed siblings each file has, per generation of the hasher: the generation moves
 * when files change (watcher or invalidate()), and with it this map. Bounded like the hasher's caches.
 */
class VariantCache {
  readonly #hasher: StaticHasher;
  readonly #encodings: readonly PrecompressedEncoding[];
  #generation = -1;
  #variants = new Map<string, readonly Variant[]>();

  constructor(hasher: StaticHasher, encodings: readonly PrecompressedEncoding[]) {
    this.#hasher = hasher;
    this.#encodings = encodings;
  }

  get(file: string): readonly Variant[] | undefined {
    if (this.#hasher.generation !== this.#generation) {
      this.#generation = this.#hasher.generation;
      this.#variants = new Map();
      return undefined;
    }
    return this.#variants.get(file);
  }

  /** Drops what is known of a file's siblings (one vanished): the next request looks again. */
  forget(file: string): void {
    this.#variants.delete(file);
  }

  async load(file: string): Promise<readonly Variant[]> {
    const generation = this.#hasher.generation;
    const original = await fs.promises.stat(file);
    const variants: Variant[] = [];
    for (const encoding of this.#encodings) {
      const sibling = file + SIBLING_EXTENSION[encoding];
      try {
        // lstat: a symlinked sibling could point outside the root, and is ignored. A sibling older
        // than the file was compressed from an earlier version: serving it would put old bytes under
        // the new hash.
        const stat = await fs.promises.lstat(sibling);
        if (stat.isFile() && stat.mtimeMs >= original.mtimeMs) variants.push({ encoding, file: sibling });
      } catch {
        // no sibling
      }
    }
    // A hasher that hashes afresh on every lookup (nocache, a failed watcher) gets no caching here either.
    if (generation === this.#hasher.generation && generation === this.#generation && !this.#hasher.bypass) {
      if (this.#variants.size >= this.#hasher.options.maxEntries) this.#variants = new Map();
      this.#variants.set(file, variants);
    }
    return variants;
  }
}

/**
 * The HTTP status of a StaticHashError (400 unsafe path, 404 not a file), else undefined. By name,
 * not instanceof, for the same reason as checkHasher: the hasher may come from the other build.
 */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || (error as Error).name !== 'StaticHashError') return undefined;
  const status = (error as StaticHashError).status;
  return typeof status === 'number' ? status : undefined;
}

function checkHasher(hasher: unknown): asserts hasher is StaticHasher {
  const candidate = hasher as Partial<StaticHasher> | null | undefined;
  // Duck-typed rather than instanceof: an ESM and a CommonJS copy of the package are different classes.
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.resolve !== 'function'
    || typeof candidate.read !== 'function' || typeof candidate.options !== 'object') {
    throw new StaticHashError(
      'ERR_STATIC_INVALID_OPTION',
      `static-hash/express: serveStatic() takes a hasher from createStaticHasher() first; got ${describeValue(hasher)}`,
      { option: 'hasher', value: hasher },
    );
  }
}

/**
 * Serves the files of a hasher's roots under its `baseUrl` path, with caching headers that follow
 * the version in the URL: the current hash gets `Cache-Control: public, max-age=31536000, immutable`;
 * no version or a stale one gets the current content with `no-cache` (ETag / Last-Modified
 * revalidation). Files are streamed by `send` (HEAD, Range, conditional requests); stylesheets are
 * served from `hasher.read()`, the bytes their hash covers. Bad paths get 400, missing files go to
 * `next()`, other methods get 405: never a 500 for a request path, never a byte from outside the roots.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for a missing hasher or a bad option.
 * @example
 * import express from 'express';
 * import { createStaticHasher } from 'static-hash';
 * import { serveStatic } from 'static-hash/express';
 *
 * const hasher = await createStaticHasher({ root: 'public', baseUrl: '/static/' });
 * const app = express();
 * app.use(serveStatic(hasher)); // answers /static/… ; or app.use('/static', serveStatic(hasher))
 */
export function serveStatic(hasher: StaticHasher, options: ServeStaticOptions = {}): StaticMiddleware {
  checkHasher(hasher);
  const settings = normalizeServeStaticOptions(hasher, options);
  const { basePath, staleVersion, fallthrough, dotfiles, encodings, setHeaders } = settings;
  const { hashLength, param } = hasher.options;
  const variantCache = new VariantCache(hasher, encodings);

  const resolutions = new ResolutionCache(hasher);

  /** Finds the file a reference names, as itself first, then as a filename-style hashed name. */
  function find(reference: string, query: string | undefined): Found | undefined {
    const cached = resolutions.get(reference);
    if (cached !== undefined) {
      return { resolved: cached.resolved, version: cached.versionFromName ?? (query === undefined ? undefined : versionInQuery(query, param)) };
    }
    const resolved = hasher.resolve(reference);
    if (resolved !== undefined) {
      resolutions.set(reference, resolved, undefined);
      return { resolved, version: query === undefined ? undefined : versionInQuery(query, param) };
    }
    // A real file whose name merely looks hashed was served above, as itself.
    const unhashed = removeFilenameHash(reference, hashLength)
      ?? (hasher.options.version === undefined ? undefined : removeFilenameVersion(reference, hasher.options.version));
    if (unhashed === undefined) return undefined;
    const original = hasher.resolve(unhashed.reference);
    if (original === undefined) return undefined;
    resolutions.set(reference, original, unhashed.hash);
    return { resolved: original, version: unhashed.hash };
  }

  function missing(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    if (fallthrough) next();
    else respond(req, res, 404);
  }

  /** A StaticHashError carries the status its cause maps to; anything else is a server fault. */
  function fail(error: unknown, req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    const status = statusOf(error);
    if (res.headersSent) {
      res.destroy(error instanceof Error ? error : undefined);
    } else if (status === 400) {
      removeOwnHeaders(res);
      respond(req, res, 400);
    } else if (status === 404) {
      removeOwnHeaders(res);
      missing(req, res, next);
    } else {
      removeOwnHeaders(res);
      next(error);
    }
  }

  function serveStylesheet(req: IncomingMessage, res: ServerResponse, next: NextFunction, found: Found, cacheControl: string): void {
    const { resolved } = found;
    // The body is what hasher.read() returns (rewritten CSS once the core rewrites stylesheets), so
    // its hash is its validator. No Last-Modified: the body also changes when a file the stylesheet
    // references changes, which the stylesheet's own mtime does not show, so If-Modified-Since
    // could wrongly answer 304. No Range either (Accept-Ranges: none): stylesheets are small.
    const etag = `"${resolved.hash}"`;
    res.setHeader('Cache-Control', cacheControl);
    res.setHeader('ETag', etag);
    res.setHeader('Content-Type', 'text/css; charset=utf-8');
    res.setHeader('Accept-Ranges', 'none');
    const hook = setHeaders === undefined
      ? Promise.resolve()
      : fs.promises.stat(resolved.file).then((stat) => setHeaders(res, resolved.file, stat));
    hook
      .then(async () => {
        if (fresh(req.headers, { etag })) {
          res.removeHeader('Content-Type');
          res.statusCode = 304;
          res.end();
          return;
        }
        const body = await hasher.read(resolved.path);
        if (body === undefined) {
          removeOwnHeaders(res);
          missing(req, res, next);
          return;
        }
        res.statusCode = 200;
        res.setHeader('Content-Length', body.length);
        res.end(req.method === 'HEAD' ? undefined : body);
      })
      .catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') fail(new StaticHashError('ERR_STATIC_NOT_FOUND', 'gone'), req, res, next);
        else fail(error, req, res, next);
      });
  }

  /** Sets the headers this middleware decides for a file; returns the sibling to send, if any. */
  function prepareFile(req: IncomingMessage, res: ServerResponse, file: string, cacheControl: string, variants: readonly Variant[]): Variant | undefined {
    let variant: Variant | undefined;
    if (variants.length > 0) {
      // Every answer for a file that has siblings varies with Accept-Encoding, the uncompressed one too.
      appendVary(res, 'Accept-Encoding');
      variant = chooseVariant(req.headers['accept-encoding'], variants);
    }
    res.setHeader('Cache-Control', cacheControl);
    if (variant !== undefined) {
      res.setHeader('Content-Encoding', variant.encoding);
      // The type of the original name, as send would give it for the uncompressed file.
      res.setHeader('Content-Type', contentType(path.extname(file)) || 'application/octet-stream');
    }
    return variant;
  }

  function serveFile(req: IncomingMessage, res: ServerResponse, next: NextFunction, found: Found, cacheControl: string): void {
    const file = found.resolved.file;

    const onError = (error: unknown): void => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        removeOwnHeaders(res);
        missing(req, res, next);
      } else {
        fail(error, req, res, next);
      }
    };

    const stream = (variant: Variant | undefined): void => {
      const sending = send(req, pathForSend(variant === undefined ? file : variant.file), SEND_OPTIONS);
      sending.on('directory', () => {
        removeOwnHeaders(res);
        missing(req, res, next);
      });
      sending.on('error', (error: Error & { status?: number; headers?: Record<string, string> }) => {
        const status = error.status ?? 500;
        if (res.headersSent) {
          res.destroy(error);
        } else if (status === 404 && variant !== undefined) {
          // The sibling vanished since it was seen: serve the file itself.
          variantCache.forget(file);
          removeOwnHeaders(res);
          start([]);
        } else if (status === 404) {
          removeOwnHeaders(res);
          missing(req, res, next);
        } else if (status < 500) {
          // 412 (If-Match), 416 (unsatisfiable Range, with its Content-Range header).
          removeOwnHeaders(res);
          respond(req, res, status, error.headers);
        } else {
          removeOwnHeaders(res);
          next(error);
        }
      });
      sending.pipe(res);
    };

    const start = (variants: readonly Variant[]): void => {
      const variant = prepareFile(req, res, file, cacheControl, variants);
      if (setHeaders === undefined) {
        stream(variant);
        return;
      }
      // The hook runs after our headers (so it may override them) and before send, on our own stat:
      // a hook that throws then reaches next(error) instead of throwing inside send's fs callback,
      // where nothing could catch it.
      fs.promises.stat(variant === undefined ? file : variant.file)
        .then((stat) => {
          setHeaders(res, file, stat);
          stream(variant);
        })
        .catch(onError);
    };

    const cached = encodings.length === 0 ? [] : variantCache.get(file);
    if (cached !== undefined) start(cached);
    else variantCache.load(file).then(start).catch(onError);
  }

  return function staticHashMiddleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    // Express strips its mount path from req.url into req.baseUrl (keeping an absolute-form target's
    // scheme and host in front); joined they give the path this layer sees, rewrites by earlier
    // middleware included. Plain node:http has req.url only.
    const mount = (req as RoutedRequest).baseUrl;
    const url = originForm(req.url ?? '/');
    const target = typeof mount === 'string' && mount !== '' ? mount + url : url;
    const queryAt = target.indexOf('?');
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    if (!rawPath.startsWith(basePath) || rawPath.length === basePath.length) {
      next();
      return;
    }
    const reference = decodeRequestPath(rawPath.slice(basePath.length));
    if (reference === MALFORMED) {
      respond(req, res, 400);
      return;
    }
    if (reference === undefined) {
      missing(req, res, next);
      return;
    }

    let found: Found | undefined;
    try {
      found = find(reference, queryAt === -1 ? undefined : target.slice(queryAt + 1));
    } catch (error) {
      fail(error, req, res, next);
      return;
    }
    if (found === undefined) {
      missing(req, res, next);
      return;
    }
    if (dotfiles !== 'allow' && isHiddenPath(found.resolved.path)) {
      if (dotfiles === 'deny') respond(req, res, 403);
      else missing(req, res, next);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      respond(req, res, 405, { Allow: 'GET, HEAD' });
      return;
    }

    const { version, resolved } = found;
    const current = version === resolved.hash;
    if (!current && version !== undefined && staleVersion === 'redirect') {
      respond(req, res, 307, { Location: resolved.url, 'Cache-Control': REVALIDATE_CACHE_CONTROL });
      return;
    }
    const cacheControl = current ? IMMUTABLE_CACHE_CONTROL : REVALIDATE_CACHE_CONTROL;
    if (resolved.path.slice(-4).toLowerCase() === '.css') serveStylesheet(req, res, next, found, cacheControl);
    else serveFile(req, res, next, found, cacheControl);
  };
}
