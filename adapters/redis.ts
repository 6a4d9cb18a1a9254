import { randomBytes } from 'node:crypto';
import { StaticHashError, type GenerationState, type GenerationStore, type Logger } from '../src/index.js';
import { describeValue, invalidOption, rejectUnknownKeys } from '../src/internal.js';

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

// How many key states (generation + writer) a process remembers having accounted for. Only the last
// few matter: a resync compares the key with them, and a message may arrive after the read it follows.
const KNOWN_STATES = 64;
// How many of them the sync script is given to compare the key with.
const KNOWN_STATES_SENT = 16;

/**
 * The one script every process runs against Redis, atomically. KEYS[1] holds the generation (an
 * integer string), KEYS[2] the id of the write that set it (`<process nonce>.<sequence>`).
 * ARGV: this process's generation L, increment (1 for an invalidation, 0 for a resync), the id for a
 * new write, the channel, this process's nonce, the highest key state it knew ('' if none), then
 * the key states it has accounted for.
 *
 * - The key is absent (a Redis restarted empty, a FLUSHALL): put back the highest state this process
 *   knew, writer included, so the processes that knew it too see nothing new; then as below.
 * - The key is a state this process knows: raise it to max(key + increment, L).
 * - The key is a state it never heard of (lowered or set by hand, restored from a snapshot, a write
 *   whose announcement was lost): a change may hide behind it, so treat it as one. Above L, adopt
 *   it (plus the increment); otherwise move past both, to max(key, L) + 1, so everyone moves.
 *
 * Any write is announced as "<bump|sync> <generation> <id>": `bump` for an invalidation, `sync` for
 * a raise or a move past. Returns [the state before ('' when absent), the generation after, the id
 * written ('' when nothing was), 1 when the state before was known].
 */
const SYNC_SCRIPT = `
local raw = redis.call('GET', KEYS[1])
local writer = redis.call('GET', KEYS[2]) or ''
local before = ''
if raw then before = raw .. ':' .. writer end
local restoring = false
if not raw and ARGV[6] ~= '' then
  raw, writer = string.match(ARGV[6], '^(%d+):(.*)$')
  restoring = raw ~= nil
end
local stored = 0
if raw then
  stored = tonumber(raw)
  if stored == nil or stored < 0 or stored ~= math.floor(stored) or stored > 9007199254740991 then
    return redis.error_reply('ERR static-hash: the key ' .. KEYS[1] .. ' holds "' .. string.sub(raw, 1, 40) .. '", not a generation')
  end
end
local current = tonumber(ARGV[1])
local increment = tonumber(ARGV[2])
local nonce = ARGV[5] .. '.'
local known = restoring or (not raw) or string.sub(writer, 1, #nonce) == nonce
if not known then
  for i = 7, #ARGV do
    if ARGV[i] == before then known = true break end
  end
end
local wanted
if known then
  wanted = math.max(stored + increment, current)
elseif stored > current then
  wanted = stored + increment
else
  wanted = math.max(stored, current) + 1
end
local id = ''
if wanted ~= stored then
  id = ARGV[3]
  local text = string.format('%d', wanted)
  redis.call('SET', KEYS[1], text)
  redis.call('SET', KEYS[2], id)
  local kind = 'sync'
  if increment == 1 then kind = 'bump' end
  redis.call('PUBLISH', ARGV[4], kind .. ' ' .. text .. ' ' .. id)
elseif restoring then
  redis.call('SET', KEYS[1], raw)
  if writer == '' then
    redis.call('DEL', KEYS[2])
  else
    redis.call('SET', KEYS[2], writer)
    redis.call('PUBLISH', ARGV[4], 'sync ' .. raw .. ' ' .. writer)
  end
end
local answer = 0
if known then answer = 1 end
return { before, string.format('%d', wanted), id, answer }
`;

// "bump 12 3f9a1c0b.4" / "sync 12 3f9a1c0b.5"; a bare integer is what versions before 0.2 announced.
const MESSAGE = /^(bump|sync) (\d{1,16}) (\S{1,64})$/;
const LEGACY_MESSAGE = /^\d{1,16}$/;

interface SyncReply {
  /** The key state the script found, `<generation>:<writer>`, or '' when the key was absent. */
  before: string;
  /** The generation in Redis after the script. */
  generation: number;
  /** The id the script wrote, or '' when it wrote nothing. */
  written: string;
  /** Whether the script found a state this process had accounted for (or no key). */
  known: boolean;
}

