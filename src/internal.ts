/**
 * What the adapters share, and what they may use of the core beyond the public API. Not in the
 * package's `exports` map: nothing here is a promise to users, and it may change in any release.
 */
export { GenerationCache, GenerationClock } from './generation.js';
export type { GenerationCacheOptions } from './generation.js';
export { clockOf } from './hasher.js';
