/**
 * What the adapters share, and what they may use of the core beyond the public API. Not in the
 * package's `exports` map: nothing here is a promise to users, and it may change in any release.
 * Adapters import only this module and src/index.ts.
 */
import { StaticHashError, invalidOption } from './errors.js';
import { StaticHasher } from './hasher.js';

export { GenerationCache, GenerationClock } from './generation.js';
export type { GenerationCacheOptions } from './generation.js';
export { clockOf, rememberedAsset } from './hasher.js';
export { describeValue, invalidOption } from './errors.js';
export { rejectUnknownKeys } from './options.js';
export { baseUrlPath } from './url.js';
export { isStylesheet } from './css-references.js';

/**
 * Whether `value` is a hasher from `createStaticHasher()`. Besides `instanceof`, an object with the
 * hasher's methods is accepted: an app that loads the CommonJS build of the core and the ESM build of
 * an adapter has two StaticHasher classes, and must not be told its hasher is not one.
 */
export function isStaticHasher(value: unknown): value is StaticHasher {
  if (value instanceof StaticHasher) return true;
  if (typeof value !== 'object' || value === null) return false;
  const hasher = value as Record<string, unknown>;
  return typeof hasher.options === 'object' && hasher.options !== null
    && ['url', 'hash', 'integrity', 'read', 'resolve', 'invalidate'].every((method) => typeof hasher[method] === 'function');
}

/**
 * Throws `ERR_STATIC_INVALID_OPTION` unless `value` is a hasher ({@link isStaticHasher}); `subject`
 * names the argument, as in `registerStatic(env, hasher): hasher`.
 */
export function checkHasher(value: unknown, scope: string, subject: string): asserts value is StaticHasher {
  if (!isStaticHasher(value)) invalidOption(scope, 'hasher', 'a StaticHasher from createStaticHasher()', value, subject);
}

const HTML_SPECIAL = /[&<>"'`]/;
const HTML_SPECIAL_ALL = /[&<>"'`]/g;
const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/**
 * Escapes text for HTML content and attribute values, quoted or not: `& < > " '` and the backtick
 * (which old Internet Explorer took as an attribute quote, and Handlebars escapes too). Text without
 * such characters is returned as it is, scanned once.
 */
export function escapeHtml(text: string): string {
  return HTML_SPECIAL.test(text) ? text.replace(HTML_SPECIAL_ALL, (character) => HTML_ENTITIES[character]!) : text;
}

/** Where in a template something happened. `line` and `column` are 1-based, as editors count. */
export interface TemplatePosition {
  /** The template's name or path, when the engine knows it. */
  template?: string | undefined;
  line?: number | undefined;
  column?: number | undefined;
}

/**
 * The one way a template position is written in a message: ` (views/home.njk:12:5)`, or
 * ` (template line 12, column 5)` without a name, ` (views/home.njk)` without a line; '' when nothing
 * is known.
 */
export function formatTemplatePosition(position: TemplatePosition): string {
  const { template, line, column } = position;
  if (line === undefined) return template ? ` (${template})` : '';
  if (template) return column === undefined ? ` (${template}:${line})` : ` (${template}:${line}:${column})`;
  return column === undefined ? ` (template line ${line})` : ` (template line ${line}, column ${column})`;
}

/**
 * `error` with the template position appended to its message, when it is a StaticHashError (same
 * code and details, the original as `cause`); any other error unchanged.
 */
export function withTemplatePosition(error: unknown, position: TemplatePosition): unknown {
  if (!(error instanceof StaticHashError)) return error;
  const where = formatTemplatePosition(position);
  if (where === '') return error;
  return new StaticHashError(error.code, `${error.message}${where}`, {
    reference: error.reference, file: error.file, option: error.option, value: error.value, cause: error,
  });
}

/**
 * A Handlebars helper's `options.loc` as a {@link TemplatePosition}: its `source` is the `srcName`
 * compile option, its columns are 0-based (editors and stack traces count from 1).
 */
export function handlebarsPosition(loc: { source?: string; start?: { line?: number; column?: number } } | undefined): TemplatePosition {
  const start = loc?.start;
  return {
    template: loc?.source,
    line: start?.line,
    column: start?.line === undefined || start.column === undefined ? undefined : start.column + 1,
  };
}
