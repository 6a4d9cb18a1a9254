import { StaticHashError, type GenerationState, type GenerationStore, type Logger } from '../src/index.js';
import { invalidOption, rejectUnknownKeys } from '../src/internal.js';

const SCOPE = 'static-hash/redis';

/**
 * What the store needs of a node-redis (v4 or v5) client: a single-node client from
 * `createClient()`, connected by the caller. Cluster clients are not supported (their
 * `sendCommand` takes a routing key first).
 */
export interface RedisClientLike {
  /** True from `connect()` until closed, including while reconnecting. */
  readonly isOpen: boolean;
  /** True while connected and ready for commands. */
  readonly isReady: boolean;
  /** Connects (used on the store's duplicate only). */
  connect(): Promise<unknown>;
  /** A new, unconnected client with the same options: the store's subscriber connection. */
  duplicate(): RedisClientLike;
  /** Runs a raw command (the sync script, as `EVAL`). */
  sendCommand(args: string[]): Promise<unknown>;
  /** Subscribes to a channel (on the duplicate). */
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  /** Unsubscribes from a channel (on the duplicate, at `close()`). */
  unsubscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  /** Sends QUIT and closes (node-redis v4; v5 keeps it, deprecated in favour of `close()`). */
  quit(): Promise<unknown>;
  /** Drops the connection without waiting (node-redis v4 and v5). */
  disconnect(): Promise<unknown>;
  /** node-redis emits 'error', 'ready', 'reconnecting' and 'end'. */
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** Removes a listener added with `on()`. */
  off(event: string, listener: (...args: any[]) => void): unknown;
}

/** Options of {@link redisGenerationStore}. */
export interface RedisGenerationStoreOptions {
  /**
   * A connected node-redis v4/v5 client (`await createClient({ url }).connect()`). The store runs
   * its commands on it and duplicates it once for its subscription; it never closes it. Give it a
   * `socket.reconnectStrategy` that keeps retrying (node-redis's default does): a client that gives up
   * leaves the store out of touch, hashing afresh, until the process restarts.
   */
  client: RedisClientLike;
  /**
   * The Redis key holding the shared generation (a plain integer string).
   * @default 'static-hash:generation'
   */
  key?: string;
  /**
   * The pub/sub channel on which generation moves are announced.
   * @default the value of `key`
   */
  channel?: string;
  /**
   * How often the store re-reads the key (and raises it back to the highest generation this process
   * has seen, should it have been lost), in ms: a safety net for announcements missed for reasons
   * the connection events do not show.
   * @default 10000
   */
  resyncIntervalMs?: number;
  /**
   * Where the store reports losing and regaining touch with Redis.
   * @default console
   */
  logger?: Logger;
}

/** Every default in one place. */
const DEFAULTS = {
  key: 'static-hash:generation',
  resyncIntervalMs: 10_000,
} as const;

const OPTION_NAMES = ['client', 'key', 'channel', 'resyncIntervalMs', 'logger'] as const;

// After a failed resync while both connections still claim to be ready (a script error, a replica
// refusing writes), try again this soon rather than wait for the next interval.
const RETRY_MS = 1_000;

/**
 * Raises the key to max(key + increment, highest local generation), announces the new value if it
 * moved, and returns it; in one atomic step, so two processes bumping together get two generations
 * and a Redis restarted empty is raised back to what the processes had seen before any bump lands.
 * KEYS[1] = key; ARGV = highest local generation, increment (0 or 1), channel.
 */
const SYNC_SCRIPT = `
local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local wanted = math.max(stored + tonumber(ARGV[2]), tonumber(ARGV[1]))
if wanted ~= stored then
  redis.call('SET', KEYS[1], string.format('%d', wanted))
  redis.call('PUBLISH', ARGV[3], string.format('%d', wanted))
end
return wanted
`;


function isClient(value: unknown): value is RedisClientLike {
  if (typeof value !== 'object' || value === null) return false;
  const client = value as Record<string, unknown>;
  return ['connect', 'duplicate', 'sendCommand', 'subscribe', 'unsubscribe', 'quit', 'disconnect', 'on', 'off']
    .every((method) => typeof client[method] === 'function');
}