function isClient(value: unknown): value is RedisClientLike {
  if (typeof value !== 'object' || value === null) return false;
  const client = value as Record<string, unknown>;
  return ['connect', 'duplicate', 'sendCommand', 'subscribe', 'unsubscribe', 'quit', 'disconnect', 'on', 'off']
    .every((method) => typeof client[method] === 'function');
}

/** A reason for a log line: an error's message, a string, or plainly unknown (node-redis's 'reconnecting' carries none). */
function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message === '' ? `${reason.name} (no message)` : reason.message;
  if (typeof reason === 'string' && reason !== '') return reason;
  return 'reason unknown';
}

/**
 * A generation shared by every process pointed at the same Redis key. Each process mirrors the key
 * locally, so `current` and `bump()` never wait on the network; moves made elsewhere arrive over a
 * subscription. While either connection is down the store reports `fresh: false` (the hasher then
 * hashes afresh, never stale); once both are back and subscribed it re-reads the key and only then
 * reports `fresh: true` again.
 *
 * Every write to the key carries a writer id, and every process remembers the key states it has
 * accounted for. Whatever happens to the key (deleted, flushed, lowered, restored from a snapshot),
 * an invalidation announced by any process moves every other one, and a key state nobody announced
 * is treated as a change: see SYNC_SCRIPT and docs/multi-process.md. Create one with
 * {@link redisGenerationStore}.
 */
export class RedisGenerationStore implements GenerationStore {
  readonly #client: RedisClientLike;
  readonly #key: string;
  readonly #writerKey: string;
  readonly #channel: string;
  readonly #resyncIntervalMs: number;
  readonly #logger: Logger;
  readonly #listeners = new Set<(state: GenerationState) => void>();
  // Identifies this store's writes in Redis: `${nonce}.${sequence}`.
  readonly #nonce = randomBytes(6).toString('hex');
  #sequence = 0;
  // Key states (`<generation>:<writer>`) this process has accounted for, oldest first.
  readonly #known = new Set<string>();
  // The highest of them, and its generation.
  #head = '';
  #headGeneration = -1;
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

  readonly #onError = (error: unknown) => this.#lose(error);
  readonly #onReconnecting = () => this.#lose('the connection dropped and is reconnecting; reason unknown');
  readonly #onEnd = () => this.#lose('the connection was closed');
  readonly #onReady = () => this.#scheduleSync();
  readonly #onMessage = (message: string) => this.#onAnnouncement(message);

