/**
 * static-hash for Nunjucks: the `{% static %}` tag, the `static()` global function and the `| static`
 * filter, all giving the cache-busting URL of a static file.
 *
 * This module never imports nunjucks: it works on the Environment it is given, so the nunjucks copy
 * that renders is always the one whose classes it uses.
 *
 * @example
 * import nunjucks from 'nunjucks';
 * import { createStaticHasher } from 'static-hash';
 * import { registerStatic } from 'static-hash/nunjucks';
 *
 * const env = new nunjucks.Environment(new nunjucks.FileSystemLoader('views'), { autoescape: true });
 * registerStatic(env, await createStaticHasher({ root: 'public' }));
 * env.renderString('<script src="{% static "js/app.js" %}"></script>', {});
 * //=> '<script src="/static/js/app.js?v=3f9a1c0b7d2e"></script>'
 */
import type { StaticHasher } from '../src/index.js';
import { checkHasher, invalidOption, rejectUnknownKeys } from '../src/internal.js';
import { registerImportMapTag, type NunjucksImportMapEnvironment } from './importmap-tag.js';
import { registerIntegrityGlobal, withCodeInMessage } from './integrity-helpers.js';

/**
 * The part of a nunjucks `Environment` this adapter uses. A real `nunjucks.Environment` (or one from
 * `nunjucks.configure()`) fits; the type is spelled out so that using this module does not require
 * `@types/nunjucks`.
 */
export interface NunjucksEnvironment {
  addExtension(name: string, extension: any): unknown;
  hasExtension(name: string): boolean;
  removeExtension(name: string): unknown;
  addGlobal(name: string, value: any): unknown;
  addFilter(name: string, filter: (...args: any[]) => any): unknown;
}

/** Options of {@link registerStatic} for Nunjucks. Every option is optional. */
export interface NunjucksStaticOptions {
  /**
   * The tag's name: `{% static "js/app.js" %}`. An identifier that is not a built-in Nunjucks tag.
   * @default 'static'
   */
  tagName?: string;
  /**
   * The global function's name, `{{ static("js/app.js") }}`, or `false` for no global function.
   * @default the tag name
   */
  globalName?: string | false;
  /**
   * The filter's name, `{{ "js/app.js" | static }}`, or `false` for no filter.
   * @default the tag name
   */
  filterName?: string | false;
}

/** What {@link registerStatic} registered, with every default filled in. */
export interface NunjucksStaticRegistration {
  /** The tag's name. */
  tagName: string;
  /** The global function's name, or `false` when none was registered. */
  globalName: string | false;
  /** The filter's name, or `false` when none was registered. */
  filterName: string | false;
  /**
   * `static-hash:<tagName>`: the extension's name on the environment (`env.getExtension(name)`), and
   * the name of the global the tag compiles to.
   */
  extensionName: string;
}

const OPTION_NAMES = ['tagName', 'globalName', 'filterName'] as const;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Tags the Nunjucks parser handles itself (or uses to end blocks): an extension tag with one of
// these names would never be reached, or would break the enclosing block.
const BUILT_IN_TAGS = new Set([
  'raw', 'endraw', 'verbatim', 'endverbatim', 'if', 'ifAsync', 'elif', 'elseif', 'else', 'endif',
  'for', 'asyncEach', 'asyncAll', 'endfor', 'endeach', 'endall', 'block', 'endblock', 'extends', 'include',
  'set', 'endset', 'macro', 'endmacro', 'call', 'endcall', 'import', 'from', 'filter', 'endfilter',
  'switch', 'case', 'default', 'endswitch',
]);


const SCOPE = 'static-hash/nunjucks';

function isEnvironment(value: unknown): value is NunjucksEnvironment {
  if (typeof value !== 'object' || value === null) return false;
  const env = value as Record<string, unknown>;
  return typeof env.addExtension === 'function' && typeof env.addGlobal === 'function'
    && typeof env.addFilter === 'function' && typeof env.hasExtension === 'function'
    && typeof env.removeExtension === 'function';
}


function normalizeName(value: unknown, option: string, fallback: string, allowFalse: boolean): string | false {
  if (value === undefined) return fallback;
  if (value === false && allowFalse) return false;
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    invalidOption(SCOPE, option, `an identifier such as "static"${allowFalse ? ' or false' : ''}`, value);
  }
  return value;
}

/**
 * Validates the options of {@link registerStatic} and fills in every default, registering nothing.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` naming the bad option.
 * @example
 * normalizeNunjucksOptions({ tagName: 'asset' })
 * //=> { tagName: 'asset', globalName: 'asset', filterName: 'asset', extensionName: 'static-hash:asset' }
 */
export function normalizeNunjucksOptions(options: NunjucksStaticOptions = {}): NunjucksStaticRegistration {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalidOption(SCOPE, 'options', 'an object', options, 'options');
  rejectUnknownKeys(options, OPTION_NAMES, 'static-hash/nunjucks option');
  const tagName = normalizeName(options.tagName, 'tagName', 'static', false) as string;
  if (BUILT_IN_TAGS.has(tagName)) invalidOption(SCOPE, 'tagName', 'a name that is not a built-in Nunjucks tag', tagName);
  return {
    tagName,
    globalName: normalizeName(options.globalName, 'globalName', tagName, true),
    filterName: normalizeName(options.filterName, 'filterName', tagName, true),
    extensionName: `static-hash:${tagName}`,
  };
}

