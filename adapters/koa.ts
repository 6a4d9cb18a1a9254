// static-hash/koa: a Koa middleware over the serving core in adapters/serve/, in koa-static's shape
// (ctx.status, ctx.set, ctx.body; `await next()` for a miss). This file only translates: what to
// answer is decided by adapters/serve/decide.ts, as for static-hash/express and static-hash/fastify.
import type { Context, Next } from 'koa';
import type { StaticHasher } from '../src/index.js';
import { rejectUnknownKeys } from '../src/internal.js';
import { createServeDecider } from './serve/decide.js';
import { fileStream } from './serve/file-stream.js';
import { LiveReloadHub, handleLiveReload, requestPathname } from './serve/live-reload.js';
import { checkHasher, normalizeServeOptions, type PrecompressedEncoding, type ServeOptions } from './serve/options.js';
import { createViewLocals, type StaticViewLocals } from './view-locals.js';

export type { PrecompressedEncoding, StaticViewLocals };

/**
 * Options of {@link serveStatic}; each as in static-hash/express. No `setHeaders`: in Koa a
 * middleware placed before this one changes headers after `await next()`.
 */
export type KoaServeStaticOptions = Omit<ServeOptions<never>, 'setHeaders'>;

/** The middleware {@link serveStatic} returns. */
export interface KoaStaticMiddleware {
  (ctx: Context, next: Next): Promise<void>;
  /** The live-reload hub with `liveReload` on (its `close()` ends every stream), else undefined. */
  readonly liveReload?: LiveReloadHub;
}

const ADAPTER = 'static-hash/koa';
const KOA_OPTION_NAMES = ['basePath', 'staleVersion', 'fallthrough', 'dotfiles', 'encodings', 'liveReload'] as const;

/**
 * Serves the files of a hasher's roots under its `baseUrl` path (or `basePath`) with the caching
 * contract of static-hash/express: `immutable` only for the exact bytes of the current version,
 * `no-cache` otherwise, 304/206/416, HEAD, precompressed siblings, 400 for hostile paths; a missing
 * file (or, with `fallthrough: false`, nothing) goes to `await next()`; other methods on a file get
 * 405. Every request also gets `ctx.state.static`, `ctx.state.static_integrity` and
 * `ctx.state.static_importmap`, which @ladjs/koa-views passes to templates.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for a missing hasher or a bad option.
 * @example
 * import Koa from 'koa';
 * import { serveStatic } from 'static-hash/koa';
 *
 * const app = new Koa();
 * app.use(serveStatic(hasher)); // answers /static/…
 */
export function serveStatic(hasher: StaticHasher, options: KoaServeStaticOptions = {}): KoaStaticMiddleware {
  checkHasher(ADAPTER, 'serveStatic()', hasher);
  if (typeof options === 'object' && options !== null) rejectUnknownKeys(options, KOA_OPTION_NAMES, `${ADAPTER} serveStatic() option`);
  const settings = normalizeServeOptions(ADAPTER, hasher, options);
  const decide = createServeDecider(hasher, settings);
  const locals = createViewLocals(hasher);
  const hub = settings.liveReload === undefined ? undefined : new LiveReloadHub(hasher, settings.basePath, settings.liveReload);

  return Object.assign(async function staticHashKoa(ctx: Context, next: Next): Promise<void> {
    Object.assign(ctx.state, locals);
    // The stream and the client script are written on the node:http response itself, as Express's are.
    if (hub !== undefined && [hub.eventsPath, hub.scriptPath].includes(requestPathname(ctx.url))) {
      ctx.respond = false;
      handleLiveReload(hub, requestPathname(ctx.url), ctx.req, ctx.res);
      return;
    }
    const pending = decide({ method: ctx.method, url: ctx.url, headers: ctx.headers });
    const decision = pending instanceof Promise ? await pending : pending;
    if (decision.action === 'next') {
      await next();
      return;
    }
    // A server fault (EACCES, EIO): Koa's error handling answers and emits it.
    if (decision.action === 'error') throw decision.error;
    const { headers, body } = decision;
    // The body first: Koa's body setter fills in a type and a length, which the core's then replace.
    if (body !== undefined) ctx.body = Buffer.isBuffer(body) ? body : fileStream(body, () => ctx.res.destroy());
    ctx.status = decision.status;
    for (const name of Object.keys(headers)) {
      if (name === 'Vary') ctx.vary(headers.Vary!);
      else ctx.set(name, headers[name]!);
    }
  }, { liveReload: hub });
}
