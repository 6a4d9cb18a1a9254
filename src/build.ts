import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { BrotliOptions } from 'node:zlib';
import { BUILD_RECORD, COMPRESSION_MARGIN, hasZstd } from './deferred.js';
import { digestBytes, loadDigester } from './digest.js';
import { StaticHashError, describeValue } from './errors.js';
import { createStaticHasher } from './hasher.js';
import { MANIFEST_FORMAT, manifestOptionsOf, readManifest, serializeManifest, type StaticManifest } from './manifest.js';
import { manifestModuleRecord, type LexedModule } from './modules.js';
import type { StaticHasherOptions } from './options.js';
import { threadCount } from './pool.js';
import { parseReference } from './resolve.js';
import { insertHashInFilename } from './url.js';
import { listReferences, resolvesToListedFile } from './walk.js';
import { SAFE_OPEN_FLAGS, readRegularFile } from './read-file.js';
import { sweepTemporaryFiles, temporaryPathFor } from './temporary-file.js';

/** A precompressed sibling encoding: `.br` (brotli), `.gz` (gzip), `.zst` (zstd, only where Node's zlib has it). */
export type BuildCompression = 'br' | 'gz' | 'zstd';

/** Options of {@link buildStatic}: the hasher's options (those of the hasher that will serve the output), plus these. */
export interface BuildStaticOptions extends Omit<StaticHasherOptions, 'manifest' | 'version' | 'watch' | 'onMissing'> {
  /** The output directory (created if missing). It must not overlap a root. */
  out: string;
  /**
   * Where to write the manifest; `false` writes none.
   * @default '<out>/static-manifest.json'
   */
  manifest?: string | false;
  /**
   * Also record each file's sha384 subresource integrity value in the manifest.
   * @default false
   */
  integrity?: boolean;
  /**
   * Precompressed siblings to write for compressible types (`.br`, `.gz`, `.zst`); `false` for none.
   * A sibling is written only when it is at least {@link COMPRESSION_MARGIN} smaller than the file.
   * @default ['br', 'gz']
   */
  compress?: readonly BuildCompression[] | false;
  /**
   * How many earlier builds' files to keep besides the current one's (rolling deploys: pages
   * rendered before the deploy still name them). Older files this tool wrote are removed.
   * @default 2
   */
  keep?: number;
  /**
   * Files this tool wrote within this many milliseconds are kept whatever `keep` says.
   * @default 3_600_000 (one hour)
   */
  keepAge?: number;
  /** Called after each source file with the count done and the total, for progress display. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link buildStatic} did. Paths are relative to `out`, '/'-separated. */
export interface BuildStaticResult {
  /** The manifest of the build (written to `manifestFile` unless `manifest: false`). */
  manifest: StaticManifest;
  /** Absolute path of the manifest, or undefined with `manifest: false`. */
  manifestFile: string | undefined;
  /** Whether the manifest file was (re)written; false when it already had these bytes. */
  manifestWritten: boolean;
  /** Source files built. */
  files: number;
  /** Output files written (new or changed). */
  written: string[];
  /** Output files that already had the right bytes and were left untouched. */
  skipped: string[];
  /** Files of earlier builds removed (see `keep`). */
  removed: string[];
  /** Source files no reference can name (e.g. '?' in the name), left out. */
  unnamed: string[];
  /** Derived files (hashed names, siblings) not written because a source file has that name. */
  conflicts: string[];
}

/** Beside the record: what a running build has put in place since the record was last written. */
const BUILD_JOURNAL = '.static-hash-build.journal';
/** The record keeps at most this many builds (and at least `keep + 1`). */
const RECORD_BUILDS = 10;

const SIBLING_EXTENSION: Record<BuildCompression, string> = { br: '.br', gz: '.gz', zstd: '.zst' };

interface RecordedFile {
  /** xxHash64 (16 hex) of the bytes written. */
  digest: string;
  size: number;
  mtimeMs: number;
  ino: number;
  /** When this tool wrote it (ms since the epoch). */
  time: number;
  /** For a compressed sibling: the digest of the file it was compressed from. */
  from?: string;
}

interface BuildRecord {
  format: 1;
  generator: 'static-hash build';
  /** Oldest first: the output files each build produced. */
  builds: Array<{ time: number; files: string[] }>;
  /** Every file this tool wrote and still owns: it may replace or remove exactly these. */
  files: Record<string, RecordedFile>;
  /** Siblings not written because compression did not pay: sibling path -> digest of the plain file. */
  declined: Record<string, string>;
}

function invalid(option: string, expected: string, value: unknown): never {
  throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: option "${option}" must be ${expected}; got ${describeValue(value)}`, {
    option, value,
  });
}

function refuse(file: string, why: string): never {
  throw new StaticHashError('ERR_STATIC_IO', `static-hash: refusing to write ${file}: ${why}`, { file });
}


// The settings of every compressed sibling, synchronous or not: the same bytes either way.
function brotliOptions(bytes: Buffer): BrotliOptions {
  return { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } };
}
const GZIP_OPTIONS = { level: 9 };

function compressWith(encoding: BuildCompression, bytes: Buffer): Buffer {
  if (encoding === 'br') return zlib.brotliCompressSync(bytes, brotliOptions(bytes));
  if (encoding === 'gz') return zlib.gzipSync(bytes, GZIP_OPTIONS);
  return (zlib as unknown as { zstdCompressSync(input: Buffer): Buffer }).zstdCompressSync(bytes);
}

/**
 * compressWith() on libuv's thread pool (node:zlib's asynchronous functions), so that several files
 * compress at once on several cores while the build goes on reading, hashing and writing.
 */
function compressWithAsync(encoding: BuildCompression, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: Buffer) => (error ? reject(error) : resolve(result));
    if (encoding === 'br') {
      zlib.brotliCompress(bytes, brotliOptions(bytes), done);
    } else if (encoding === 'gz') {
      zlib.gzip(bytes, GZIP_OPTIONS, done);
    } else {
      (zlib as unknown as { zstdCompress(input: Buffer, callback: typeof done): void }).zstdCompress(bytes, done);
    }
  });
}

/** Whether a file's type is worth precompressing (text, JSON, SVG, ...), by mime-db's `compressible` flag. */
type IsCompressible = (file: string) => boolean;

/**
 * Loads mime-types and compressible (mime-db, a large JSON file) when a build starts, not when the
 * package is imported: a server or serverless function that only renders URLs never pays for them.
 */
async function loadIsCompressible(): Promise<IsCompressible> {
  const [{ contentType }, { default: compressible }] = await Promise.all([import('mime-types'), import('compressible')]);
  return (file) => {
    // By extension: given a path with a '/', contentType() would take it for a type.
    const extension = path.posix.extname(file);
    const type = extension === '' ? false : contentType(extension);
    return type !== false && compressible(type) === true;
  };
}

/** The real path `target` will have: the nearest existing ancestor's real path plus the rest. */
function realTarget(target: string): string {
  const missing: string[] = [];
  let current = path.resolve(target);
  for (;;) {
    try {
      return path.join(fs.realpathSync(current), ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return path.resolve(target);
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

function within(dir: string, candidate: string): boolean {
  const relative = path.relative(dir, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function readRecord(file: string): BuildRecord {
  const empty: BuildRecord = { format: 1, generator: 'static-hash build', builds: [], files: Object.create(null), declined: Object.create(null) };
  let text: string;
  try {
    const stat = fs.lstatSync(file);
    if (!stat.isFile()) refuse(file, 'it is not a regular file, so not a build record this tool wrote');
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw error;
  }
  let data: Partial<BuildRecord>;
  try {
    data = JSON.parse(text) as Partial<BuildRecord>;
  } catch {
    refuse(file, 'it is not a static-hash build record (not JSON)');
  }
  if (data === null || typeof data !== 'object' || data.generator !== 'static-hash build' || data.format !== 1
    || !Array.isArray(data.builds) || typeof data.files !== 'object' || data.files === null) {
    refuse(file, 'it is not a static-hash build record');
  }
  return {
    format: 1,
    generator: 'static-hash build',
    builds: data.builds,
    files: Object.assign(Object.create(null), data.files),
    declined: Object.assign(Object.create(null), data.declined ?? {}),
  };
}

/**
 * Folds the journal of a build that did not finish (killed after renaming files into place, before
 * writing the record) into the record: an entry counts only if the file there is still the one it
 * names. Returns whether there was a journal.
 */
function replayJournal(journalFile: string, outDir: string, record: BuildRecord): boolean {
  let text: string;
  try {
    if (!fs.lstatSync(journalFile).isFile()) refuse(journalFile, 'it is not a regular file, so not a journal this tool wrote');
    text = fs.readFileSync(journalFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  for (const line of text.split('\n')) {
    let entry: (RecordedFile & { name?: unknown }) | undefined;
    try {
      entry = JSON.parse(line) as RecordedFile & { name?: unknown };
    } catch {
      continue; // the last line of a killed build may be cut short
    }
    if (entry === null || typeof entry !== 'object' || typeof entry.name !== 'string' || entry.name.split('/').includes('..')) continue;
    const { name, ...recorded } = entry;
    const stat = lstatOrUndefined(path.join(outDir, name));
    if (stat !== undefined && sameFile(recorded, stat)) record.files[name] = recorded;
  }
  return true;
}

function sameFile(recorded: RecordedFile | undefined, stat: fs.Stats): recorded is RecordedFile {
  return recorded !== undefined && stat.isFile() && stat.size === recorded.size && stat.mtimeMs === recorded.mtimeMs && stat.ino === recorded.ino;
}

const NO_THROW = { throwIfNoEntry: false } as const;

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    // No exception for a path that does not exist yet (most paths of a first build): building one costs more than the lstat.
    return fs.lstatSync(file, NO_THROW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') refuse(file, 'a parent is not a directory');
    throw error;
  }
}

/** Writes `bytes` to a temporary file beside `file` and renames it into place: readers see the old bytes or the new. */
function writeAtomically(file: string, bytes: Buffer | string, flush = false, beforeRename?: (written: fs.Stats) => void): void {
  const temp = temporaryPathFor(file);
  try {
    const fd = fs.openSync(temp, 'wx', 0o644);
    let written: fs.Stats;
    try {
      fs.writeFileSync(fd, bytes);
      if (flush) fs.fsyncSync(fd);
      written = fs.fstatSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // A rename keeps the inode, size and mtime: what the caller notes now identifies the file in place.
    beforeRename?.(written);
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw new StaticHashError('ERR_STATIC_IO', `static-hash: cannot write ${file}: ${(error as Error).message}`, { file, cause: error });
  }
}

/**
 * The bytes of a file the walk listed as regular, or undefined when it is no longer one (swapped for
 * a symlink, a FIFO, removed): the caller then asks the hasher, which says what became of it.
 */
function readListedFile(file: string, reference: string): Buffer | undefined {
  try {
    return readRegularFile(file, reference);
  } catch {
    return undefined;
  }
}

/** The bytes of an existing regular file, not following a symlink. */
function readExisting(file: string): Buffer {
  const fd = fs.openSync(file, SAFE_OPEN_FLAGS);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes, for every file under the roots, the exact bytes its hash covers (stylesheets with their
 * references rewritten, other files copied) into `out`, so any static server or CDN serves what
 * the URLs name: under the plain name always, and under the hashed name (`app.3f9a1c0b7d2e.js`)
 * too with `urlStyle: 'filename'`; precompressed `.br`/`.gz` siblings for compressible types; and
 * the manifest. Every file goes to a temporary name and is renamed into place; a file that already
 * has the right bytes is not touched, so a rerun on an unchanged tree writes nothing.
 *
 * It writes only new paths and files it wrote itself (a record in `out`, {@link BUILD_RECORD},
 * says which), and removes only those: files of builds older than `keep`, not written in the last
 * `keepAge`, and not named by the current build.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for a bad option; `ERR_STATIC_IO` for an
 *   unreadable source, an unwritable output, or an output path held by a file this tool did not write.
 * @example
 * const result = await buildStatic({ root: 'public', out: 'dist/static', urlStyle: 'filename' });
 * result.written; //=> ['css/site.css', 'css/site.3f9a1c0b7d2e.css', 'css/site.css.br', ...]
 */
export async function buildStatic(options: BuildStaticOptions): Promise<BuildStaticResult> {
  if (typeof options !== 'object' || options === null) invalid('options', 'an object with at least "out"', options);
  const {
    out, manifest: manifestOption, integrity = false, compress = ['br', 'gz'], keep = 2, keepAge = 3_600_000, onProgress, ...hasherOptions
  } = options;
  if (typeof out !== 'string' || out === '') invalid('out', 'a directory path', out);
  for (const key of ['version', 'watch', 'onMissing'] as const) {
    if (key in hasherOptions) invalid(key, 'left out: a build hashes every file once, as it is now', (hasherOptions as Record<string, unknown>)[key]);
  }
  if (manifestOption !== undefined && manifestOption !== false && (typeof manifestOption !== 'string' || manifestOption === '')) {
    invalid('manifest', 'a file path or false', manifestOption);
  }
  if (typeof integrity !== 'boolean') invalid('integrity', 'a boolean', integrity);
  if (compress !== false && (!Array.isArray(compress) || compress.some((encoding) => !(encoding in SIBLING_EXTENSION)))) {
    invalid('compress', 'false or an array of "br", "gz", "zstd"', compress);
  }
  const encodings: BuildCompression[] = compress === false ? [] : [...new Set(compress)];
  if (encodings.includes('zstd') && !hasZstd()) {
    invalid('compress', `compressions this Node has ("br", "gz"; zstd needs a Node whose zlib has it, this is ${process.version})`, compress);
  }
  if (!Number.isInteger(keep) || keep < 0) invalid('keep', 'an integer of 0 or more', keep);
  if (typeof keepAge !== 'number' || !(keepAge >= 0)) invalid('keepAge', 'a number of milliseconds, 0 or more', keepAge);
  if (onProgress !== undefined && typeof onProgress !== 'function') invalid('onProgress', 'a function', onProgress);

  // Missing files are expected here (removed while building): they are left out, silently.
  const [hasher, isCompressible] = await Promise.all([
    createStaticHasher({ ...(hasherOptions as StaticHasherOptions), onMissing: 'ignore' }),
    loadIsCompressible(),
  ]);
  let journalFd: number | undefined;
  // Compressions still running: waited for before the journal closes, whatever ends the build.
  const compressing = { limit: 1, tasks: new Set<Promise<void>>() };
  try {
    const { roots, hashLength, urlStyle } = hasher.options;
    const stylesheetsRewritten = hasher.options.css;
    const outDir = realTarget(out);
    for (const root of roots) {
      if (within(root.realDir, outDir) || within(outDir, root.realDir)) {
        invalid('out', `a directory apart from the roots (${root.realDir} and ${outDir} overlap: the build would read what it writes)`, out);
      }
    }
    const manifestFile = manifestOption === false ? undefined : path.resolve(manifestOption ?? path.join(outDir, 'static-manifest.json'));
    if (manifestFile !== undefined && roots.some((root) => within(root.realDir, realTarget(manifestFile)))) {
      invalid('manifest', 'a path outside the roots (a manifest written into a root would be hashed as a static file by the next build)', manifestOption);
    }
    fs.mkdirSync(outDir, { recursive: true });
    const recordFile = path.join(outDir, BUILD_RECORD);
    const record = readRecord(recordFile);
    const journalFile = path.join(outDir, BUILD_JOURNAL);
    const journaled = replayJournal(journalFile, outDir, record);
    const manifestKey = manifestFile !== undefined && within(outDir, realTarget(manifestFile))
      ? path.relative(outDir, realTarget(manifestFile)).split(path.sep).join('/') : undefined;

    const listed = listReferences(roots);
    const unnamed = listed.skipped;
    const sources = new Set(listed.references);
    for (const reserved of [BUILD_RECORD, BUILD_JOURNAL, manifestKey]) {
      if (reserved !== undefined && sources.has(reserved)) {
        invalid(reserved === manifestKey ? 'manifest' : 'out', `a path no source file has; "${reserved}" is one`, reserved);
      }
    }

    const now = Date.now();
    const written: string[] = [];
    const skipped: string[] = [];
    const conflicts: string[] = [];
    const current = new Set<string>();
    const checkedDirs = new Set<string>(['']);

    // Parent directories are created by this tool or must be real directories: never write through a symlink.
    const ensureParent = (relative: string): void => {
      const parts = relative.split('/').slice(0, -1);
      let prefix = '';
      for (const part of parts) {
        prefix = prefix === '' ? part : `${prefix}/${part}`;
        if (checkedDirs.has(prefix)) continue;
        const dir = path.join(outDir, prefix);
        const stat = lstatOrUndefined(dir);
        if (stat === undefined) fs.mkdirSync(dir);
        else if (!stat.isDirectory()) refuse(path.join(outDir, relative), `${dir} is ${stat.isSymbolicLink() ? 'a symlink' : 'not a directory'}`);
        checkedDirs.add(prefix);
      }
    };

    /** Places one output file; `digest` names its bytes, `from` the plain file a sibling was compressed from. */
    const place = (relative: string, bytes: Buffer, digest: string, from?: string): void => {
      current.add(relative);
      ensureParent(relative);
      const file = path.join(outDir, relative);
      const stat = lstatOrUndefined(file);
      const recorded = record.files[relative];
      if (stat !== undefined) {
        if (!stat.isFile()) refuse(file, `it is ${stat.isSymbolicLink() ? 'a symlink' : 'not a regular file'}, and this tool did not write it`);
        if (sameFile(recorded, stat)) {
          if (recorded.digest === digest) {
            skipped.push(relative);
            return;
          }
        } else {
          // Not ours, or changed since we wrote it: equal bytes may stay; anything else is not ours to replace.
          if (recorded !== undefined) delete record.files[relative];
          if (stat.size === bytes.length && readExisting(file).equals(bytes)) {
            skipped.push(relative);
            return;
          }
          refuse(file, 'a file this tool did not write (or one changed since) is there; remove it, or build into another directory');
        }
      }
      writeAtomically(file, bytes, false, (stat) => {
        const entry: RecordedFile = { digest, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino, time: now, ...(from === undefined ? {} : { from }) };
        record.files[relative] = entry;
        // Journaled before the rename: a build killed after it still owns the file it put in place.
        journalFd ??= fs.openSync(journalFile, 'a', 0o644);
        fs.writeSync(journalFd, `${JSON.stringify({ name: relative, ...entry })}\n`);
      });
      written.push(relative);
    };

    const files: Record<string, string> = Object.create(null);
    const integrities: Record<string, string> = Object.create(null);
    const modules: Record<string, LexedModule> = Object.create(null);
    // Compression (the build's CPU work: brotli at quality 11 takes seconds per MiB) runs `threads`
    // files at once on libuv's thread pool; with `threads: 1`, synchronously, in order, as before.
    compressing.limit = encodings.length === 0 ? 1 : threadCount(hasher.options.threads);
    let done = 0;
    let previous: string | undefined;
    const total = listed.files.length;
    for (const entry of listed.files) {
      const { reference } = entry;
      done++;
      // Sorted by reference: one reference under several roots is built once, from the file the hasher resolves.
      if (reference === previous) {
        onProgress?.(done, total);
        continue;
      }
      previous = reference;
      let bytes: Buffer | undefined;
      let hash: string | undefined;
      let readDigest: string | undefined;
      try {
        parseReference(reference);
        if (stylesheetsRewritten && /\.css$/i.test(reference)) {
          // The hash first: it computes and caches the rewritten text that read() then returns, so
          // bytes and hash come from one reading of the stylesheets involved.
          hash = hasher.hash(reference);
          bytes = hash === undefined ? undefined : await hasher.read(reference);
        } else {
          // One read: the hash is the xxHash64 of the very bytes written (what the hasher computes).
          // A regular file the walk reached through real directories, under the root the resolver
          // tries first, is read where the walk found it (as buildManifest() does): no realpath per file.
          bytes = (resolvesToListedFile(entry, roots) ? readListedFile(entry.file, reference) : undefined) ?? await hasher.read(reference);
          readDigest = bytes === undefined ? undefined : digestBytes(bytes);
          hash = readDigest?.slice(0, hashLength);
        }
      } catch (error) {
        if (error instanceof StaticHashError && (error.code === 'ERR_STATIC_UNSAFE_PATH' || error.code === 'ERR_STATIC_NOT_A_FILE')) {
          unnamed.push(entry.file);
          onProgress?.(done, total);
          continue;
        }
        throw error;
      }
      if (bytes === undefined || hash === undefined) {
        onProgress?.(done, total);
        continue;
      }
      files[reference] = hash;
      if (integrity) integrities[reference] = `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
      // What a JavaScript module imports, from the very bytes written: importMap() over the output reads no file.
      const moduleRecord = manifestModuleRecord(reference, bytes);
      if (moduleRecord !== undefined) modules[reference] = moduleRecord;

      const digest = readDigest ?? digestBytes(bytes);
      const names = [reference];
      if (urlStyle === 'filename') {
        const hashed = insertHashInFilename(reference, hash);
        if (sources.has(hashed)) conflicts.push(hashed);
        else names.push(hashed);
      }
      for (const name of names) place(name, bytes, digest);
      if (encodings.length > 0 && isCompressible(reference)) {
        for (const encoding of encodings) {
          const siblingNames = names.map((name) => name + SIBLING_EXTENSION[encoding]).filter((name) => {
            if (!sources.has(name)) return true;
            conflicts.push(name);
            return false;
          });
          if (siblingNames.length === 0) continue;
          // Compress only when some sibling is not already what this tool wrote from these bytes.
          const upToDate = siblingNames.every((name) => {
            if (record.declined[name] === digest) return true;
            const recorded = record.files[name];
            const stat = recorded === undefined ? undefined : lstatOrUndefined(path.join(outDir, name));
            return stat !== undefined && sameFile(recorded, stat) && recorded!.from === digest;
          });
          if (upToDate) {
            for (const name of siblingNames) {
              if (record.declined[name] === digest) continue;
              current.add(name);
              skipped.push(name);
            }
            continue;
          }
          const placeSiblings = (compressed: Buffer): void => {
            const pays = compressed.length <= bytes.length * (1 - COMPRESSION_MARGIN);
            for (const name of siblingNames) {
              if (pays) {
                delete record.declined[name];
                place(name, compressed, digestBytes(compressed), digest);
              } else {
                record.declined[name] = digest;
              }
            }
          };
          if (compressing.limit <= 1) {
            placeSiblings(compressWith(encoding, bytes));
          } else {
            // Up to `threads` compressions at once; their siblings are placed as each one ends.
            const task: Promise<void> = compressWithAsync(encoding, bytes).then(placeSiblings).finally(() => compressing.tasks.delete(task));
            task.catch(() => {}); // its failure is thrown by the race or the wait below, not left unhandled
            compressing.tasks.add(task);
            if (compressing.tasks.size >= compressing.limit) await Promise.race(compressing.tasks);
          }
        }
      }
      onProgress?.(done, total);
      // Let signals and progress output through now and then on a large tree.
      if (done % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(compressing.tasks);

    const manifest: StaticManifest = {
      format: MANIFEST_FORMAT,
      generator: 'static-hash',
      options: manifestOptionsOf(hasher.options),
      files,
      ...(integrity ? { integrity: integrities } : {}),
      modules,
    };
    let manifestWritten = false;
    if (manifestFile !== undefined) manifestWritten = await writeOwnManifest(manifestFile, serializeManifest(manifest));

    // Keep: the current build's files, those of the previous `keep` builds, and anything written lately.
    const removed: string[] = [];
    const protectedFiles = new Set<string>(current);
    for (const build of keep === 0 ? [] : record.builds.slice(-keep)) for (const name of build.files) protectedFiles.add(name);
    for (const [name, recorded] of Object.entries(record.files)) {
      if (protectedFiles.has(name) || now - recorded.time < keepAge) continue;
      const file = path.join(outDir, name);
      const stat = lstatOrUndefined(file);
      // Changed or replaced by someone else since: no longer ours, so left where it is.
      if (stat !== undefined && sameFile(recorded, stat)) {
        fs.unlinkSync(file);
        removed.push(name);
      }
      delete record.files[name];
    }
    for (const name of Object.keys(record.declined)) if (!current.has(name.replace(/\.(br|gz|zst)$/, '')) && !protectedFiles.has(name)) delete record.declined[name];

    // Temporary files of a build killed mid-write (SIGKILL, power loss): by their name, which only
    // this tool gives, and a process id no longer running, as writeManifest() sweeps its own.
    for (const dir of checkedDirs) sweepTemporaryFiles(path.join(outDir, dir));

    const currentFiles = [...current].sort();
    const last = record.builds[record.builds.length - 1];
    const changed = written.length > 0 || removed.length > 0 || last === undefined || last.files.join('\0') !== currentFiles.join('\0');
    if (changed) {
      record.builds.push({ time: now, files: currentFiles });
      record.builds = record.builds.slice(-Math.max(RECORD_BUILDS, keep + 1));
    }
    if (journalFd !== undefined) fs.closeSync(journalFd);
    journalFd = undefined;
    if (changed || journaled) {
      writeAtomically(recordFile, `${JSON.stringify(record)}\n`, true);
      fs.rmSync(journalFile, { force: true });
    }
    return { manifest, manifestFile, manifestWritten, files: Object.keys(files).length, written, skipped, removed, unnamed, conflicts };
  } finally {
    await Promise.allSettled(compressing.tasks);
    if (journalFd !== undefined) fs.closeSync(journalFd);
    await hasher.close();
  }
}

/**
 * Writes the manifest unless it already has these bytes. It replaces only a manifest (a file that
 * reads as one, which this tool or `static-hash manifest` wrote), never another file.
 */
async function writeOwnManifest(file: string, text: string): Promise<boolean> {
  const stat = lstatOrUndefined(file);
  if (stat !== undefined) {
    if (!stat.isFile()) refuse(file, `it is ${stat.isSymbolicLink() ? 'a symlink' : 'not a regular file'}`);
    const existing = readExisting(file).toString('utf8');
    if (existing === text) return false;
    try {
      await readManifest(file);
    } catch {
      refuse(file, 'it is not a static-hash manifest, so not one this tool wrote');
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeAtomically(file, text, true);
  return true;
}

/** One problem {@link verifyStatic} found. */
export interface VerifyProblem {
  /** Path relative to the root, '/'-separated. */
  path: string;
  /** `missing`: no regular file there; `changed`: its bytes are not the ones the manifest names. */
  problem: 'missing' | 'changed';
}

/** Options of {@link verifyStatic}. */
export interface VerifyStaticOptions {
  /** The manifest the output was built with. */
  manifest: string;
  /** The built output directory. */
  root: string;
}

/** What {@link verifyStatic} found. */
export interface VerifyStaticResult {
  /** Files checked (plain names, hashed names and compressed siblings). */
  checked: number;
  problems: VerifyProblem[];
}

/**
 * Checks a built output against its manifest: every file the manifest names is there, as a regular
 * file, with the bytes its hash (or, where the manifest has it, its integrity value) names; with
 * `urlStyle: 'filename'`, under its hashed name too; and every compressed sibling there
 * decompresses to exactly its file. A stylesheet in an `@import` cycle is hashed over its whole
 * cycle, so it is checked by its integrity value or the digest the build recorded.
 *
 * @throws {StaticHashError} `ERR_STATIC_MANIFEST` for an unreadable or corrupt manifest.
 * @example
 * const { problems } = await verifyStatic({ manifest: 'dist/static/static-manifest.json', root: 'dist/static' });
 */
export async function verifyStatic(options: VerifyStaticOptions): Promise<VerifyStaticResult> {
  if (typeof options !== 'object' || options === null) invalid('options', 'an object { manifest, root }', options);
  const { manifest: manifestPath, root } = options;
  if (typeof manifestPath !== 'string' || manifestPath === '') invalid('manifest', 'a file path', manifestPath);
  if (typeof root !== 'string' || root === '') invalid('root', 'a directory path', root);
  const manifest = await readManifest(manifestPath);
  await loadDigester();
  const { urlStyle } = manifest.options;
  let record: BuildRecord | undefined;
  try {
    record = readRecord(path.join(root, BUILD_RECORD));
  } catch {
    record = undefined;
  }
  const problems: VerifyProblem[] = [];
  let checked = 0;
  const read = (relative: string): Buffer | undefined => {
    try {
      const stat = fs.lstatSync(path.join(root, relative));
      return stat.isFile() ? readExisting(path.join(root, relative)) : undefined;
    } catch {
      return undefined;
    }
  };
  for (const [reference, hash] of manifest.files) {
    const names = urlStyle === 'filename' ? [reference, insertHashInFilename(reference, hash)] : [reference];
    for (const name of names) {
      checked++;
      const bytes = read(name);
      if (bytes === undefined) {
        problems.push({ path: name, problem: 'missing' });
        continue;
      }
      const sri = manifest.integrity?.get(reference);
      const digest = digestBytes(bytes);
      const recorded = record?.files[name]?.digest;
      let matches: boolean;
      if (sri !== undefined) matches = sri === `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
      else if (digest.startsWith(hash)) matches = true;
      // A stylesheet in an @import cycle: its hash covers the cycle, not its bytes; the digest the build recorded does.
      else matches = recorded !== undefined && recorded === digest && manifest.options.css && /\.css$/i.test(reference);
      if (!matches) {
        problems.push({ path: name, problem: 'changed' });
        continue;
      }
      for (const [encoding, extension] of Object.entries(SIBLING_EXTENSION) as Array<[BuildCompression, string]>) {
        const sibling = read(name + extension);
        // A .zst this Node cannot decompress is not checked (nor counted).
        if (sibling === undefined || (encoding === 'zstd' && !hasZstd())) continue;
        checked++;
        let plain: Buffer | undefined;
        try {
          plain = encoding === 'br' ? zlib.brotliDecompressSync(sibling)
            : encoding === 'gz' ? zlib.gunzipSync(sibling)
              : (zlib as unknown as { zstdDecompressSync(input: Buffer): Buffer }).zstdDecompressSync(sibling);
        } catch {
          plain = undefined;
        }
        if (plain === undefined || !plain.equals(bytes)) problems.push({ path: name + extension, problem: 'changed' });
      }
    }
  }
  return { checked, problems };
}