// The few members of the Nunjucks parser and node classes the tag uses (nunjucks hands them to parse()).
interface Token { type: string; value: string; lineno: number; colno: number }
interface Parser {
  nextToken(): Token;
  peekToken(): Token;
  parseExpression(): object;
  parsePrimary(): object;
  skipSymbol(name: string): boolean;
  advanceAfterBlockEnd(name: string): void;
  fail(message: string, lineno?: number, colno?: number): never;
}
type NodeClass = new (lineno: number, colno: number, ...fields: unknown[]) => object;
interface Nodes {
  Output: NodeClass;
  FunCall: NodeClass;
  Symbol: NodeClass;
  NodeList: NodeClass;
  Set: NodeClass;
}

/**
 * The `{% static %}` tag. It compiles to a call of a hidden global (`static-hash:<tag>`, a name no
 * template can write, so no `set`, loop or macro variable shadows it), so that:
 * - the tag, the global function and the filter share one code path and one escaping rule;
 * - the call is a Nunjucks `FunCall`, which records its line and column for error messages (Nunjucks
 *   records positions only at calls; its own are 0-based, the tag's are written 1-based);
 * - `{% static "x" as name %}` is a plain `Set` node, scoped exactly like `{% set name = … %}`;
 * - precompiled templates need only the global at run time, not the extension;
 * - it stays synchronous: CallExtensionAsync would print nothing under a synchronous render().
 */
class StaticTagExtension {
  readonly tags: string[];
  readonly #callee: string;

  constructor(tagName: string, callee: string) {
    this.tags = [tagName];
    this.#callee = callee;
  }

  parse(parser: Parser, nodes: Nodes): object {
    const tag = parser.nextToken();
    if (parser.peekToken().type === 'block-end') {
      parser.fail(`static-hash/nunjucks: ${tag.value}: expected a reference, as in {% ${tag.value} "js/app.js" %}`, tag.lineno, tag.colno);
    }
    const reference = parser.parseExpression();
    let target: object | undefined;
    if (parser.skipSymbol('as')) {
      const name = parser.peekToken();
      target = parser.parsePrimary();
      if (!(target instanceof nodes.Symbol)) {
        parser.fail(`static-hash/nunjucks: ${tag.value}: expected a variable name after "as", as in {% ${tag.value} "js/app.js" as app_js %}`, name.lineno, name.colno);
      }
    }
    parser.advanceAfterBlockEnd(tag.value);
    // Positions are stored 1-based here so that Nunjucks' "[Line, Column]" names the tag's real place.
    const line = tag.lineno + 1;
    const column = tag.colno + 1;
    const call = new nodes.FunCall(line, column, new nodes.Symbol(line, column, this.#callee), new nodes.NodeList(line, column, [reference]));
    if (target !== undefined) return new nodes.Set(line, column, [target], call);
    return new nodes.Output(line, column, [call]);
  }
}

/**
 * Registers the `static` tag, global function and filter on a Nunjucks environment. All three call
 * `hasher.url()` at render time, so nothing is baked into compiled or precompiled templates: after
 * `hasher.invalidate()` the same compiled template prints the new URL.
 *
 * Every form returns the URL as a plain string, so `autoescape` escapes it exactly once: a reference's
 * own query prints as `?a=1&amp;v=…`; without autoescape the URL prints as it is. Registering again
 * with the same tag name replaces the earlier registration.
 *
 * @param env - A `nunjucks.Environment`.
 * @param hasher - A hasher from `createStaticHasher()`.
 * @param options - Names of the tag, global function and filter.
 * @returns What was registered, with defaults filled in.
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for something that is not an Environment, not a
 *   hasher, or a bad option.
 * @example
 * registerStatic(env, hasher);
 * // {% static "js/app.js" %}            -> /static/js/app.js?v=3f9a1c0b7d2e
 * // {% static "css/" ~ theme ~ ".css" %}
 * // {% static "js/app.js" as app_js %}  then {{ app_js }}
 * // {{ static("img/logo.png") }}  {{ "img/logo.png" | static }}
 * // {{ static_integrity("js/app.js") }} -> sha384-…
 * // {% static_importmap "js/main.js", integrity=true, nonce=csp_nonce %} -> <script type="importmap">… + modulepreload links
 */
export function registerStatic(env: NunjucksEnvironment, hasher: StaticHasher, options: NunjucksStaticOptions = {}): NunjucksStaticRegistration {
  if (!isEnvironment(env)) invalidOption(SCOPE, 'env', 'a nunjucks Environment', env, 'registerStatic(env, hasher): env');
  checkHasher(hasher, SCOPE, 'registerStatic(env, hasher): hasher');
  const registration = normalizeNunjucksOptions(options);
  const { tagName, globalName, filterName, extensionName } = registration;

  // A plain string, as Nunjucks' own globals return: autoescape escapes it exactly once (only '&'
  // from a reference's own query, or "'" from a base URL, ever changes). Returning a SafeString to skip
  // that escape measured no faster (bench/adapters.bench.mjs) and would hand templates and custom
  // filters an object where they expect the URL string.
  // The code goes into the message (Nunjucks keeps only the message unless `dev: true`).
  const staticUrl = (reference: string): string => {
    try {
      return hasher.url(reference);
    } catch (error) {
      throw withCodeInMessage(error);
    }
  };

  // The hidden global shares the extension's name: neither is writable in a template.
  if (env.hasExtension(extensionName)) env.removeExtension(extensionName);
  env.addGlobal(extensionName, staticUrl);
  env.addExtension(extensionName, new StaticTagExtension(tagName, extensionName));
  if (globalName !== false) env.addGlobal(globalName, staticUrl);
  if (filterName !== false) env.addFilter(filterName, staticUrl);
  // {{ static_integrity("js/app.js") }} for integrity="…" attributes.
  registerIntegrityGlobal(env, hasher);
  // {% static_importmap "js/main.js" %}: the import map and modulepreload links of a module graph.
  registerImportMapTag(env as unknown as NunjucksImportMapEnvironment, hasher);
  return registration;
}
