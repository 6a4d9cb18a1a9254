import fs from 'node:fs';
import path from 'node:path';
import { StaticHashError, describeValue } from './errors.js';
import { createStaticHasher } from './hasher.js';
import { MANIFEST_FORMAT, manifestOptionsOf, type StaticManifest } from './manifest.js';
import type { NormalizedRoot, StaticHasherOptions } from './options.js';

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

/**
 * Every reference that names a file under the roots, as `warm()` walks them: symlinked directories
 * are not descended into (they could loop), names no reference can express are returned apart.
 */
export function listReferences(roots: readonly NormalizedRoot[]): { references: string[]; skipped: string[] } {
  const references = new Set<string>();
  const skipped: string[] = [];
  for (const root of roots) {
    const pending = [root.realDir];
    while (pending.length > 0) {
      const dir = pending.pop()!;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue; // removed while walking
      }
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          pending.push(full);
          continue;
        }
        if (!entry.isFile() && !entry.isSymbolicLink()) continue;
        const reference = root.prefix + path.relative(root.realDir, full).split(path.sep).join('/');
        if (/[?#\\]/.test(reference)) skipped.push(full);
        else references.add(reference);
      }
    }
  }
  return { references: [...references].sort(), skipped };
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
    const { references, skipped } = listReferences(hasher.options.roots);
    const files: Record<string, string> = {};
    const integrities: Record<string, string> = {};
    let done = 0;
    for (const reference of references) {
      let hash: string | undefined;
      try {
        hash = hasher.hash(reference);
      } catch (error) {
        // A name the resolver refuses (a '..'-like segment, a colon in the first one) cannot be
        // referenced by a template either: leave it out, as warm() does, and say so.
        if (!(error instanceof StaticHashError) || (error.code !== 'ERR_STATIC_UNSAFE_PATH' && error.code !== 'ERR_STATIC_NOT_A_FILE')) throw error;
        skipped.push(reference);
      }
      if (hash !== undefined) {
        files[reference] = hash;
        if (integrity) {
          const value = hasher.integrity(reference);
          if (value !== undefined) integrities[reference] = value;
        }
      }
      done++;
      onProgress?.(done, references.length);
      // Let signals and progress output through now and then on a large tree.
      if (done % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const manifest: StaticManifest = {
      format: MANIFEST_FORMAT,
      generator: 'static-hash',
      options: manifestOptionsOf(hasher.options),
      files,
      ...(integrity ? { integrity: integrities } : {}),
    };
    return { manifest, files: Object.keys(files).length, skipped };
  } finally {
    await hasher.close();
  }
}
