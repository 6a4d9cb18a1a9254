// The template values the framework adapters hand to views (Fastify's reply.locals, Koa's
// ctx.state): `static`, `static_integrity` and `static_importmap` as plain functions that work
// when Nunjucks calls them (`{{ static('app.css') }}`: the arguments only) and when Handlebars does
// (`{{static "app.css"}}`: the arguments, then its options object).
import type { StaticHasher } from '../src/index.js';
import { staticHelpers } from './handlebars.js';
import { ImportMapTagRenderer, importMapArguments } from './importmap-tag.js';

/** What views get: call them from Nunjucks or Handlebars alike. */
export interface StaticViewLocals {
  /** The reference's URL with its version: `static('css/site.css')`. */
  static: (reference: string, ...rest: unknown[]) => unknown;
  /** The reference's `sha384-…` integrity (`''` for a missing file under `onMissing: 'warn'`/`'ignore'`). */
  static_integrity: (reference: string, ...rest: unknown[]) => unknown;
  /** The import map and modulepreload links for module entries (markup: `| safe` in Nunjucks). */
  static_importmap: (...entries: unknown[]) => unknown;
}

/** Handlebars calls a helper with its options object last: `{ hash, data, name, … }`. */
function isHandlebarsOptions(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'hash' in value && 'name' in value && 'data' in value;
}

/**
 * The values for a hasher, made once: Handlebars calls go to the helpers of `staticHelpers()`
 * (HTML through `toHTML()`, errors with the template position); Nunjucks calls get strings
 * (Nunjucks escapes them under autoescape, which leaves URLs and base64 readable).
 */
export function createViewLocals(hasher: StaticHasher): StaticViewLocals {
  const helpers = staticHelpers(hasher);
  const renderer = new ImportMapTagRenderer(hasher, (html: string) => html);
  const dual = (handlebars: (...args: any[]) => unknown, nunjucks: (...args: any[]) => unknown) => function (this: unknown, ...args: unknown[]): unknown {
    return isHandlebarsOptions(args[args.length - 1]) ? handlebars.apply(this, args) : nunjucks(...args);
  };
  return Object.freeze({
    static: dual(helpers.static!, (reference: string) => hasher.url(reference)),
    static_integrity: dual(helpers.staticIntegrity!, (reference: string) => hasher.integrity(reference) ?? ''),
    static_importmap: dual(helpers.static_importmap!, (...args: unknown[]) => {
      const { entries, integrity, nonce } = importMapArguments(args);
      return renderer.render(entries, integrity, nonce);
    }),
  }) as StaticViewLocals;
}
