import { StaticHashError, describeValue, invalidOption } from './errors.js';
import { createStaticHasher, walkRoots } from './hasher.js';
import { MANIFEST_FORMAT, manifestOptionsOf, type StaticManifest } from './manifest.js';
import { manifestModuleRecord, type LexedModule } from './modules.js';
import type { StaticHasherOptions } from './options.js';
import { readRegularFile } from './read-file.js';

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

// Only JavaScript files can have a record: the others are not read a second time.
const MODULE_REFERENCE = /\.m?js$/i;

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
    invalidOption('static-hash', 'integrity', 'a boolean', integrity);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    invalidOption('static-hash', 'onProgress', 'a function', onProgress);
  }
  // Missing files are expected here (a file removed while walking): they are left out, silently.
  const hasher = await createStaticHasher({ ...(hasherOptions as StaticHasherOptions), onMissing: 'ignore' });
  try {
    const manifestOptions = manifestOptionsOf(hasher.options);
    // No prototype: a file named "__proto__" or "constructor" is a key like any other.
    const files: Record<string, string> = Object.create(null);
    const integrities: Record<string, string> = Object.create(null);
    // What each JavaScript file imports, so importMap() reads no file at run time (those importing nothing are left out).
    const modules: Record<string, LexedModule> = Object.create(null);
    const refused: string[] = [];
    // The manifest is warm() plus a snapshot of what it hashed: the same files, symlinks and skipped
    // names as a live hasher, decided in one place.
    const walked = await walkRoots(hasher, {
      integrity,
      stopOnReadError: true,
      // A module's bytes come with its hash where the walk reads it whole (once for both).
      withBytes: (reference) => MODULE_REFERENCE.test(reference),
      onFile: (reference, hash, sri, read) => {
        files[reference] = hash;
        if (sri !== undefined) integrities[reference] = sri;
        if (MODULE_REFERENCE.test(reference)) {
          // Else read at its real path, as the hasher resolves it, by the safe open; gone meanwhile: left out.
          const file = read === undefined ? hasher.resolve(reference)?.file : undefined;
          const bytes = read ?? (file === undefined ? undefined : readRegularFile(file, reference));
          const record = bytes === undefined ? undefined : manifestModuleRecord(reference, bytes);
          if (record !== undefined) modules[reference] = record;
        }
      },
      onSkipped: (file) => refused.push(file),
      onProgress,
    });
    const skipped = [...walked.unnameable, ...refused];
    const manifest: StaticManifest = {
      format: MANIFEST_FORMAT,
      generator: 'static-hash',
      options: manifestOptions,
      files,
      ...(integrity ? { integrity: integrities } : {}),
      modules,
    };
    return { manifest, files: walked.files, skipped };
  } finally {
    await hasher.close();
  }
}
