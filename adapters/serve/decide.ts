// The serving core shared by every framework adapter: from a request (method, target, headers) to
// what to answer (status, headers, which bytes). No framework and no response object here: an
// adapter translates the request in and the answer out (adapters/serve/node-response.ts for
// node:http and Connect).
import { STATUS_CODES } from 'node:http';
import type { Stats } from 'node:fs';
import fresh from 'fresh';
import { contentType as lookupType } from 'mime-types';
import parseRange from 'range-parser';
import type { AssetRepresentation, OpenedFile, StaticAsset, StaticHasher } from '../../src/index.js';
import { rememberedAsset } from '../../src/internal.js';
import type { NormalizedServeOptions } from './options.js';
import { chooseEncoding } from './negotiation.js';
import { MALFORMED, decodeRequestPath, isHiddenPath, originForm, removeFilenameHash, removeFilenameVersion, versionInQuery } from './request-path.js';

/** The header a current version gets: a year (the conventional maximum lifetime), never revalidated. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** The header an unversioned or stale request gets: cache, but ask (ETag / Last-Modified) every time. */
export const REVALIDATE_CACHE_CONTROL = 'no-cache';

/** A request as the serving core sees it. Header names are lower case, as node:http gives them. */
export interface ServeRequest {
  method: string | undefined;
  /** The target as this layer sees it: path and query (an absolute-form target is accepted). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Bytes to stream from an open descriptor: `start` to `end`, both included. */
export interface FileBody {
  opened: OpenedFile;
  start: number;
  end: number;
}

/** An answer: status, headers and body (`undefined` for none: HEAD, 304). */
export interface ServeResponse {
  action: 'respond';
  status: number;
  headers: Record<string, string>;
  body: Buffer | FileBody | undefined;
  /** For a file's answer: what a `setHeaders` hook is called with. */
  hook: { file: string; stat: Stats } | undefined;
}

/** What the core decided: answer, pass on (`next()`), or fail with a server fault (`next(error)`). */
export type ServeDecision = ServeResponse | { action: 'next' } | { action: 'error'; error: unknown };

const NEXT = { action: 'next' } as const;

/** Closes the descriptor an answer holds, if any (when an adapter does not send it after all). */
export function releaseBody(decision: ServeDecision): void {
  if (decision.action === 'respond' && decision.body !== undefined && !Buffer.isBuffer(decision.body)) decision.body.opened.close();
}

/** A short plain-text status page (no body for HEAD). */
export function statusPage(method: string | undefined, status: number, headers: Record<string, string> = {}): ServeResponse {
  const text = Buffer.from(`${STATUS_CODES[status] ?? String(status)}\n`);
  return {
    action: 'respond',
    status,
    headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(text.length), 'X-Content-Type-Options': 'nosniff' },
    body: method === 'HEAD' ? undefined : text,
    hook: undefined,
  };
}

/**
 * The HTTP status of a StaticHashError (400 unsafe path, 404 not a file), else undefined. By name,
 * not instanceof: the hasher may come from the other build (ESM beside CommonJS).
 */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || (error as Error).name !== 'StaticHashError') return undefined;
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

interface Found {
  asset: StaticAsset;
  /** The version the request carried (from the query or the file name), if any. */
  version: string | undefined;
}

/** send's precondition check (RFC 9110 13.1.1, 13.1.4): If-Match, then If-Unmodified-Since. */
function preconditionFailed(headers: ServeRequest['headers'], etag: string, lastModified: string | undefined): boolean {
  const match = headers['if-match'];
  if (typeof match === 'string') {
    if (match.trim() === '*') return false;
    const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
    return !match.split(',').some((entry) => {
      const tag = entry.trim();
      return tag === etag || tag === opaque || `W/${tag}` === etag;
    });
  }
  const unmodifiedSince = Date.parse(String(headers['if-unmodified-since'] ?? ''));
  if (!Number.isNaN(unmodifiedSince) && lastModified !== undefined) return Date.parse(lastModified) > unmodifiedSince;
  return false;
}