  /** Use {@link redisGenerationStore}, which validates the options. */
  constructor(options: Required<Omit<RedisGenerationStoreOptions, 'channel'>> & { channel: string }) {
    this.#client = options.client;
    this.#key = options.key;
    this.#writerKey = `${options.key}:writer`;
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
   * reconnect, when out of touch). Every hasher subscribed to this store hears of the move. A
   * concurrent bump elsewhere may move it further, reported through `subscribe()`.
   */
  bump(): number {
    this.#current += 1;
    if (!this.#closed) {
      if (this.#fresh) {
        this.#runSync(1).then((reply) => this.#apply(reply), (error) => {
          this.#pending = true;
          this.#lose(error);
        });
      } else {
        this.#pending = true;
        this.#scheduleSync();
      }
    }
    this.#notify();
    return this.#current;
  }

  /** Calls `listener` whenever the generation moves (through any `bump()` too) or `fresh` changes. */
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
   * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` when `client.connect()` was never called, or the client was closed.
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
        'static-hash/redis: option "client" must be a client whose connect() was called (it may still be connecting); got a closed client',
        { option: 'client' },
      );
    }
    const opened = new Promise<void>((resolve) => {
      this.#settleOpen = resolve;
    });
    for (const client of [this.#client, this.#createSubscriber()]) {
      client.on('error', this.#onError);
      client.on('reconnecting', this.#onReconnecting);
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
   * client open. Idempotent. A hasher never calls it on a store it was given: whoever created the
   * store closes it, once every hasher using it is done. A bump made while out of touch and not yet
   * applied to Redis is lost to the other processes.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#fresh = false;
    this.#finishOpening();
    clearInterval(this.#interval);
    clearTimeout(this.#retry);
    // Hashers still subscribed hash afresh from now on: the store no longer hears other processes.
    this.#notify();
    this.#listeners.clear();
    this.#client.off('error', this.#onError);
    this.#client.off('reconnecting', this.#onReconnecting);
    this.#client.off('end', this.#onEnd);
    this.#client.off('ready', this.#onReady);
    const subscriber = this.#subscriber;
    if (subscriber === undefined) return;
    subscriber.off('reconnecting', this.#onReconnecting);
    subscriber.off('end', this.#onEnd);
    subscriber.off('ready', this.#onReady);
    // The 'error' listener stays: an error event with no listener would crash the process.
    subscriber.off('error', this.#onError);
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

  /** Runs the sync script on the caller's client. */
  async #runSync(increment: 0 | 1): Promise<SyncReply> {
    this.#sequence += 1;
    const id = `${this.#nonce}.${this.#sequence}`;
    const known = [...this.#known].slice(-KNOWN_STATES_SENT);
    const reply = await this.#client.sendCommand([
      'EVAL', SYNC_SCRIPT, '2', this.#key, this.#writerKey,
      String(this.#current), String(increment), id, this.#channel, this.#nonce, this.#head, ...known,
    ]);
    if (!Array.isArray(reply) || reply.length !== 4) throw new Error(`unexpected reply from the sync script: ${describeValue(reply)}`);
    const generation = Number(String(reply[1]));
    if (!Number.isSafeInteger(generation)) throw new Error(`unexpected generation from the sync script: ${describeValue(String(reply[1]))}`);
    return { before: String(reply[0]), generation, written: String(reply[2]), known: Number(reply[3]) === 1 };
  }

  /** Takes in what a sync script found and did. */
  #apply(reply: SyncReply): void {
    if (this.#closed) return;
    const unheardOf = reply.before !== '' && !reply.known && !this.#known.has(reply.before);
    if (reply.before !== '') this.#remember(reply.before);
    if (reply.written !== '') this.#remember(`${reply.generation}:${reply.written}`);
    const moved = this.#advance(reply.generation);
    // A state nobody announced to us was in the key. The script moved the key past it; if this process
    // has not moved since (it had moved on by itself meanwhile), it moves now.
    if (unheardOf && !moved) this.#movePast();
  }

  /** An announcement on the channel: every process's writes, in the order Redis applied them. */
  #onAnnouncement(message: string): void {
    if (this.#closed) return;
    let kind: string;
    let generation: number;
    let id: string;
    const match = MESSAGE.exec(message);
    if (match !== null) {
      [, kind, , id] = match as unknown as [string, string, string, string];
      generation = Number(match[2]);
    } else if (LEGACY_MESSAGE.test(message)) {
      kind = 'bump';
      generation = Number(message);
      id = '';
    } else {
      return;
    }
    if (!Number.isSafeInteger(generation)) return;
    const state = `${generation}:${id}`;
    if (id.startsWith(`${this.#nonce}.`)) {
      // This process's own write: its reply moves the mirror, and must be the one to, since it also
      // tells whether the write replaced a state this process never heard of.
      this.#remember(state);
      return;
    }
    if (this.#known.has(state)) {
      this.#remember(state);
      this.#advance(generation);
      return;
    }
    this.#remember(state);
    // Another process wrote. A generation above ours: take it. An invalidation at or below ours (its
    // process read a lowered or flushed key, or bumped together with us): it still means a change,
    // so move past it and raise the key, so everyone ends on one generation again. A sync at or
    // below ours is another process catching up with something this one hears of by itself.
    if (!this.#advance(generation) && kind === 'bump') this.#movePast();
  }

  #remember(state: string): void {
    this.#known.delete(state);
    this.#known.add(state);
    if (this.#known.size > KNOWN_STATES) this.#known.delete(this.#known.values().next().value!);
    // The state to put back should the key vanish: the highest known, which is the key's latest
    // write however late its announcement arrived (every write but a hand-made one goes up).
    const generation = Number(state.slice(0, state.indexOf(':')));
    if (generation >= this.#headGeneration) {
      this.#head = state;
      this.#headGeneration = generation;
    }
  }

  /** Moves the local generation forward by one, now, and lets a resync raise the key to it. */
  #movePast(): void {
    this.#current += 1;
    this.#notify();
    this.#scheduleSync();
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
      const reply = await this.#runSync(increment);
      if (this.#closed) return;
      this.#apply(reply);
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
      this.#logger.warn(`static-hash/redis: out of touch with Redis (${describeReason(reason)}); every lookup hashes afresh until it is back`);
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

  /** Moves the mirror forward to a generation seen in Redis; never back. Whether it moved. */
  #advance(generation: number): boolean {
    if (this.#closed || !Number.isSafeInteger(generation) || generation <= this.#current) return false;
    this.#current = generation;
    this.#notify();
    return true;
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
