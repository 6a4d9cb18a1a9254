// Live reload for development, framework-agnostic: a Server-Sent Events hub fed by the hasher's
// change feed, the node:http writer every adapter ends in, and the client script's tag.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChangeEvent, StaticHasher } from '../../src/index.js';
import { encodePath, escapeHtml, invalidOption, isStylesheet, rejectUnknownKeys } from '../../src/internal.js';
import { LIVE_RELOAD_CLIENT } from './live-reload-client.js';

/** The `liveReload` option of the serving adapters: `true`, or settings. */
export interface LiveReloadSettings {
  /**
   * How often an idle stream gets a comment line, so proxies and load balancers (which often drop a
   * connection silent for 60 s) keep it open, and a dead client is noticed.
   * @default 15000
   */
  heartbeatMs?: number;
}

/** The `liveReload` option normalized: undefined when off. */
export interface NormalizedLiveReload {
  heartbeatMs: number;
}

export const LIVE_RELOAD_DEFAULTS = { heartbeatMs: 15_000 } as const;

/** Where the hub answers, under the base path. */
export const LIVE_RELOAD_EVENTS = '__static-hash/live-reload';
export const LIVE_RELOAD_SCRIPT = '__static-hash/live-reload.js';

/** Validates the `liveReload` option (`false`/undefined: off). */
export function normalizeLiveReload(adapter: string, value: unknown): NormalizedLiveReload | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { ...LIVE_RELOAD_DEFAULTS };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalidOption(adapter, 'liveReload', 'a boolean or { heartbeatMs?: number }', value);
  }
  rejectUnknownKeys(value, ['heartbeatMs'], 'liveReload option');
  const { heartbeatMs } = value as LiveReloadSettings;
  if (heartbeatMs !== undefined && (!Number.isInteger(heartbeatMs) || heartbeatMs < 10 || heartbeatMs > 3_600_000)) {
    invalidOption(adapter, 'liveReload.heartbeatMs', 'an integer from 10 to 3600000 (milliseconds)', heartbeatMs);
  }
  return { heartbeatMs: heartbeatMs ?? LIVE_RELOAD_DEFAULTS.heartbeatMs };
}

/** One open stream, as the hub sees it: whatever the framework, text written in order, then an end. */
export interface LiveReloadSink {
  write(text: string): void;
  end(): void;
}

/** One changed reference, as the client receives it. */
export interface LiveReloadReference {
  /** The reference ('css/site.css'). */
  reference: string;
  /** Its URL without a version, which the client compares the page's URLs with. */
  unversioned: string;
  /** Its current URL, exactly as `hasher.url(reference)` renders it; absent for a file now missing. */
  url?: string;
  /** Whether it is a stylesheet (swapped rather than reloaded). */
  stylesheet: boolean;
}

// The latest hub per hasher: what the template tags ask whether live reload is on.
const hubs = new WeakMap<StaticHasher, LiveReloadHub>();

/** The live-reload hub serving a hasher, if a serving adapter was given `liveReload` for it and it is open. */
export function liveReloadOf(hasher: StaticHasher): LiveReloadHub | undefined {
  const hub = hubs.get(hasher);
  return hub !== undefined && !hub.closed ? hub : undefined;
}

/**
 * The client's `<script>` tag for a hasher when live reload is on for it, '' when it is off (a
 * production page stays untouched). `nonce` is escaped into the tag for a Content-Security-Policy.
 */
export function liveReloadTag(hasher: StaticHasher, nonce?: unknown): string {
  return liveReloadOf(hasher)?.scriptTag(nonce) ?? '';
}

/**
 * The streams of one serving adapter's live reload. Each client costs a Set entry and its response;
 * one heartbeat timer serves them all, and runs only while one is open. Each change is serialised
 * once for every client.
 */
export class LiveReloadHub {
  /** The events' path ('/static/__static-hash/live-reload'). */
  readonly eventsPath: string;
  /** The client script's path ('/static/__static-hash/live-reload.js'). */
  readonly scriptPath: string;
  /** Differs on every server start: a client that sees another one reloads once. */
  readonly boot = randomUUID();
  readonly #hasher: StaticHasher;
  readonly #heartbeatMs: number;
  readonly #sinks = new Set<LiveReloadSink>();
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onChange = (event: ChangeEvent): void => this.#broadcast(event);
  readonly #onClose = (): void => this.close();

