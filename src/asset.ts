import fs from 'node:fs';
import type { Stats } from 'node:fs';
import { promisify } from 'node:util';
import { isStylesheet } from './css-references.js';
import { nodeZlib } from './deferred.js';
import { createDigest, digestBytes } from './digest.js';
import { StaticHashError, describeValue } from './errors.js';
import { GenerationCache, type GenerationClock } from './generation.js';
import type { NormalizedOptions } from './options.js';
import { SAFE_OPEN_FLAGS, ioError, notAFile, openFile } from './read-file.js';
import { parseReference, resolveFile } from './resolve.js';

/** A precompressed sibling: `br` is `file.br`, `gzip` is `file.gz`. */
export type AssetEncoding = 'br' | 'gzip';

/** The encodings whose siblings an asset looks for, in the order they are checked. */
export const ASSET_ENCODINGS: readonly AssetEncoding[] = ['br', 'gzip'];

const SIBLING_EXTENSION: Record<AssetEncoding, string> = { br: '.br', gzip: '.gz' };

/**
 * One version of a file on disk, as fstat shows it. Two stats with the same values are taken to be
 * the same bytes: a rename gives another inode, a write another size or mtime (and ctime, which a
 * tool restoring the mtime cannot set back). The one thing it cannot see is a write of the same
 * size within the clock tick of the previous stat (docs/serving.md: in-place writes).
 */
interface Identity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

function identityOf(stat: fs.BigIntStats): Identity {
  return { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs };
}

/**
 * Whether an open descriptor still holds the bytes it was opened on. ctime is left out: unlinking
 * or renaming another file over this one changes its ctime, never its bytes.
 */
function sameContent(stat: fs.BigIntStats, identity: Identity): boolean {
  return stat.ino === identity.ino && stat.mtimeNs === identity.mtimeNs && stat.size === identity.size && stat.dev === identity.dev;
}

function sameIdentity(stat: fs.BigIntStats | undefined, identity: Identity): boolean {
  return stat !== undefined && stat.ino === identity.ino && stat.mtimeNs === identity.mtimeNs && stat.size === identity.size
    && stat.ctimeNs === identity.ctimeNs && stat.dev === identity.dev;
}

const BIGINT_STAT = { bigint: true, throwIfNoEntry: false } as const;
const STAT = { throwIfNoEntry: false } as const;

/**
 * The per-request check of a remembered file, on a plain stat (a third cheaper than a bigint one):
 * it only has to notice that the file changed, not prove bytes (what is served from memory is the
 * hashed bytes whatever the disk holds; a descriptor is checked on its own fstat, in nanoseconds).
 * Millisecond floats keep sub-microsecond precision, finer than the kernel's timestamp tick.
 */
function sameStat(stat: fs.Stats | undefined, known: fs.Stats): boolean {
  return stat !== undefined && stat.ino === known.ino && stat.mtimeMs === known.mtimeMs && stat.size === known.size
    && stat.ctimeMs === known.ctimeMs && stat.dev === known.dev;
}

/** An open descriptor on the very bytes an asset was hashed from: its identity matched at open. */
export interface OpenedFile {
  readonly fd: number;
  /** Whether the file still has the identity it was hashed with (fstat on this descriptor). */
  unchanged(): boolean;
  /** Closes the descriptor; idempotent. */
  close(): void;
}

/** The bytes of one representation of an asset: the file itself, or a verified precompressed sibling. */
export interface AssetRepresentation {
  /** `undefined` for the file itself. */
  readonly encoding: AssetEncoding | undefined;
  /** The real path of the bytes (the sibling's for an encoding). */
  readonly file: string;
  readonly size: number;
  /** Modification time of `file`. */
  readonly mtime: Date;
  /** `fs.Stats` of `file`, for hooks such as `setHeaders`. */
  readonly stat: Stats;
  /** xxHash64 (16 hex characters) of these bytes as sent (compressed for an encoding): a validator. */
  readonly digest: string;
  /** The exact bytes, when held in memory; otherwise {@link AssetRepresentation.open} them. */
  readonly body: Buffer | undefined;
  /** Opens `file` and checks it still is the one that was hashed; undefined (and the asset forgotten) when it changed. */
  open(): OpenedFile | undefined;
  /** Whether `file` still has the identity it was verified with (one stat). */
  present(): boolean;
}

/**
 * What a server needs to answer for one file: which bytes, and the version those exact bytes carry.
 * From {@link StaticHasher.asset}.
 */