/**
 * A generation shared by every process pointed at the same Redis key. Each process mirrors the key
 * locally, so `current` and `bump()` never wait on the network; moves made elsewhere arrive over a
 * subscription. While either connection is down the store reports `fresh: false` (the hasher then
 * hashes afresh, never stale); once both are back and subscribed it re-reads the key, raises it to
 * the highest generation this process has seen (plus one if it bumped meanwhile), and only then
 * reports `fresh: true` again. Create one with {@link redisGenerationStore}.
 */
export class RedisGenerationStore implements GenerationStore {
  readonly #client: RedisClientLike;
  readonly #key: string;
  readonly #channel: string;
  readonly #resyncIntervalMs: number;
  readonly #logger: Logger;
  readonly #listeners = new Set<(state: GenerationState) => void>();
  #subscriber: RedisClientLike | undefined;
  #subscribed = false;
  #current = 0;
  #fresh = false;
  // A bump made while out of touch, still to be applied to Redis as one more increment.
  #pending = false;
  // Moves on every sign of trouble: a resync only vouches for the mirror if none came while it ran.
  #epoch = 0;
  #syncing = false;
  #syncAgain = false;
  #interval: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #opening: Promise<void> | undefined;
  #closed = false;
  #lostReported = false;
  #gaveUpReported = false;
  // Settles open() at the first outcome of the first sync: in touch, or a sign that Redis is not there.
  #settleOpen: (() => void) | undefined;

  readonly #onDown = (reason: unknown) => this.#lose(reason);
  readonly #onEnd = () => this.#lose('connection closed');
  readonly #onReady = () => this.#scheduleSync();
  readonly #onMessage = (message: string) => this.#advance(Number(message));

  /** Use {@link redisGenerationStore}, which validates the options. */
  constructor(options: Required<Omit<RedisGenerationStoreOptions, 'channel'>> & { channel: string }) {
    this.#client = options.client;
    this.#key = options.key;
    this.#channel = options.channel;
    this.#resyncIntervalMs = options.resyncIntervalMs;
    this.#logger = options.logger;
  }

  /** The generation as last seen by this process; only ever moves forward. */
  get current(): number {
    return this.#current;
  }

  /** Whether both connections are up, subscribed, and the key was read since they came back. */
  get fresh(): boolean {
    return this.#fresh;
  }

