import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { digestBytes, digestFile } from './digest.js';
import { StaticHashError, describeValue } from './errors.js';
import { createStaticHasher } from './hasher.js';
import { MANIFEST_FORMAT, manifestOptionsOf, type StaticManifest } from './manifest.js';
import type { NormalizedRoot, StaticHasherOptions } from './options.js';
import { parseReference } from './resolve.js';
import { listReferences, resolvesToListedFile } from './walk.js';

/** Options of {@link buildManifest}: the hasher's options (those of the hasher that will load the manifest), plus these. */
export interface BuildManifestOptions extends Omit<StaticHasherOptions, 'manifest' | 'version' | 'watch' | 'onMissing'> {
  /**
   * Also record each file's sha384 subresource integrity value, so `integrity()` reads no file at runtime.
   * @default false
   */
  integrity?: boolean;
  /** Called after each file with the count done and the total, for progress display. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link buildManifest} produced. */
export interface BuildManifestResult {
  manifest: StaticManifest;
  /** Files hashed into the manifest. */
  files: number;
  /** Files under the roots that no reference can name (e.g. '?' or '#' in the name), left out. */
  skipped: string[];
}

/** The bytes of a file known to be regular, refusing (like digestFile) one swapped for a symlink since the walk. */
function readRegularFile(file: string, reference: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new StaticHashError('ERR_STATIC_UNSAFE_PATH', `static-hash: unsafe path ${describeValue(reference)}: it became a symlink`, { reference, file });
    }
    throw error;
  }
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Hashes every file under the roots with a hasher of the given options and returns the manifest
 * that hasher would serve from: the same resolution (longest prefix first), the same hashes (the
 * stylesheet rewriting included), and the options that shape URLs recorded for the check at load.
 * Write it with {@link writeManifest}.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for a bad option, `ERR_STATIC_IO` for an unreadable file.
 * @example
 * const { manifest } = await buildManifest({ root: 'public', integrity: true });
 * writeManifest('static-manifest.json', manifest);
 */
export async function buildManifest(options: BuildManifestOptions = {}): Promise<BuildManifestResult> {
  if (typeof options !== 'object' || options === null) {
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: buildManifest() takes an options object; got ${describeValue(options)}`, {
      option: 'options', value: options,
    });
  }
  const { integrity = false, onProgress, ...hasherOptions } = options;
  if (typeof integrity !== 'boolean') {
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: option "integrity" must be a boolean; got ${describeValue(integrity)}`, {
      option: 'integrity', value: integrity,
    });
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: option "onProgress" must be a function; got ${describeValue(onProgress)}`, {
      option: 'onProgress', value: onProgress,
    });
  }
  // Missing files are expected here (a file removed while walking): they are left out, silently.
  const hasher = await createStaticHasher({ ...(hasherOptions as StaticHasherOptions), onMissing: 'ignore' });
  try {
    const { roots, hashLength } = hasher.options;
    const manifestOptions = manifestOptionsOf(hasher.options);
    const listed = listReferences(roots);
    const skipped = listed.skipped;
    // No prototype: a file named "__proto__" or "constructor" is a key like any other.
    const files: Record<string, string> = Object.create(null);
    const integrities: Record<string, string> = Object.create(null);
    let done = 0;
    for (const entry of listed.files) {
      const { reference } = entry;
      if (Object.hasOwn(files, reference)) {
        // Shadowed by a file of the same reference under an earlier root: already hashed from there.
        onProgress?.(++done, listed.files.length);
        continue;
      }
      let hash: string | undefined;
      let sri: string | undefined;
      try {
        parseReference(reference); // a name the resolver refuses throws here, before any read
        // Stylesheets go through the hasher, whose hash may cover rewritten text (css option).
        const direct = resolvesToListedFile(entry, roots) && !(manifestOptions.css && /\.css$/i.test(reference));
        if (direct && integrity) {
          // The walk already knows the real path: one read gives both digests, no realpath per
          // file. Same bytes and same xxHash64 as the hasher's streamed digest.
          const bytes = readRegularFile(entry.file, reference);
          hash = digestBytes(bytes).slice(0, hashLength);
          sri = `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
        } else if (direct) {
          hash = digestFile(entry.file, reference)?.slice(0, hashLength);
        } else {
          hash = hasher.hash(reference);
          if (hash !== undefined && integrity) sri = hasher.integrity(reference);
        }
      } catch (error) {
        if (error instanceof StaticHashError && (error.code === 'ERR_STATIC_UNSAFE_PATH' || error.code === 'ERR_STATIC_NOT_A_FILE')) {
          // A name the resolver refuses (a '..'-like segment, a colon in the first one) cannot be
          // referenced by a template either: leave it out, as warm() does, and say so.
          skipped.push(entry.file);
        } else if (error instanceof StaticHashError) {
          throw error;
        } else if ((error as NodeJS.ErrnoException).code !== 'ENOENT') { // ENOENT: removed while building
          throw new StaticHashError('ERR_STATIC_IO', `static-hash: cannot read ${entry.file}: ${(error as Error).message}`, { file: entry.file, cause: error });
        }
      }
      if (hash !== undefined) {
        files[reference] = hash;
        if (sri !== undefined) integrities[reference] = sri;
      }
      done++;
      onProgress?.(done, listed.files.length);
      // Let signals and progress output through now and then on a large tree.
      if (done % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const manifest: StaticManifest = {
      format: MANIFEST_FORMAT,
      generator: 'static-hash',
      options: manifestOptions,
      files,
      ...(integrity ? { integrity: integrities } : {}),
    };
    return { manifest, files: Object.keys(files).length, skipped };
  } finally {
    await hasher.close();
  }
}