export interface StaticAsset {
  /** Canonical path ('js/app.js'). */
  readonly path: string;
  /** Real path of the file, inside a root. */
  readonly file: string;
  /**
   * The version these bytes are proven to carry: the hasher's current hash of the path, computed
   * from exactly these bytes. Undefined when that cannot be shown (a manifest the file no longer
   * matches, a file changing while it was read): serve such an asset `no-cache`, never immutable.
   */
  readonly version: string | undefined;
  /** True for a stylesheet served as its rewritten text (`css` on): no Range, no Last-Modified. */
  readonly rewritten: boolean;
  /** The file itself. */
  readonly identity: AssetRepresentation;
  /** Precompressed siblings whose decompressed bytes are exactly the file's, in {@link ASSET_ENCODINGS} order. */
  readonly encodings: readonly AssetRepresentation[];
}

/** Where a version comes from: file contents, a manifest, or a release version string. */
export type VersionSource = 'content' | 'manifest' | 'release';

/** What the hasher lends the asset store. */
export interface AssetHost {
  readonly options: Readonly<NormalizedOptions>;
  /** The hasher's generation and bypass state: what the store remembers is dropped when it moves. */
  readonly clock: GenerationClock;
  /** The hasher's hash of a canonical path under `generation` (cached or computed); undefined when missing. */
  currentHash(canonical: string, reference: string, generation: number): string | undefined;
  /** The bytes a stylesheet's hash covers (its rewritten text) under `generation`. */
  stylesheetBytes(canonical: string, file: string, generation: number): Buffer | undefined;
  versionSource(canonical: string): VersionSource;
  /** The disk no longer holds what a cached hash was computed from: move past `generation`. */
  changed(generation: number): void;
  /** Where the manifest is, for the drift warning. */
  manifestFile: string | undefined;
}

// An entry for a path looked for and not found under the generation.
const MISSING = Symbol('missing');

interface Entry {
  asset: StaticAsset;
  /** The file's stat when it was read (for a stylesheet: before the rewriter read it). */
  stat: fs.Stats;
}

interface Loaded {
  identity: Identity;
  stat: fs.Stats;
  body: Buffer | undefined;
  digest: string;
  /** The file kept its identity while it was read: the bytes are one version of it. */
  stable: boolean;
}

const read = promisify(fs.read);