  /**
   * Moves the local generation forward at once and returns it; Redis is told asynchronously (or on
   * reconnect, when out of touch). A concurrent bump elsewhere may move it further, reported through
   * `subscribe()`.
   */
  bump(): number {
    this.#current += 1;
    if (this.#closed) return this.#current;
    if (this.#fresh) {
      this.#runSync(1).then((stored) => this.#advance(stored), (error) => {
        this.#pending = true;
        this.#lose(error);
      });
    } else {
      this.#pending = true;
      this.#scheduleSync();
    }
    return this.#current;
  }

  /** Calls `listener` when the generation moves other than through this process's `bump()`, or `fresh` changes. */
  subscribe(listener: (state: GenerationState) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Connects the subscriber, subscribes, reads (and seeds) the key. Resolves once in touch, or as soon
   * as Redis proves unreachable: the store then starts out of touch (`fresh: false`) and catches up
   * by itself when Redis comes back. `createStaticHasher()` awaits it.
   *
   * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` when the client was never connected or was closed.
   */
  open(): Promise<void> {
    // Several hashers may share one store: they all wait for the same first sync.
    this.#opening ??= this.#open();
    return this.#opening;
  }

  async #open(): Promise<void> {
    if (this.#closed) return;
    if (!this.#client.isOpen) {
      throw new StaticHashError(
        'ERR_STATIC_INVALID_OPTION',
        'static-hash/redis: option "client" must be a connected client (await client.connect() first); got a closed client',
        { option: 'client' },
      );
    }
    const opened = new Promise<void>((resolve) => {
      this.#settleOpen = resolve;
    });
    for (const client of [this.#client, this.#createSubscriber()]) {
      client.on('error', this.#onDown);
      client.on('reconnecting', this.#onDown);
      client.on('end', this.#onEnd);
      client.on('ready', this.#onReady);
    }
    this.#subscriber!.connect().catch((error: unknown) => this.#lose(error));
    this.#interval = setInterval(() => this.#scheduleSync(), this.#resyncIntervalMs);
    this.#interval.unref();
    this.#scheduleSync();
    await opened;
  }

  /**
   * Unsubscribes, closes the duplicated subscriber connection and clears timers. Leaves the caller's
   * client open. Idempotent. A bump made while out of touch and not yet applied to Redis is lost to
   * the other processes.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#fresh = false;
    this.#finishOpening();
    clearInterval(this.#interval);
    clearTimeout(this.#retry);
    this.#listeners.clear();
    this.#client.off('error', this.#onDown);
    this.#client.off('reconnecting', this.#onDown);
    this.#client.off('end', this.#onEnd);
    this.#client.off('ready', this.#onReady);
    const subscriber = this.#subscriber;
    if (subscriber === undefined) return;
    subscriber.off('reconnecting', this.#onDown);
    subscriber.off('end', this.#onEnd);
    subscriber.off('ready', this.#onReady);
    // The 'error' listener stays: an error event with no listener would crash the process.
    subscriber.off('error', this.#onDown);
    subscriber.on('error', () => {});
    try {
      if (subscriber.isReady) {
        await subscriber.unsubscribe(this.#channel, this.#onMessage);
        await subscriber.quit();
      } else if (subscriber.isOpen) {
        await subscriber.disconnect();
      }
    } catch {
      // Redis went away mid-close: drop the connection rather than wait for it.
      if (subscriber.isOpen) await subscriber.disconnect().catch(() => {});
    }
  }

  #createSubscriber(): RedisClientLike {
    this.#subscriber = this.#client.duplicate();
    return this.#subscriber;
  }

  /** Runs the sync script on the caller's client and returns the stored generation. */
  async #runSync(increment: 0 | 1): Promise<number> {
    const reply = await this.#client.sendCommand([
      'EVAL', SYNC_SCRIPT, '1', this.#key, String(this.#current), String(increment), this.#channel,
    ]);
    const stored = Number(reply);
    if (!Number.isSafeInteger(stored)) throw new Error(`unexpected reply from the sync script: ${String(reply)}`);
    return stored;
  }

  #scheduleSync(): void {
    if (this.#closed) return;
    if (this.#syncing) {
      this.#syncAgain = true;
      return;
    }
    void this.#sync();
  }

  async #sync(): Promise<void> {
    const subscriber = this.#subscriber;
    if (subscriber === undefined || !this.#client.isReady || !subscriber.isReady) return;
    this.#syncing = true;
    const epoch = this.#epoch;
    const increment = this.#pending ? 1 : 0;
    this.#pending = false;
    try {
      // Subscribe before reading: a move announced between the read and the subscription would be lost.
      // node-redis resubscribes by itself on reconnect, before it reports 'ready'.
      if (!this.#subscribed) {
        await subscriber.subscribe(this.#channel, this.#onMessage);
        this.#subscribed = true;
      }
      const stored = await this.#runSync(increment);
      if (this.#closed) return;
      this.#advance(stored);
      if (this.#pending) {
        this.#syncAgain = true; // bumped while the script ran: apply that too before vouching
      } else if (epoch === this.#epoch && this.#client.isReady && subscriber.isReady && !this.#fresh) {
        this.#fresh = true;
        if (this.#lostReported) {
          this.#logger.info?.(`static-hash/redis: back in touch with Redis at generation ${this.#current}; caching resumes`);
          this.#lostReported = false;
        }
        this.#notify();
      }
      this.#finishOpening();
    } catch (error) {
      if (increment === 1) this.#pending = true;
      this.#lose(error);
    } finally {
      this.#syncing = false;
      if (this.#syncAgain && !this.#closed) {
        this.#syncAgain = false;
        this.#scheduleSync();
      }
    }
  }

  /** Some sign that the mirror may miss moves: stop vouching until a resync after recovery. */
  #lose(reason: unknown): void {
    if (this.#closed) return;
    this.#epoch++;
    if (!this.#lostReported) {
      const why = reason instanceof Error ? reason.message : String(reason);
      this.#logger.warn(`static-hash/redis: out of touch with Redis (${why}); every lookup hashes afresh until it is back`);
      this.#lostReported = true;
    }
    if (!this.#gaveUpReported && this.#opening !== undefined && (!this.#client.isOpen || this.#subscriber?.isOpen === false)) {
      // node-redis stops for good when socket.reconnectStrategy returns false or an Error (or the
      // caller closed the client): no 'ready' will ever come, so say so plainly, once.
      this.#logger.warn(
        'static-hash/redis: a Redis connection was closed or gave up reconnecting (see socket.reconnectStrategy); '
        + 'this process hashes afresh until the store is recreated',
      );
      this.#gaveUpReported = true;
    }
    if (this.#fresh) {
      this.#fresh = false;
      this.#notify();
    }
    this.#finishOpening();
    // Recovery normally comes with a 'ready' event; this covers trouble that never dropped the
    // connection (an 'error' on a live socket, a failed script), where no 'ready' follows.
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.#scheduleSync(), Math.min(RETRY_MS, this.#resyncIntervalMs));
    this.#retry.unref();
  }

  /** Moves the mirror forward to a generation seen in Redis; never back. */
  #advance(generation: number): void {
    if (this.#closed || !Number.isSafeInteger(generation) || generation <= this.#current) return;
    this.#current = generation;
    this.#notify();
  }

  #notify(): void {
    const state: GenerationState = { generation: this.#current, fresh: this.#fresh };
    for (const listener of this.#listeners) listener(state);
  }

  #finishOpening(): void {
    this.#settleOpen?.();
    this.#settleOpen = undefined;
  }
}