  constructor(hasher: StaticHasher, basePath: string, settings: NormalizedLiveReload) {
    this.#hasher = hasher;
    this.#heartbeatMs = settings.heartbeatMs;
    this.eventsPath = basePath + LIVE_RELOAD_EVENTS;
    this.scriptPath = basePath + LIVE_RELOAD_SCRIPT;
    hasher.on('change', this.#onChange);
    hasher.once('close', this.#onClose);
    hubs.set(hasher, this);
  }

  /** Open streams. */
  get clients(): number {
    return this.#sinks.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The `<script>` that loads the client, with the settings it needs in data- attributes. */
  scriptTag(nonce?: unknown): string {
    const { options } = this.#hasher;
    const attributes = [
      `src="${escapeHtml(this.scriptPath)}"`,
      `data-events="${escapeHtml(this.eventsPath)}"`,
      `data-style="${options.urlStyle}"`,
      `data-param="${escapeHtml(options.param)}"`,
      `data-hash-length="${options.hashLength}"`,
    ];
    if (nonce !== undefined && nonce !== null && nonce !== '') attributes.push(`nonce="${escapeHtml(String(nonce))}"`);
    return `<script ${attributes.join(' ')}></script>`;
  }

  /** Starts a stream: the retry delay and a `hello` (boot id, generation). Returns the function that ends it. */
  connect(sink: LiveReloadSink): () => void {
    if (this.#closed) {
      sink.end();
      return () => {};
    }
    this.#sinks.add(sink);
    sink.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ boot: this.boot, generation: this.#hasher.generation })}\n\n`);
    if (this.#heartbeat === undefined) {
      this.#heartbeat = setInterval(() => this.#send(': heartbeat\n\n'), this.#heartbeatMs);
      this.#heartbeat.unref();
    }
    return () => this.#drop(sink);
  }

  /** Ends every stream and stops listening to the hasher; later connections end at once. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#hasher.off('change', this.#onChange);
    this.#hasher.off('close', this.#onClose);
    if (hubs.get(this.#hasher) === this) hubs.delete(this.#hasher);
    for (const sink of [...this.#sinks]) {
      this.#drop(sink);
      try {
        sink.end();
      } catch {
        // Already gone.
      }
    }
  }

  #drop(sink: LiveReloadSink): void {
    this.#sinks.delete(sink);
    if (this.#sinks.size === 0 && this.#heartbeat !== undefined) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }

  #broadcast(event: ChangeEvent): void {
    if (this.#sinks.size === 0) return;
    const references = event.references?.map((reference) => this.#describe(reference));
    this.#send(`event: change\ndata: ${JSON.stringify({ generation: event.generation, cause: event.cause, references: references ?? null })}\n\n`);
  }

  #describe(reference: string): LiveReloadReference {
    const { options } = this.#hasher;
    const entry: LiveReloadReference = { reference, unversioned: options.baseUrl + encodePath(reference), stylesheet: isStylesheet(reference) };
    try {
      // resolve(), not url(): a file now missing is a fact to report, not a warning to log.
      const resolved = this.#hasher.resolve(reference);
      if (resolved !== undefined) entry.url = resolved.url;
    } catch {
      // A name no reference can express: the client reloads if the page used it.
      entry.stylesheet = false;
    }
    return entry;
  }

  #send(text: string): void {
    for (const sink of [...this.#sinks]) {
      try {
        sink.write(text);
      } catch {
        this.#drop(sink);
      }
    }
  }
}

const SCRIPT_HEADERS = {
  'Content-Type': 'text/javascript; charset=utf-8',
  'Content-Length': String(Buffer.byteLength(LIVE_RELOAD_CLIENT)),
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
};

/**
 * Answers a live-reload request on a node:http response, the one writer every adapter ends in
 * (Express directly; Fastify after `reply.hijack()`, Koa with `ctx.respond = false`). Returns false,
 * without touching the response, when `pathname` is neither of the hub's paths.
 */
export function handleLiveReload(hub: LiveReloadHub, pathname: string, req: IncomingMessage, res: ServerResponse): boolean {
  const isEvents = pathname === hub.eventsPath;
  if (!isEvents && pathname !== hub.scriptPath) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Method Not Allowed\n');
    return true;
  }
  if (!isEvents) {
    res.writeHead(200, SCRIPT_HEADERS);
    res.end(req.method === 'HEAD' ? undefined : LIVE_RELOAD_CLIENT);
    return true;
  }
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    // no-transform keeps compression middleware from buffering the stream.
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  if (req.method === 'HEAD' || hub.closed) {
    res.end();
    return true;
  }
  res.flushHeaders();
  req.socket.setNoDelay(true);
  // A stream is meant to stay open: no idle timeout of the server's applies to it.
  req.socket.setTimeout(0);
  const disconnect = hub.connect({
    write: (text) => {
      res.write(text);
    },
    end: () => res.end(),
  });
  res.on('close', disconnect);
  return true;
}

/** The path part of a request target ('/static/x?y' -> '/static/x'; an absolute-form target loses its origin). */
export function requestPathname(target: string): string {
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  const origin = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(path);
  return origin === null ? path : path.slice(origin[0].length) || '/';
}