/** xxHash64 of a descriptor's bytes from its start, read asynchronously in 1 MiB chunks. */
async function digestDescriptor(fd: number): Promise<string> {
  const state = createDigest();
  const chunk = Buffer.allocUnsafe(1024 * 1024);
  let position = 0;
  for (;;) {
    const { bytesRead } = await read(fd, chunk, 0, chunk.length, position);
    if (bytesRead === 0) return state.digest();
    state.update(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/** xxHash64 of what a compressed descriptor decompresses to, streamed; undefined if it is not valid. */
function digestDecompressed(fd: number, encoding: AssetEncoding): Promise<string | undefined> {
  return new Promise((resolve) => {
    const state = createDigest();
    const input = fs.createReadStream('', { fd, start: 0, autoClose: false });
    const decoder = encoding === 'br' ? nodeZlib().createBrotliDecompress() : nodeZlib().createGunzip();
    decoder.on('data', (bytes: Buffer) => state.update(bytes));
    decoder.on('end', () => resolve(state.digest()));
    decoder.on('error', () => resolve(undefined));
    input.on('error', () => {
      decoder.destroy();
      resolve(undefined);
    });
    input.pipe(decoder);
  });
}

/**
 * The bytes a server may send for each file, and the version they carry, with the proof between
 * the two made once per file and generation (docs/serving.md, "The contract"):
 *
 * - Small files (`cache.maxFileBytes`, within `cache.maxBytes` in all) are read once into memory and
 *   hashed from those very bytes: what is served is what was hashed, whatever happens on disk.
 * - Larger files are hashed from a descriptor whose identity (device, inode, size, mtime and ctime
 *   in nanoseconds, from fstat on that descriptor before and after) is recorded; a server opens the
 *   file again, checks that identity with fstat on the new descriptor, and streams from it.
 * - A precompressed sibling is used only if it decompresses to exactly the file's bytes.
 * - The bytes' version is the hasher's current hash only when the two agree. When they do not, the
 *   file changed after the hasher hashed it: the generation moves, so no later lookup returns the
 *   older hash (invariant 2), and the file is looked at afresh. With a manifest it does not move (a
 *   manifest is fixed): the file is served without a version, with one warning.
 *
 * A request for a remembered file costs one stat of its real path (a replaced, removed or
 * symlink-swapped file shows another identity and is resolved, and checked, afresh). Everything is
 * dropped when the generation moves, and nothing is remembered while the hasher caches nothing.
 */
export class AssetStore {
  readonly #host: AssetHost;
  readonly #clock: GenerationClock;
  // The current generation's entries, dropped whole when it moves (and empty while bypassing).
  readonly #entries: GenerationCache<string, Entry | typeof MISSING>;
  // Bytes held in memory by #entries, counted for the generation #heldGeneration.
  #heldBytes = 0;
  #heldGeneration = -1;
  // The digest first served under a release version, per path: the bytes that version names here.
  #pinned = new Map<string, string>();
  #warned = new Set<string>();

  constructor(host: AssetHost) {
    this.#host = host;
    this.#clock = host.clock;
    this.#entries = new GenerationCache(host.clock, { onMove: 'drop', maxEntries: host.options.maxEntries });
  }

  /**
   * What is remembered for a reference, synchronously, without touching anything but one stat: the
   * asset, `null` for a reference known to be missing, or undefined when only {@link get} can tell.
   */
  peek(reference: string): StaticAsset | null | undefined {
    const entry = this.#entries.get(reference);
    if (entry === MISSING) return null;
    if (entry === undefined) return undefined;
    return sameStat(fs.statSync(entry.asset.file, STAT), entry.stat) ? entry.asset : undefined;
  }

  /**
   * The asset for a reference, or undefined when no root has it. Remembered by the reference as
   * written (a request path), so a remembered one costs one Map.get and one stat, no parsing.
   * May throw StaticHashError (400 unsafe, 404 not a file, I/O).
   */
  async get(reference: string): Promise<StaticAsset | undefined> {
    const generation = this.#clock.generation;
    const entry = this.#entries.get(reference);
    if (entry === MISSING) return undefined;
    if (entry !== undefined) {
      if (sameStat(fs.statSync(entry.asset.file, STAT), entry.stat)) return entry.asset;
      this.#forget(reference);
    }
    return this.#load(parseReference(reference).path, reference, generation);
  }

  /** Forgets what is known of a reference (its file or a sibling changed): the next request looks afresh. */
  #forget(reference: string): void {
    const entry = this.#entries.get(reference);
    if (entry === undefined) return;
    this.#entries.delete(reference);
    if (entry !== MISSING && this.#heldGeneration === this.#clock.generation) {
      for (const representation of [entry.asset.identity, ...entry.asset.encodings]) this.#heldBytes -= representation.body?.length ?? 0;
    }
  }

  /** The bytes held for the current generation (the count restarts when it moves). */
  #held(): number {
    if (this.#heldGeneration !== this.#clock.generation) {
      this.#heldGeneration = this.#clock.generation;
      this.#heldBytes = 0;
      this.#warned.clear();
    }
    return this.#heldBytes;
  }

  #remember(generation: number, reference: string, value: Entry | typeof MISSING): void {
    this.#forget(reference);
    // A full map starts afresh (GenerationCache), and so does the count of what it holds.
    if (this.#entries.size >= this.#host.options.maxEntries) this.#heldBytes = 0;
    if (!this.#entries.set(reference, value, generation)) return;
    this.#held();
    if (value !== MISSING) {
      for (const representation of [value.asset.identity, ...value.asset.encodings]) this.#heldBytes += representation.body?.length ?? 0;
    }
  }

  /** Whether `bytes` more may be kept in memory within `cache.maxBytes`. */
  #fits(bytes: number): boolean {
    return bytes <= this.#host.options.maxFileBytes && this.#held() + bytes <= this.#host.options.maxBytes;
  }

  async #load(canonical: string, reference: string, generation: number): Promise<StaticAsset | undefined> {
    const { options } = this.#host;
    const resolved = resolveFile(canonical, options.roots, reference);
    if (resolved === undefined) {
      this.#remember(generation, reference, MISSING);
      return undefined;
    }
    // A file the hasher does not serve (not in the manifest, without a live fallback) is missing
    // here too, as in resolve(): a build output's hashed copies (app.H.js) are then found as the
    // file they are a copy of, under that version.
    if (this.#host.currentHash(canonical, reference, generation) === undefined) {
      this.#remember(generation, reference, MISSING);
      return undefined;
    }
    const { file } = resolved;
    const rewritten = options.css && isStylesheet(canonical);
    let loaded = rewritten ? this.#loadStylesheet(canonical, file, reference, generation) : await this.#loadFile(file, reference);
    if (loaded === undefined) return undefined;

    let version = this.#prove(canonical, reference, generation, loaded, rewritten);
    if (version === RETRY) {
      // The hasher's hash came from other bytes than these: the file changed after it was hashed.
      // Move the generation (no lookup from now on may return the older hash) and look again, once.
      this.#host.changed(generation);
      generation = this.#clock.generation;
      loaded = rewritten ? this.#loadStylesheet(canonical, file, reference, generation) : await this.#loadFile(file, reference);
      if (loaded === undefined) return undefined;
      version = this.#prove(canonical, reference, generation, loaded, rewritten);
      if (version === RETRY) version = undefined;
    }

    // A rewritten stylesheet exists only in memory (the rewriter keeps it too): always kept.
    const keep = loaded.body !== undefined && (rewritten || this.#fits(loaded.body.length));
    const identity = this.#representation(reference, file, undefined, file, loaded, keep ? loaded.body : undefined, loaded.digest);
    const encodings = rewritten || !loaded.stable ? [] : await this.#siblings(file, reference, loaded);
    const asset: StaticAsset = { path: canonical, file, version, rewritten, identity, encodings };
    // A file caught changing is not remembered: the next request reads it again.
    if (loaded.stable) this.#remember(generation, reference, { asset, stat: loaded.stat });
    return asset;
  }

  /**
   * The version `loaded` carries, undefined if none can be shown, or RETRY when the hasher's current
   * hash is older than the file (content versions only).
   */
  #prove(canonical: string, reference: string, generation: number, loaded: Loaded, rewritten: boolean): string | undefined | typeof RETRY {
    if (!loaded.stable) return undefined;
    const { options } = this.#host;
    const source = this.#host.versionSource(canonical);
    const current = this.#host.currentHash(canonical, reference, generation);
    if (current === undefined) return undefined;
    if (source === 'release') {
      // A release version names whatever the release shipped: here, the bytes first served under it.
      const pinned = this.#pinned.get(canonical);
      if (pinned === undefined) {
        if (this.#pinned.size >= options.maxEntries) this.#pinned.clear();
        this.#pinned.set(canonical, loaded.digest);
        return current;
      }
      if (pinned === loaded.digest) return current;
      this.#warnOnce(canonical, `static-hash: ${describeValue(canonical)} changed while release version ${describeValue(current)} is served; `
        + 'it is served with no-cache until the release version changes');
      return undefined;
    }
    const hash = loaded.digest.slice(0, options.hashLength);
    if (hash === current) return current;
    // A stylesheet in an @import / url() cycle carries the cycle's hash, computed over all members,
    // which its rendered text contains (its references into the cycle): no other text can.
    if (rewritten && loaded.body !== undefined && loaded.body.includes(current, 0, 'latin1')) return current;
    if (source === 'manifest') {
      this.#warnOnce(canonical, `static-hash: ${describeValue(canonical)} no longer matches the manifest ${this.#host.manifestFile ?? ''} `
        + `(manifest hash ${current}, file now ${hash}); it is served with no-cache, never immutable: rebuild the manifest (static-hash manifest)`);
      return undefined;
    }
    return RETRY;
  }

  #warnOnce(canonical: string, message: string): void {
    if (this.#warned.has(canonical)) return;
    if (this.#warned.size >= this.#host.options.maxEntries) this.#warned.clear();
    this.#warned.add(canonical);
    this.#host.options.logger.warn(message);
  }

  #loadStylesheet(canonical: string, file: string, reference: string, generation: number): Loaded | undefined {
    // The rewriter opens the file itself: the identity is taken before and after it reads, and the
    // bytes count as one version only if both agree.
    const before = fs.statSync(file, BIGINT_STAT);
    if (before === undefined) return undefined;
    if (!before.isFile()) throw notAFile(reference, file);
    const stat = fs.statSync(file, STAT);
    if (stat === undefined) return undefined;
    const body = this.#host.stylesheetBytes(canonical, file, generation);
    if (body === undefined) return undefined;
    const identity = identityOf(before);
    return { identity, stat, body, digest: digestBytes(body), stable: sameIdentity(fs.statSync(file, BIGINT_STAT), identity) };
  }

  async #loadFile(file: string, reference: string): Promise<Loaded | undefined> {
    const fd = openFile(file, reference);
    if (fd === undefined) return undefined;
    try {
      const before = fs.fstatSync(fd, { bigint: true });
      if (!before.isFile()) throw notAFile(reference, file);
      const stat = fs.fstatSync(fd);
      const identity = identityOf(before);
      let body: Buffer | undefined;
      let digest: string;
      if (before.size <= BigInt(this.#host.options.maxFileBytes)) {
        body = fs.readFileSync(fd);
        digest = digestBytes(body);
      } else {
        digest = await digestDescriptor(fd);
      }
      const stable = sameContent(fs.fstatSync(fd, { bigint: true }), identity) && (body === undefined || BigInt(body.length) === before.size);
      return { identity, stat, body, digest, stable };
    } catch (error) {
      if (error instanceof StaticHashError) throw error;
      throw ioError(reference, file, error);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The precompressed siblings of a file that decompress to exactly its bytes. */
  async #siblings(file: string, reference: string, loaded: Loaded): Promise<AssetRepresentation[]> {
    const found: AssetRepresentation[] = [];
    for (const encoding of ASSET_ENCODINGS) {
      const sibling = file + SIBLING_EXTENSION[encoding];
      // lstat: a symlinked sibling could point outside the root, and is ignored (O_NOFOLLOW below
      // holds that if one is swapped in meanwhile).
      const link = fs.lstatSync(sibling, BIGINT_STAT);
      if (link === undefined || !link.isFile()) continue;
      let fd: number | undefined;
      try {
        fd = openFile(sibling, reference);
      } catch {
        continue;
      }
      if (fd === undefined) continue;
      try {
        const before = fs.fstatSync(fd, { bigint: true });
        if (!before.isFile()) continue;
        const stat = fs.fstatSync(fd);
        const identity = identityOf(before);
        let body: Buffer | undefined;
        let decoded: string | undefined;
        if (loaded.body !== undefined) {
          // A small file: its sibling is decompressed in memory, never past the file's own size.
          body = fs.readFileSync(fd);
          decoded = decompressedDigest(body, encoding, loaded.body.length);
        } else {
          decoded = await digestDecompressed(fd, encoding);
        }
        if (decoded !== loaded.digest || !sameContent(fs.fstatSync(fd, { bigint: true }), identity)) continue;
        const keep = body !== undefined && this.#fits(body.length);
        const digest = body === undefined ? `${loaded.digest}-${encoding}` : digestBytes(body);
        found.push(this.#representation(reference, file, encoding, sibling, { identity, stat, body, digest, stable: true }, keep ? body : undefined, digest));
      } catch {
        // An unreadable sibling is as good as none: the file itself is served.
      } finally {
        fs.closeSync(fd);
      }
    }
    return found;
  }

  #representation(
    reference: string, assetFile: string, encoding: AssetEncoding | undefined, file: string, loaded: Loaded, body: Buffer | undefined, digest: string,
  ): AssetRepresentation {
    const { identity, stat } = loaded;
    // Something changed on disk: drop the path's entry (if it still is this file's), so the next
    // request loads it afresh.
    const forget = (): void => {
      const entry = this.#entries.get(reference);
      if (entry !== undefined && entry !== MISSING && entry.asset.file === assetFile) this.#forget(reference);
    };
    return {
      encoding,
      file,
      size: loaded.body === undefined ? Number(identity.size) : loaded.body.length,
      mtime: stat.mtime,
      stat,
      digest,
      body,
      open: () => {
        let fd: number | undefined;
        try {
          fd = fs.openSync(file, SAFE_OPEN_FLAGS);
          if (!sameIdentity(fs.fstatSync(fd, { bigint: true }), identity)) {
            fs.closeSync(fd);
            fd = undefined;
          }
        } catch {
          if (fd !== undefined) fs.closeSync(fd);
          fd = undefined;
        }
        if (fd === undefined) {
          forget();
          return undefined;
        }
        const opened = fd;
        let closed = false;
        return {
          fd: opened,
          unchanged: () => {
            try {
              return sameContent(fs.fstatSync(opened, { bigint: true }), identity);
            } catch {
              return false;
            }
          },
          close: () => {
            if (closed) return;
            closed = true;
            fs.close(opened, () => {});
          },
        };
      },
      present: () => {
        if (sameIdentity(fs.lstatSync(file, BIGINT_STAT), identity)) return true;
        forget();
        return false;
      },
    };
  }
}

const RETRY = Symbol('retry');


/** xxHash64 of a compressed buffer's decompressed bytes, if they are at most `size` bytes long and valid. */
function decompressedDigest(body: Buffer, encoding: AssetEncoding, size: number): string | undefined {
  try {
    // maxOutputLength one past the expected size: a sibling decompressing to more (a bomb, or
    // another file) fails here instead of filling memory.
    const options = { maxOutputLength: Math.max(1, size + 1) };
    const decoded = encoding === 'br' ? nodeZlib().brotliDecompressSync(body, options) : nodeZlib().gunzipSync(body, options);
    return decoded.length === size ? digestBytes(decoded) : undefined;
  } catch {
    return undefined;
  }
}