/**
 * Creates a generation store shared through Redis, for `createStaticHasher({ generation })`: an
 * `invalidate()` in any process changes URLs in all of them. `url()` stays synchronous: each process
 * mirrors the shared generation locally.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` naming the first bad option.
 * @example
 * import { createClient } from 'redis';
 * import { createStaticHasher } from 'static-hash';
 * import { redisGenerationStore } from 'static-hash/redis';
 *
 * const client = await createClient({ url: process.env.REDIS_URL }).on('error', console.error).connect();
 * const hasher = await createStaticHasher({ root: 'public', generation: redisGenerationStore({ client }) });
 * hasher.invalidate(); // every process now hashes afresh
 */
export function redisGenerationStore(options: RedisGenerationStoreOptions): RedisGenerationStore {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    invalidOption(SCOPE, 'options', 'an object such as { client }', options, 'options');
  }
  rejectUnknownKeys(options, OPTION_NAMES, 'redisGenerationStore() option');
  const { client, key = DEFAULTS.key, resyncIntervalMs = DEFAULTS.resyncIntervalMs, logger = console } = options;
  if (!isClient(client)) invalidOption(SCOPE, 'client', 'a node-redis v4/v5 client from createClient(), connected', client);
  if (typeof key !== 'string' || key === '') invalidOption(SCOPE, 'key', 'a non-empty string', key);
  const channel = options.channel ?? key;
  if (typeof channel !== 'string' || channel === '') invalidOption(SCOPE, 'channel', 'a non-empty string', channel);
  if (typeof resyncIntervalMs !== 'number' || !Number.isInteger(resyncIntervalMs) || resyncIntervalMs < 10 || resyncIntervalMs > 2 ** 31 - 1) {
    invalidOption(SCOPE, 'resyncIntervalMs', `an integer from 10 to ${2 ** 31 - 1}`, resyncIntervalMs);
  }
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') {
    invalidOption(SCOPE, 'logger', 'an object with a warn() method, such as console', logger);
  }
  return new RedisGenerationStore({ client, key, channel, resyncIntervalMs, logger });
}