/** Whether a Range may be honoured under If-Range (send's reading: the ETag listed, or no later Last-Modified). */
function rangeStillFresh(headers: ServeRequest['headers'], etag: string, lastModified: string | undefined): boolean {
  const ifRange = headers['if-range'];
  if (typeof ifRange !== 'string') return true;
  if (ifRange.includes('"')) return ifRange.includes(etag.startsWith('W/') ? etag.slice(2) : etag);
  return lastModified !== undefined && Date.parse(lastModified) <= Date.parse(ifRange);
}

/**
 * Creates the decision function an adapter calls per request. It finds the file (the path as itself
 * first, then as a filename-style hashed name), asks the core for its asset (exact bytes, or a
 * descriptor proven to be the hashed file), and answers: immutable only when the request's version
 * is the version those very bytes carry, `no-cache` with validators otherwise; 304, 206, 412, 416,
 * HEAD, precompressed siblings; 400/403/404/405 for bad, hidden, missing and unsupported requests.
 */
export function createServeDecider<Response>(
  hasher: StaticHasher, settings: NormalizedServeOptions<Response>,
): (request: ServeRequest) => ServeDecision | Promise<ServeDecision> {
  const { basePath, staleVersion, fallthrough, dotfiles, encodings } = settings;
  const { hashLength, param } = hasher.options;
  const release = hasher.options.version;

  const missing = (method: string | undefined): ServeDecision => (fallthrough ? NEXT : statusPage(method, 404));

  // What each asset's answers share, worked out on its first request: assets are remembered per
  // generation by the core, so this is computed once per file and generation.
  interface Prepared {
    /** Siblings usable under this decider's `encodings`, in its order of preference. */
    candidates: AssetRepresentation[];
    contentType: string;
    etags: Map<AssetRepresentation, string>;
    lastModified: Map<AssetRepresentation, string>;
    /** Whole 200 answers from memory, per representation and Cache-Control: the common request costs no allocation. */
    whole: Map<AssetRepresentation, Map<string, ServeResponse>>;
  }
  const prepared = new WeakMap<StaticAsset, Prepared>();

  function prepare(asset: StaticAsset): Prepared {
    let entry = prepared.get(asset);
    if (entry !== undefined) return entry;
    const candidates: AssetRepresentation[] = [];
    if (!asset.rewritten) {
      for (const encoding of encodings) {
        const sibling = asset.encodings.find((each) => each.encoding === encoding);
        if (sibling !== undefined) candidates.push(sibling);
      }
    }
    const etags = new Map<AssetRepresentation, string>();
    const lastModified = new Map<AssetRepresentation, string>();
    for (const representation of [asset.identity, ...candidates]) {
      // A rewritten stylesheet: its hash covers its text, so it is its (strong) validator. Other
      // files: the xxHash64 of the bytes sent, weak like send's, the same on every server and for
      // the same bytes again after A -> B -> A.
      etags.set(representation, asset.rewritten ? `"${asset.version ?? asset.identity.digest.slice(0, hashLength)}"` : `W/"${representation.digest}"`);
      lastModified.set(representation, representation.mtime.toUTCString());
    }
    const contentType = asset.rewritten
      ? 'text/css; charset=utf-8'
      : lookupType(asset.path.slice(asset.path.lastIndexOf('/') + 1)) || 'application/octet-stream';
    entry = { candidates, contentType, etags, lastModified, whole: new Map() };
    prepared.set(asset, entry);
    return entry;
  }

  /** Finds the asset a reference names, as itself first, then as a filename-style hashed name. */
  async function find(reference: string, query: string | undefined): Promise<Found | undefined> {
    const asset = await hasher.asset(reference);
    if (asset !== undefined) return { asset, version: query === undefined ? undefined : versionInQuery(query, param) };
    // A real file whose name merely looks hashed was found above, as itself.
    const unhashed = removeFilenameHash(reference, hashLength) ?? (release === undefined ? undefined : removeFilenameVersion(reference, release));
    if (unhashed === undefined) return undefined;
    const original = await hasher.asset(unhashed.reference);
    return original === undefined ? undefined : { asset: original, version: unhashed.hash };
  }

  /**
   * `find()` from what the core remembers, without a promise: Found, null when known to be missing,
   * undefined when only the asynchronous lookup can tell.
   */
  function findRemembered(reference: string, query: string | undefined): Found | null | undefined {
    const asset = rememberedAsset(hasher, reference);
    if (asset === undefined) return undefined;
    if (asset !== null) return { asset, version: query === undefined ? undefined : versionInQuery(query, param) };
    const unhashed = removeFilenameHash(reference, hashLength) ?? (release === undefined ? undefined : removeFilenameVersion(reference, release));
    if (unhashed === undefined) return null;
    const original = rememberedAsset(hasher, unhashed.reference);
    if (original === undefined) return undefined;
    return original === null ? null : { asset: original, version: unhashed.hash };
  }

  /** The answer for a found asset; undefined when its file changed since it was remembered (look again). */
  function respond(request: ServeRequest, found: Found): ServeDecision | undefined {
    if (dotfiles !== 'allow' && isHiddenPath(found.asset.path)) return dotfiles === 'deny' ? statusPage(request.method, 403) : missing(request.method);
    if (request.method !== 'GET' && request.method !== 'HEAD') return statusPage(request.method, 405, { Allow: 'GET, HEAD' });
    return answer(request, found);
  }

  function answer(request: ServeRequest, found: Found): ServeDecision | undefined {
    const { asset, version } = found;
    const { method, headers } = request;
    const current = version !== undefined && version === asset.version;
    if (!current && version !== undefined && staleVersion === 'redirect' && version !== hasher.hash(asset.path)) {
      return statusPage(method, 307, { Location: hasher.url(asset.path), 'Cache-Control': REVALIDATE_CACHE_CONTROL });
    }
    const response: Record<string, string> = { 'Cache-Control': current ? IMMUTABLE_CACHE_CONTROL : REVALIDATE_CACHE_CONTROL };

    const { candidates, contentType: type, etags, lastModified: modified } = prepare(asset);
    let representation: AssetRepresentation = asset.identity;
    let lastModified: string | undefined;
    response['Content-Type'] = type;
    if (asset.rewritten) {
      // No Last-Modified: the rewritten text also changes when a file it references changes, which
      // the stylesheet's own mtime does not show. No Range: stylesheets are small.
      response['Accept-Ranges'] = 'none';
    } else {
      if (candidates.length > 0) {
        // Every answer for a file that has siblings varies with Accept-Encoding, the uncompressed one too.
        response.Vary = 'Accept-Encoding';
        const accept = headers['accept-encoding'];
        const chosen = chooseEncoding(typeof accept === 'string' ? accept : undefined, candidates);
        // A sibling removed or replaced since it was verified: the file itself, this time.
        if (chosen !== undefined && chosen.present()) {
          representation = chosen;
          response['Content-Encoding'] = chosen.encoding!;
        }
      }
      response['Accept-Ranges'] = 'bytes';
      lastModified = modified.get(representation)!;
      response['Last-Modified'] = lastModified;
    }
    const etag = etags.get(representation)!;
    response.ETag = etag;
    // A plain GET of a file held in memory: the same answer every time, built once (writers never
    // change a decision).
    const plain = method === 'GET' && representation.body !== undefined && headers.range === undefined && headers['if-match'] === undefined
      && headers['if-unmodified-since'] === undefined && headers['if-none-match'] === undefined && headers['if-modified-since'] === undefined;
    const cacheControl = response['Cache-Control']!;
    if (plain) {
      const known = prepared.get(asset)!.whole.get(representation)?.get(cacheControl);
      if (known !== undefined) return known;
    }
    const hook = { file: asset.file, stat: representation.stat };

    if ((headers['if-match'] !== undefined || headers['if-unmodified-since'] !== undefined) && preconditionFailed(headers, etag, lastModified)) {
      return { ...statusPage(method, 412), hook };
    }
    if ((headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined) && fresh(headers, { etag, 'last-modified': lastModified })) {
      delete response['Content-Type'];
      return { action: 'respond', status: 304, headers: response, body: undefined, hook };
    }

    const { size } = representation;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = headers.range;
    if (!asset.rewritten && typeof range === 'string' && rangeStillFresh(headers, etag, lastModified)) {
      const ranges = parseRange(size, range, { combine: true });
      if (ranges === -1) return { ...statusPage(method, 416, { 'Content-Range': `bytes */${size}` }), hook };
      // A malformed header (-2) or several ranges: the whole file, as send answers them.
      if (ranges !== -2 && ranges.length === 1) {
        status = 206;
        start = ranges[0]!.start;
        end = ranges[0]!.end;
        response['Content-Range'] = `bytes ${start}-${end}/${size}`;
      }
    }
    response['Content-Length'] = String(end - start + 1);

    if (method === 'HEAD') return { action: 'respond', status, headers: response, body: undefined, hook };
    if (representation.body !== undefined) {
      const body = status === 206 ? representation.body.subarray(start, end + 1) : representation.body;
      const decision: ServeResponse = { action: 'respond', status, headers: response, body, hook };
      if (plain) {
        const { whole } = prepared.get(asset)!;
        let byCacheControl = whole.get(representation);
        if (byCacheControl === undefined) whole.set(representation, byCacheControl = new Map());
        byCacheControl.set(cacheControl, decision);
      }
      return decision;
    }
    if (size === 0) return { action: 'respond', status, headers: response, body: Buffer.alloc(0), hook };
    const opened = representation.open();
    // The file is no longer the one that was hashed: the caller looks it up afresh.
    if (opened === undefined) return undefined;
    return { action: 'respond', status, headers: response, body: { opened, start, end }, hook };
  }

  async function lookUp(request: ServeRequest, reference: string, query: string | undefined): Promise<ServeDecision> {
    // Twice at most: a large file replaced between its lookup and its open is looked up again once;
    // if it is replaced again meanwhile, it is missing for this request rather than served unchecked.
    for (let attempt = 0; attempt < 2; attempt++) {
      let found: Found | undefined;
      try {
        found = await find(reference, query);
      } catch (error) {
        const status = statusOf(error);
        if (status === 400) return statusPage(request.method, 400);
        if (status === 404) return missing(request.method);
        return { action: 'error', error };
      }
      if (found === undefined) return missing(request.method);
      const decision = respond(request, found);
      if (decision !== undefined) return decision;
    }
    return missing(request.method);
  }

  // Synchronous when the file is remembered (the common case: one stat, no promise); a promise
  // when the core has to look, read or hash.
  return function decide(request: ServeRequest): ServeDecision | Promise<ServeDecision> {
    const target = originForm(request.url);
    const queryAt = target.indexOf('?');
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    if (!rawPath.startsWith(basePath) || rawPath.length === basePath.length) return NEXT;
    const reference = decodeRequestPath(rawPath.slice(basePath.length));
    if (reference === MALFORMED) return statusPage(request.method, 400);
    if (reference === undefined) return missing(request.method);
    const query = queryAt === -1 ? undefined : target.slice(queryAt + 1);
    const remembered = findRemembered(reference, query);
    if (remembered === null) return missing(request.method);
    if (remembered !== undefined) {
      const decision = respond(request, remembered);
      if (decision !== undefined) return decision;
    }
    return lookUp(request, reference, query);
  };
}
