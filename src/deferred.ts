/**
 * The package's async entry points whose code loads on first call, and what must stay importable
 * without it. `import('static-hash')` then loads only what a hasher needs to produce URLs (a
 * serverless function renders templates after every cold start and pays for each module it parses):
 * the build (zlib, mime-db, 700 lines), the manifest build, and the Node built-ins only some calls use.
 */
import { createRequire } from 'node:module';
import type { BuildStaticOptions, BuildStaticResult, VerifyStaticOptions, VerifyStaticResult } from './build.js';
import type { BuildManifestOptions, BuildManifestResult } from './manifest-build.js';

/** A compressed sibling is written only when it saves at least this fraction of the file's size. */
export const COMPRESSION_MARGIN = 0.05;
/** Name of the record, in the output directory, of what each build wrote. */
export const BUILD_RECORD = '.static-hash-build.json';

// Built-in modules resolve the same from any base path; the base is only there to make a require().
const requireBuiltin = createRequire(`${process.cwd()}/`);
let crypto: typeof import('node:crypto') | undefined;
let zlib: typeof import('node:zlib') | undefined;
let os: typeof import('node:os') | undefined;
let workerThreads: typeof import('node:worker_threads') | undefined;

/** node:crypto, loaded on first use (integrity values, temporary names): a few ms of start-up otherwise. */
export function nodeCrypto(): typeof import('node:crypto') {
  return crypto ??= requireBuiltin('node:crypto') as typeof import('node:crypto');
}

/** node:os, loaded on first use (the default thread count). */
export function nodeOs(): typeof import('node:os') {
  return os ??= requireBuiltin('node:os') as typeof import('node:os');
}

/** node:worker_threads, loaded on first use (the hashing pool): synchronously, so a walk can start workers mid-listing. */
export function nodeWorkerThreads(): typeof import('node:worker_threads') {
  return workerThreads ??= requireBuiltin('node:worker_threads') as typeof import('node:worker_threads');
}

/** node:zlib, loaded on first use. */
export function nodeZlib(): typeof import('node:zlib') {
  return zlib ??= requireBuiltin('node:zlib') as typeof import('node:zlib');
}

/** Whether the running Node's zlib has zstd (Node 22.15+/23.8+). */
export function hasZstd(): boolean {
  return typeof (nodeZlib() as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
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
 * Its code (src/build.ts) loads on the first call.
 * @example
 * const result = await buildStatic({ root: 'public', out: 'dist/static', urlStyle: 'filename' });
 * result.written; //=> ['css/site.css', 'css/site.3f9a1c0b7d2e.css', 'css/site.css.br', ...]
 */
export async function buildStatic(options: BuildStaticOptions): Promise<BuildStaticResult> {
  return (await import('./build.js')).buildStatic(options);
}

/**
 * Checks a built output against its manifest: every file the manifest names is there, as a regular
 * file, with the bytes its hash (or, where the manifest has it, its integrity value) names; with
 * `urlStyle: 'filename'`, under its hashed name too; and every compressed sibling there
 * decompresses to exactly its file. A stylesheet in an `@import` cycle is hashed over its whole
 * cycle, so it is checked by its integrity value or the digest the build recorded.
 *
 * Its code (src/build.ts) loads on the first call.
 * @throws {StaticHashError} `ERR_STATIC_MANIFEST` for an unreadable or corrupt manifest.
 * @example
 * const { problems } = await verifyStatic({ manifest: 'dist/static/static-manifest.json', root: 'dist/static' });
 */
export async function verifyStatic(options: VerifyStaticOptions): Promise<VerifyStaticResult> {
  return (await import('./build.js')).verifyStatic(options);
}

/**
 * Hashes every file under the roots with a hasher of the given options and returns the manifest
 * that hasher would serve from: the same resolution (longest prefix first), the same hashes (the
 * stylesheet rewriting included), and the options that shape URLs recorded for the check at load.
 * Write it with {@link writeManifest}.
 *
 * Its code (src/manifest-build.ts) loads on the first call.
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for a bad option, `ERR_STATIC_IO` for an unreadable file.
 * @example
 * const { manifest } = await buildManifest({ root: 'public', integrity: true });
 * writeManifest('static-manifest.json', manifest);
 */
export async function buildManifest(options: BuildManifestOptions = {}): Promise<BuildManifestResult> {
  return (await import('./manifest-build.js')).buildManifest(options);
}
