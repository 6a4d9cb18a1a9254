/**
 * static-hash: cache-busting URLs for static files, computed from their contents.
 *
 * @example
 * import { createStaticHasher } from 'static-hash';
 * const hasher = await createStaticHasher({ root: 'public' });
 * hasher.url('js/app.js'); //=> '/static/js/app.js?v=3f9a1c0b7d2e'
 */
export { createStaticHasher, StaticHasher } from './hasher.js';
export type { ChangeCause, ChangeEvent, StaticHasherEventMap, InvalidateOptions, ResolvedReference, StaticHasherStats, WarmResult, WatcherState } from './hasher.js';
export { ASSET_ENCODINGS } from './asset.js';
export type { AssetEncoding, AssetRepresentation, OpenedFile, StaticAsset } from './asset.js';
export { StaticHashError } from './errors.js';
export type { StaticHashErrorCode, StaticHashErrorDetails } from './errors.js';
export { MemoryGenerationStore } from './generation.js';
export type { GenerationState, GenerationStore } from './generation.js';
export { normalizeOptions } from './options.js';
export type {
  CssIgnorePattern, Logger, ManifestOption, ModulesOption, NormalizedManifestOption, NormalizedModulesOptions, NormalizedOptions, NormalizedRoot, RootOption,
  StaticHasherOptions,
  WatchOptions,
} from './options.js';
export { MANIFEST_FORMAT, checkManifestOptions, manifestOptionsOf, parseManifest, readManifest, serializeManifest, writeManifest } from './manifest.js';
export type { LoadedManifest, ManifestOptions, StaticManifest } from './manifest.js';
export type { BuildManifestOptions, BuildManifestResult } from './manifest-build.js';
// Loaded on first call (src/deferred.ts): importing the package does not parse the build code.
export { BUILD_RECORD, COMPRESSION_MARGIN, buildManifest, buildStatic, hasZstd, verifyStatic } from './deferred.js';
export type { BuildCompression, BuildStaticOptions, BuildStaticResult, VerifyProblem, VerifyStaticOptions, VerifyStaticResult } from './build.js';
export { listReferences } from './walk.js';
export type { ListedFile } from './walk.js';
export { parseReference } from './resolve.js';
export { rewriteStylesheet, scanStylesheet, resolveCssReference } from './css-references.js';
export type { CssReference, CssTarget, RewriteStylesheetOptions } from './css-references.js';
export type { ParsedReference } from './resolve.js';
export { lexModule, resolveModuleSpecifier, moduleResolver } from './modules.js';
export type {
  GraphModule, ImportMap, ImportMapOptions, LexedModule, ModuleEdge, ModuleGraph, ModuleImportRecord, ModuleResolver, ModuleTarget, UnresolvedImport,
} from './modules.js';
