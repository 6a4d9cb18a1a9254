// static-hash/fastify: a Fastify plugin over the serving core in adapters/serve/. It declares real
// GET and HEAD routes and answers through `reply`, so Fastify's hooks (onSend, onResponse), its
// logger, error handlers and @fastify/compress see every asset response. This file only
// translates: what to answer is decided by adapters/serve/decide.ts, as for static-hash/express.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { StaticHasher } from '../src/index.js';
import { checkHasher as checkStaticHasher, invalidOption, rejectUnknownKeys } from '../src/internal.js';
import { createServeDecider, type ServeDecision } from './serve/decide.js';
import { fileStream } from './serve/file-stream.js';
import { LiveReloadHub, handleLiveReload, requestPathname } from './serve/live-reload.js';
import { checkHasher, normalizeServeOptions, type PrecompressedEncoding, type ServeOptions } from './serve/options.js';
import { createViewLocals, type StaticViewLocals } from './view-locals.js';

export type { PrecompressedEncoding, StaticViewLocals };

/** Options of the plugin, given to `fastify.register(staticHash, options)`. Only `hasher` is required. */
export interface StaticHashFastifyOptions extends Pick<ServeOptions<FastifyReply>, 'staleVersion' | 'dotfiles' | 'encodings' | 'liveReload'> {
  /** The hasher whose roots are served and whose `url()` the templates use. */
  hasher: StaticHasher;
  /**
   * The URL path the files are served under (routes `${prefix}*`, GET and HEAD). Handled by the
   * plugin itself, as @fastify/static does: Fastify ignores a register `prefix` for plugins wrapped
   * with fastify-plugin. A missing trailing slash is added.
   * @default the path of the hasher's `baseUrl` (`'/static/'`)
   */
  prefix?: string;
  /**
   * `true`: every reply's `reply.locals` (the object @fastify/view merges into every template's
   * data) gets `static`, `static_integrity` and `static_importmap`, for Nunjucks and Handlebars alike.
   * `false`: no hook is added.
   * @default true
   */
  views?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The hasher registered with static-hash/fastify. */
    staticHash: StaticHasher;
  }
}

const ADAPTER = 'static-hash/fastify';
const OPTION_NAMES = ['hasher', 'prefix', 'views', 'staleVersion', 'dotfiles', 'encodings', 'liveReload'] as const;

function mergeVary(current: unknown, field: string): string {
  if (current === undefined) return field;
  const text = Array.isArray(current) ? current.join(', ') : String(current);
  if (text.split(',').some((entry) => entry.trim() === '*' || entry.trim().toLowerCase() === field.toLowerCase())) return text;
  return `${text}, ${field}`;
}

/** Sends the core's answer through `reply` (so onSend hooks and compression apply). */
function send(reply: FastifyReply, decision: ServeDecision): FastifyReply {
  if (decision.action === 'next') {
    reply.callNotFound();
    return reply;
  }
  // A server fault (EACCES, EIO): Fastify's error handler answers it, and logs it.
  if (decision.action === 'error') throw decision.error;
  const { headers, body } = decision;
  reply.code(decision.status);
  for (const name of Object.keys(headers)) {
    reply.header(name, name === 'Vary' ? mergeVary(reply.getHeader('vary'), headers.Vary!) : headers[name]!);
  }
  if (body === undefined) return reply.send();
  if (Buffer.isBuffer(body)) return reply.send(body);
  return reply.send(fileStream(body, () => reply.raw.destroy()));
}

async function staticHashPlugin(fastify: FastifyInstance, options: StaticHashFastifyOptions): Promise<void> {
  if (typeof options !== 'object' || options === null) invalidOption(ADAPTER, 'options', 'an object with a hasher', options);
  rejectUnknownKeys(options, OPTION_NAMES, `${ADAPTER} option`);
  const { hasher, prefix, views, ...serveOptions } = options;
  checkStaticHasher(hasher, ADAPTER, 'option "hasher"');
  checkHasher(ADAPTER, 'fastify.register(staticHash, { hasher })', hasher);
  if (views !== undefined && typeof views !== 'boolean') invalidOption(ADAPTER, 'views', 'a boolean', views);
  // fallthrough: a missing file goes to Fastify's not-found handler (reply.callNotFound()), which
  // is this framework's "next". setHeaders: Fastify's onSend hooks are its way to change headers.
  const settings = normalizeServeOptions<FastifyReply>(ADAPTER, hasher, { ...serveOptions, ...(prefix === undefined ? {} : { basePath: prefix }), fallthrough: true });
  const decide = createServeDecider(hasher, settings);

  fastify.decorate('staticHash', hasher);
  if (settings.liveReload !== undefined) {
    const hub = new LiveReloadHub(hasher, settings.basePath, settings.liveReload);
    // Open streams would keep fastify.close() waiting: end them before Fastify closes its server
    // (preClose: onClose hooks run only after the server has closed, which the streams prevent).
    fastify.addHook('preClose', (done) => {
      hub.close();
      done();
    });
    // Routes of their own, ahead of the wildcard: the stream and the client script are written on
    // the node:http response after reply.hijack(), as Express's are (a stream never ends, so no hook
    // of Fastify's could run after it anyway).
    for (const url of [hub.eventsPath, hub.scriptPath]) {
      fastify.route({
        method: ['GET', 'HEAD'],
        url,
        handler(request: FastifyRequest, reply: FastifyReply) {
          reply.hijack();
          handleLiveReload(hub, requestPathname(request.url), request.raw, reply.raw);
        },
      });
    }
  }
  fastify.route({
    method: ['GET', 'HEAD'],
    url: `${settings.basePath}*`,
    handler(request: FastifyRequest, reply: FastifyReply) {
      const decision = decide({ method: request.method, url: request.url, headers: request.headers });
      if (decision instanceof Promise) return decision.then((answer) => send(reply, answer));
      return send(reply, decision);
    },
  });

  if (views !== false) {
    const locals = createViewLocals(hasher);
    // preHandler, not onRequest: @fastify/view sets reply.locals = {} in an onRequest hook of its
    // own, before or after this plugin's whichever was registered first.
    fastify.addHook('preHandler', (_request, reply, done) => {
      const current = (reply as { locals?: unknown }).locals;
      if (typeof current === 'object' && current !== null) Object.assign(current, locals);
      done();
    });
  }
}

/**
 * The Fastify plugin: serves the files of `hasher`'s roots under `prefix` with static-hash's caching
 * contract (`immutable` only for the exact bytes of the current version, `no-cache` otherwise,
 * 304/206/416, precompressed siblings, 400/404 for hostile or missing paths, never a 5xx for a bad
 * request), decorates the instance with `fastify.staticHash`, and gives @fastify/view templates
 * `static`, `static_integrity` and `static_importmap`.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` (at register time) for a missing hasher or a bad option.
 * @example
 * import Fastify from 'fastify';
 * import staticHash from 'static-hash/fastify';
 *
 * const app = Fastify();
 * await app.register(staticHash, { hasher });   // GET/HEAD /static/*
 */
const staticHash = fp(staticHashPlugin, { fastify: '5.x', name: 'static-hash' });

export default staticHash;
export { staticHash };
