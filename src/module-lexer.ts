/**
 * es-module-lexer, for src/modules.ts. This is the CommonJS form: the lexer loads with the first
 * module lexed (about 3 ms of start-up otherwise, and 1 ms more to compile its WebAssembly, which
 * its parse() does on first use), through a literal `require()` that bundlers follow.
 * scripts/build.mjs writes the ES module form over dist/esm/src/module-lexer.js: a static import, as
 * before. An ES module cannot load another synchronously, and the import map helpers render
 * synchronously; `createRequire(import.meta.url)` would, but it breaks once a bundler (esbuild for a
 * serverless function) has moved the code away from node_modules.
 */
import type * as EsModuleLexer from 'es-module-lexer';

let lexer: typeof EsModuleLexer | undefined;

/** The es-module-lexer module, loaded on the first call. */
export function moduleLexer(): typeof EsModuleLexer {
  return lexer ??= require('es-module-lexer') as typeof EsModuleLexer;
}
