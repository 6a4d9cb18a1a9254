import type { Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StaticHasher } from '../src/index.js';
import { IMMUTABLE_CACHE_CONTROL, REVALIDATE_CACHE_CONTROL, createServeDecider, releaseBody, type ServeDecision } from './serve/decide.js';
import { applyHead, removeHead, sendBody, writeHead } from './serve/node-response.js';
import { checkHasher, normalizeServeOptions, type NormalizedServeOptions, type PrecompressedEncoding, type ServeOptions } from './serve/options.js';

export { IMMUTABLE_CACHE_CONTROL, REVALIDATE_CACHE_CONTROL };
import { originForm } from './serve/request-path.js';

export { removeFilenameHash, removeFilenameVersion } from './serve/request-path.js';
export type { PrecompressedEncoding };

/** Options of {@link serveStatic}. Every option is optional; see {@link ServeOptions} for each. */
export type ServeStaticOptions = ServeOptions<ServerResponse>;

/** {@link ServeStaticOptions} with every default filled in, as {@link normalizeServeStaticOptions} returns them. */
export type NormalizedServeStaticOptions = NormalizedServeOptions<ServerResponse>;

/** What the middleware calls when it does not answer: with an error for server faults (I/O errors). */
export type NextFunction = (error?: unknown) => void;

/** A Connect-style middleware; Express 4 and 5 accept it as is, and plain `node:http` can call it. */
export type StaticMiddleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;

// Express mounts a middleware by cutting its mount path from req.url into req.baseUrl.
type RoutedRequest = IncomingMessage & { baseUrl?: unknown };

const ADAPTER = 'static-hash/express';

/**
 * Validates {@link serveStatic}'s options and fills in every default. Throws `ERR_STATIC_INVALID_OPTION`
 * naming the first bad option, or the closest known name for a misspelt one.
 *
 * @example
 * normalizeServeStaticOptions(hasher, { staleVersion: 'redirect' }).basePath //=> '/static/'
 */
export function normalizeServeStaticOptions(hasher: StaticHasher, options: ServeStaticOptions = {}): NormalizedServeStaticOptions {
  return normalizeServeOptions(ADAPTER, hasher, options);
}

/**
 * Serves the files of a hasher's roots under its `baseUrl` path, with caching headers that follow
 * the version in the URL: `Cache-Control: public, max-age=31536000, immutable` only when the
 * version is the one the bytes sent were hashed to (they come from memory, or from a descriptor
 * checked to be the very file that was hashed); no version, a stale one, or bytes that cannot be
 * proven get the current content with `no-cache` (ETag / Last-Modified revalidation). HEAD, Range,
 * conditional requests and precompressed siblings work as in serve-static. Bad paths get 400,
 * missing files go to `next()`, other methods get 405: never a 500 for a request path, never a byte
 * from outside the roots. The decisions are made by the serving core in adapters/serve/, shared with
 * the other framework adapters; this function only translates Connect's request and response.
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
  checkHasher(ADAPTER, 'serveStatic()', hasher);
  const settings = normalizeServeStaticOptions(hasher, options);
  const { setHeaders } = settings;
  const decide = createServeDecider(hasher, settings);

  return function staticHashMiddleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    // Express strips its mount path from req.url into req.baseUrl (keeping an absolute-form target's
    // scheme and host in front); joined they give the path this layer sees, rewrites by earlier
    // middleware included. Plain node:http has req.url only.
    const mount = (req as RoutedRequest).baseUrl;
    const url = originForm(req.url ?? '/');
    const target = typeof mount === 'string' && mount !== '' ? mount + url : url;
    let decision: ServeDecision | Promise<ServeDecision>;
    try {
      decision = decide({ method: req.method, url: target, headers: req.headers });
    } catch (error) {
      // A stat that failed other than "missing" (EACCES, EIO): a server fault, as from the promise.
      next(error);
      return;
    }
    if (decision instanceof Promise) decision.then(handle, next);
    else handle(decision);

    function handle(decision: ServeDecision): void {
      if (decision.action === 'next') {
        next();
        return;
      }
      if (decision.action === 'error') {
        next(decision.error);
        return;
      }
      if (setHeaders === undefined || decision.hook === undefined) {
        writeHead(res, decision);
      } else {
        applyHead(res, decision);
        try {
          setHeaders(res, decision.hook.file, decision.hook.stat as Stats);
        } catch (error) {
          releaseBody(decision);
          removeHead(res, decision);
          next(error);
          return;
        }
      }
      sendBody(res, decision);
    }
  };
}
