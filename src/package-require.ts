/**
 * A `require()` that resolves from this package's own files, for the dependency loaded on first use
 * and synchronously (es-module-lexer, by the first module lexed: a template helper such as the
 * import map tag renders synchronously). This is the CommonJS form (the module's own `require`);
 * scripts/build.mjs writes the ES module form (`createRequire(import.meta.url)`, which tsc refuses
 * in a CommonJS build) over dist/esm/src/package-require.js. Either loads the CommonJS build of the
 * dependency: it keeps no state a second copy could disagree with.
 */
export const packageRequire: NodeJS.Require = require;
