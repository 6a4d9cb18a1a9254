/**
 * static-hash for Handlebars: the `{{static "img/logo.png"}}` helper, and the `<<static "img/logo.png">>`
 * delimiter form for templates whose `{{ }}` belong to something else (a client-side framework).
 *
 * This module never imports handlebars: it works on the instance it is given (the global `Handlebars`
 * or one from `Handlebars.create()`), and registers nothing anywhere else.
 *
 * @example
 * import Handlebars from 'handlebars';
 * import { createStaticHasher } from 'static-hash';
 * import { registerStatic } from 'static-hash/handlebars';
 *
 * const handlebars = Handlebars.create();
 * registerStatic(handlebars, await createStaticHasher({ root: 'public' }));
 * handlebars.compile('<img src="{{static "img/logo.png"}}">')({});
 * //=> '<img src="/static/img/logo.png?v=7e2242e8427d">'
 */
import { StaticHashError, type StaticHasher } from '../src/index.js';
import { checkHasher, describeValue, escapeHtml, invalidOption, rejectUnknownKeys, withTemplatePosition, formatTemplatePosition, handlebarsPosition } from '../src/internal.js';
import { createImportMapHelper, registerImportMapHelper } from './importmap-tag.js';
import { createIntegrityHelper, registerIntegrityHelper } from './integrity-helpers.js';

/**
 * The part of a Handlebars instance this adapter uses. The global `Handlebars`, every
 * `Handlebars.create()` instance and the runtime-only build (`handlebars/runtime`, for precompiled
 * templates) fit; `compile` and `precompile` are needed only with the `delimiters` option.
 */
export interface HandlebarsInstance {
  registerHelper(name: string, helper: (...args: any[]) => any): void;
  compile?(input: any, options?: any): (context?: any, options?: any) => string;
  precompile?(input: any, options?: any): any;
  SafeString: new (text: string) => { toString(): string };
}

/**
 * What {@link registerStatic} accepts: a Handlebars instance ({@link HandlebarsInstance}), or an
 * object that holds one in its `handlebars` property: the `hbs` module (and `hbs.create()`), and an
 * express-handlebars instance (`create()` / `new ExpressHandlebars()`). express-handlebars types its
 * `handlebars` property loosely (`{ [key: string]: unknown; compile; precompile }`), so that shape is
 * accepted too; what is really used (`registerHelper`, `SafeString`, and `compile`/`precompile` with
 * `delimiters`) is checked when registering, with an error naming what is missing.
 */
export type HandlebarsTarget =
  | HandlebarsInstance
  | { readonly handlebars: HandlebarsInstance }
  | LooseHandlebars
  | { readonly handlebars: LooseHandlebars };

/** express-handlebars' type of a Handlebars module (`HandlebarsImport`): its methods typed `unknown`. */
export interface LooseHandlebars {
  [key: string]: unknown;
  compile: unknown;
  precompile: unknown;
}

/** Options of {@link registerStatic} for Handlebars. Every option is optional. */
export interface HandlebarsStaticOptions {
  /**
   * The helper's name.
   * @default 'static'
   */
  helperName?: string;
  /**
   * Scheme, host and port put in front of a URL by `{{static "x" absolute=true}}` (for e-mails, feeds,
   * `og:image`), e.g. `'https://example.com'`. Not needed when the hasher's `baseUrl` is already absolute.
   * @default undefined (absolute=true then fails unless the URL is already absolute)
   */
  origin?: string;
  /**
   * `['<<', '>>']` makes this instance's `compile` and `precompile` (and partials it compiles) read
   * templates written with `<< >>` instead of `{{ }}`: see {@link translateDelimiters}.
   * @default undefined (templates use `{{ }}`)
   */
  delimiters?: readonly [string, string];
}

/** What {@link registerStatic} registered, with every default filled in. */
export interface HandlebarsStaticRegistration {
  /** The helper's name. */
  helperName: string;
  /** The origin `absolute=true` uses, normalised (`'https://example.com'`), or undefined. */
  origin: string | undefined;
  /** `['<<', '>>']` when the instance now reads `<< >>` templates, else undefined. */
  delimiters: readonly [string, string] | undefined;
}

/** The part of Handlebars' helper options the helper reads. */
interface HelperOptions {
  hash: Record<string, unknown>;
  loc?: { source?: string; start?: { line: number; column: number } };
}

const OPTION_NAMES = ['helperName', 'origin', 'delimiters'] as const;
const HASH_OPTION_NAMES = ['absolute'] as const;
// A Handlebars identifier: no whitespace and none of the characters its grammar reserves.
const HELPER_NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;
// What could end an HTML attribute or start a tag or an entity. Hashed URLs are percent-encoded, so
// only '&' (a reference's own query) and "'" (a base URL) ever occur; '=' needs no escaping in HTML.
const SCOPE = 'static-hash/handlebars';



function isHandlebars(value: unknown): value is HandlebarsInstance {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const instance = value as Record<string, unknown>;
  return typeof instance.registerHelper === 'function' && typeof instance.SafeString === 'function';
}

/**
 * The Handlebars instance a target stands for: the one inside `hbs` or an express-handlebars
 * instance (their `handlebars` property: that is the instance whose `compile` their views use, so
 * `delimiters` must wrap it), else the target itself.
 */
function handlebarsOf(target: unknown): HandlebarsInstance | undefined {
  if ((typeof target === 'object' || typeof target === 'function') && target !== null) {
    const inner = (target as { handlebars?: unknown }).handlebars;
    if (isHandlebars(inner)) return inner;
  }
  return isHandlebars(target) ? target : undefined;
}


function normalizeOrigin(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const expected = 'an http(s) origin such as "https://example.com" (no path, query or fragment)';
  if (typeof value !== 'string') invalidOption(SCOPE, 'origin', expected, value);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    invalidOption(SCOPE, 'origin', expected, value);
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.pathname !== '/' || parsed.search !== ''
    || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '' || /[?#]/.test(value)) {
    invalidOption(SCOPE, 'origin', expected, value);
  }
  return parsed.origin;
}

function normalizeDelimiters(value: unknown): readonly [string, string] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length !== 2 || value[0] !== '<<' || value[1] !== '>>') {
    invalidOption(SCOPE, 'delimiters', `['<<', '>>'], the one alternative to Handlebars' own {{ }} (which need no option)`, value);
  }
  return ['<<', '>>'];
}

/**
 * Validates the options of {@link registerStatic} and fills in every default, registering nothing.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` naming the bad option.
 * @example
 * normalizeHandlebarsOptions({ origin: 'https://Example.com/' })
 * //=> { helperName: 'static', origin: 'https://example.com', delimiters: undefined }
 */
export function normalizeHandlebarsOptions(options: HandlebarsStaticOptions = {}): HandlebarsStaticRegistration {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalidOption(SCOPE, 'options', 'an object', options, 'options');
  rejectUnknownKeys(options, OPTION_NAMES, 'static-hash/handlebars option');
  const helperName = options.helperName ?? 'static';
  if (typeof helperName !== 'string' || !HELPER_NAME.test(helperName)) invalidOption(SCOPE, 'helperName', 'an identifier such as "static"', helperName);
  return { helperName, origin: normalizeOrigin(options.origin), delimiters: normalizeDelimiters(options.delimiters) };
}

/** ' (views/home.hbs:12:5)' from Handlebars' loc: its source is the `srcName` compile option. */
function describePosition(options: HelperOptions | undefined): string {
  return formatTemplatePosition(handlebarsPosition(options?.loc));
}

function positioned(error: unknown, options: HelperOptions | undefined): unknown {
  return withTemplatePosition(error, handlebarsPosition(options?.loc));
}

// ---------------------------------------------------------------------------------------------------
// The << >> form

/** A literal for Handlebars that prints `text` (braces only): `{{#with "{"}}{{this}}{{/with}}`. */
function literalBlock(text: string): string {
  return `{{#with "${text}"}}{{this}}{{/with}}`;
}

/**
 * Literal template text as Handlebars content that prints exactly that text. Only braces and
 * backslashes need care: `{{` would open a mustache (escaped as `\{{`); a `{` just before a mustache,
 * or a `}` just after one, would merge with its delimiters; backslashes just before `{{` escape it
 * (Handlebars drops one of two, so one more is written).
 */
function emitText(text: string, afterTag: boolean, beforeTag: boolean): string {
  let out = '';
  let index = 0;
  const length = text.length;
  if (afterTag && text.startsWith('}')) {
    while (index < length && text[index] === '}') index++;
    out += literalBlock(text.slice(0, index));
  }
  while (index < length) {
    const brace = text.indexOf('{', index);
    if (brace === -1) {
      out += text.slice(index);
      break;
    }
    out += text.slice(index, brace);
    let end = brace;
    while (end < length && text[end] === '{') end++;
    const run = end - brace;
    const touchesTag = end === length && beforeTag;
    if (run === 1 && !touchesTag) {
      out += '{';
    } else if (!out.endsWith('\\')) {
      out += '\\{{'.repeat(Math.floor(run / 2));
      if (run % 2 === 1) out += touchesTag ? literalBlock('{') : '{';
    } else {
      // After a literal backslash, neither \{{ nor a bare {{ can be written: print the braces (and
      // any } that follow, which would otherwise merge with the block's closing }}) from a literal.
      while (end < length && text[end] === '}') end++;
      out += `\\${literalBlock(text.slice(brace, end))}`;
    }
    index = end;
  }
  if (beforeTag && out.endsWith('\\')) out += '\\';
  return out;
}

/** Replaces comment text with spaces, keeping line breaks so later line numbers stay right. */
function blank(text: string): string {
  return text.replace(/[^\r\n]/g, ' ');
}

/** Finds the end of a << >> mustache starting at `from`, skipping string literals and [segments]. */
function findClose(template: string, from: number, close: string): number {
  let index = from;
  while (index < template.length) {
    const character = template[index]!;
    if (character === '"' || character === "'") {
      index++;
      while (index < template.length && template[index] !== character) index += template[index] === '\\' ? 2 : 1;
      index++;
    } else if (character === '[') {
      const end = template.indexOf(']', index + 1);
      index = end === -1 ? template.length : end + 1;
    } else if (template.startsWith(close, index)) {
      return index;
    } else {
      index++;
    }
  }
  return -1;
}

/** Translates one tag starting at `start` (at its '<<'); returns its Handlebars text and where it ends. */
function translateTag(template: string, start: number): { text: string; end: number } {
  const triple = template.startsWith('<<<', start);
  const open = triple ? 3 : 2;
  let index = start + open;
  if (!triple) {
    const tilde = template[index] === '~' ? '~' : '';
    const bang = index + tilde.length;
    if (template.startsWith('!--', bang)) {
      const closing = /--(~?)>>/g;
      closing.lastIndex = bang + 3;
      const match = closing.exec(template);
      if (match !== null) {
        return {
          text: `{{${tilde}!--${blank(template.slice(bang + 3, match.index))}--${match[1]}}}`,
          end: match.index + match[0].length,
        };
      }
    } else if (template[bang] === '!') {
      const end = template.indexOf('>>', bang + 1);
      if (end !== -1) {
        const closeTilde = template[end - 1] === '~' && end - 1 > bang ? '~' : '';
        return { text: `{{${tilde}!${blank(template.slice(bang + 1, end - closeTilde.length))}${closeTilde}}}`, end: end + 2 };
      }
    }
  }
  const close = triple ? '>>>' : '>>';
  index = findClose(template, index, close);
  if (index === -1) {
    // Unterminated: hand Handlebars the rest as an unterminated mustache, so its parse error points here.
    return { text: `${triple ? '{{{' : '{{'}${template.slice(start + open)}`, end: template.length };
  }
  const inner = template.slice(start + open, index);
  return { text: triple ? `{{{${inner}}}}` : `{{${inner}}}`, end: index + close.length };
}

/**
 * Translates a template written with `<< >>` delimiters into Handlebars' `{{ }}` syntax:
 * `<<static "img.jpg">>`, `<<#each items>>…<</each>>`, `<<else>>`, `<<> partial>>`, `<<! comment >>`,
 * `<<!-- comment -->>`, `<<<raw>>>` (unescaped, like `{{{raw}}}`) and `~` whitespace control.
 * Literal `{{ }}` in the template stay text. `\<<` prints a literal `<<`; `\\<<` prints a backslash
 * followed by a tag (as `\\{{` does in Handlebars). Line numbers are kept, so Handlebars' error
 * positions and `loc` refer to the `<< >>` source; columns may differ on lines holding escapes.
 * Raw blocks (`{{{{raw}}}}`) have no `<< >>` form.
 *
 * @param template - Template text written with `<< >>`.
 * @param delimiters - `['<<', '>>']`, the one supported pair.
 * @returns The same template in Handlebars syntax.
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for a non-string template or other delimiters.
 * @example
 * translateDelimiters('<img src="<<static "a.png">>"> {{ vue }}', ['<<', '>>'])
 * //=> '<img src="{{static "a.png"}}"> \\{{ vue }}'
 */
export function translateDelimiters(template: string, delimiters: readonly [string, string] = ['<<', '>>']): string {
  if (typeof template !== 'string') invalidOption(SCOPE, 'template', 'a string', template, 'translateDelimiters(template): template');
  normalizeDelimiters(delimiters);
  let out = '';
  let text = '';
  let afterTag = false;
  let index = 0;
  while (index < template.length) {
    const open = template.indexOf('<<', index);
    if (open === -1) {
      text += template.slice(index);
      break;
    }
    if (open > index && template[open - 1] === '\\') {
      if (open - 1 > index && template[open - 2] === '\\') {
        text += template.slice(index, open - 1); // '\\<<': one literal backslash, then a tag
      } else {
        text += `${template.slice(index, open - 1)}<<`; // '\<<': a literal '<<'
        index = open + 2;
        continue;
      }
    } else {
      text += template.slice(index, open);
    }
    out += emitText(text, afterTag, true);
    const tag = translateTag(template, open);
    out += tag.text;
    text = '';
    afterTag = true;
    index = tag.end;
  }
  return out + emitText(text, afterTag, false);
}

const TRANSLATING = Symbol.for('static-hash.translatingDelimiters');

interface Wrapped {
  (input: unknown, options?: unknown): unknown;
  [TRANSLATING]?: (input: unknown, options?: unknown) => unknown;
}

/** Makes `instance[method]` translate `<< >>` template strings first; idempotent. */
function translateOnCompile(instance: HandlebarsInstance, method: 'compile' | 'precompile'): void {
  const current = instance[method] as Wrapped;
  const original = current[TRANSLATING] ?? current;
  const wrapped: Wrapped = function translatingCompile(this: unknown, input: unknown, options?: unknown) {
    // An AST (from Handlebars.parse) is passed through: it was parsed already.
    return original.call(this, typeof input === 'string' ? translateDelimiters(input, ['<<', '>>']) : input, options);
  };
  wrapped[TRANSLATING] = original;
  (instance as unknown as Record<string, unknown>)[method] = wrapped;
}

// ---------------------------------------------------------------------------------------------------

/** HTML that Handlebars prints as it is: any copy of Handlebars prints an object's `toHTML()` unescaped, as it does its own SafeString. */
class HtmlString {
  readonly #html: string;
  constructor(html: string) {
    this.#html = html;
  }
  toHTML(): string {
    return this.#html;
  }
  toString(): string {
    return this.#html;
  }
}

/** The `static` helper function, returning its escaped URL through `safe` (a SafeString of the instance, or an {@link HtmlString}). */
function createStaticHelper(hasher: StaticHasher, registration: HandlebarsStaticRegistration, safe: (html: string) => unknown) {
  const { helperName, origin } = registration;
  function absolute(url: string, helperOptions: HelperOptions): string {
    if (url.startsWith('https://') || url.startsWith('http://')) return url;
    if (origin === undefined) {
      throw new StaticHashError(
        'ERR_STATIC_INVALID_OPTION',
        `static-hash: absolute=true needs the "origin" option of registerStatic(), e.g. { origin: 'https://example.com' }${describePosition(helperOptions)}`,
        { option: 'origin', value: undefined },
      );
    }
    return url.startsWith('//') ? `${origin.slice(0, origin.indexOf('//'))}${url}` : `${origin}${url}`;
  }

  return function staticHelper(reference: unknown, helperOptions: HelperOptions) {
    if (arguments.length !== 2) {
      const last = arguments[arguments.length - 1] as HelperOptions;
      const given = arguments.length === 1 ? 'none' : `${arguments.length - 1}`;
      throw new StaticHashError(
        'ERR_STATIC_INVALID_REFERENCE',
        `static-hash: expected one reference, as in {{${helperName} "img/logo.png"}}; got ${given}${describePosition(last)}`,
        { reference: arguments.length === 1 ? undefined : reference },
      );
    }
    const hash = helperOptions.hash;
    // for-in over Handlebars' (usually empty) hash: no array is allocated on the hot path.
    for (const key in hash) {
      if (key === 'absolute') continue;
      try {
        rejectUnknownKeys(hash, HASH_OPTION_NAMES, `${helperName} helper option`);
      } catch (error) {
        throw positioned(error, helperOptions);
      }
    }
    const absoluteOption = hash.absolute;
    if (absoluteOption !== undefined && typeof absoluteOption !== 'boolean') {
      throw positioned(new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: absolute must be true or false; got ${describeValue(absoluteOption)}`, {
        option: 'absolute', value: absoluteOption,
      }), helperOptions);
    }
    let url: string;
    try {
      url = hasher.url(reference as string);
    } catch (error) {
      throw positioned(error, helperOptions);
    }
    if (absoluteOption === true) url = absolute(url, helperOptions);
    return safe(escapeHtml(url));
  };
}

/**
 * Registers the `static` helper on a Handlebars instance (and only there). The helper calls
 * `hasher.url()` at render time, so nothing is baked into compiled or precompiled templates: after
 * `hasher.invalidate()` the same compiled template prints the new URL.
 *
 * The helper returns a `SafeString` holding the URL escaped for HTML by the adapter itself: a URL
 * prints `?a=1&amp;v=…` (escaped once), never `?v&#x3D;…` as Handlebars' own escaping of `=` would.
 * `{{{static "x"}}}` prints the same. Usable as a subexpression (`{{#if (static "x")}}`,
 * `{{static (concat "img/" name)}}`); `absolute=true` puts `origin` in front of the URL.
 * Errors are `StaticHashError`s whose message ends with the position: `(home.hbs:3:12)` when the
 * template was compiled with Handlebars' `srcName` option, `(template line 3, column 12)` otherwise.
 *
 * @param handlebars - The global `Handlebars` or an instance from `Handlebars.create()`.
 * @param hasher - A hasher from `createStaticHasher()`.
 * @param options - Helper name, origin, delimiters.
 * @returns What was registered, with defaults filled in.
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for something that is not a Handlebars
 *   instance, not a hasher, or a bad option.
 * @example
 * const handlebars = Handlebars.create();
 * registerStatic(handlebars, hasher, { origin: 'https://example.com' });
 * handlebars.compile('<img src="{{static "img/logo.png" absolute=true}}">')({});
 * //=> '<img src="https://example.com/static/img/logo.png?v=7e2242e8427d">'
 */
export function registerStatic(target: HandlebarsTarget, hasher: StaticHasher, options: HandlebarsStaticOptions = {}): HandlebarsStaticRegistration {
  const handlebars = handlebarsOf(target);
  if (handlebars === undefined) {
    invalidOption(SCOPE, 'handlebars', 'the Handlebars module, an instance from Handlebars.create(), hbs, or an express-handlebars instance (an object with registerHelper() and SafeString, or one holding it as .handlebars)', target, 'registerStatic(handlebars, hasher): handlebars');
  }
  checkHasher(hasher, SCOPE, 'registerStatic(handlebars, hasher): hasher');
  const registration = normalizeHandlebarsOptions(options);
  const SafeString = handlebars.SafeString;
  handlebars.registerHelper(registration.helperName, createStaticHelper(hasher, registration, (html) => new SafeString(html)));

  if (registration.delimiters !== undefined) {
    if (typeof handlebars.compile !== 'function' || typeof handlebars.precompile !== 'function') {
      const missing = ['compile', 'precompile'].filter((method) => typeof (handlebars as unknown as Record<string, unknown>)[method] !== 'function').join('() and ');
      invalidOption(SCOPE, 'delimiters', `used with an instance that compiles templates, but this one has no ${missing}() (the handlebars/runtime build only runs precompiled templates; translate those with translateDelimiters() before precompiling)`, registration.delimiters);
    }
    translateOnCompile(handlebars, 'compile');
    translateOnCompile(handlebars, 'precompile');
  }
  // {{staticIntegrity "js/app.js"}} for integrity="…" attributes.
  registerIntegrityHelper(handlebars, hasher);
  // {{static_importmap "js/main.js"}}: the import map and modulepreload links of a module graph.
  registerImportMapHelper(handlebars, hasher);
  return registration;
}

/** Options of {@link staticHelpers}: those of {@link registerStatic} that shape the helpers. */
export type StaticHelpersOptions = Pick<HandlebarsStaticOptions, 'helperName' | 'origin'>;

/**
 * The helpers {@link registerStatic} registers, as a plain map for APIs that take one:
 * express-handlebars' `helpers` option, an `hbs.registerHelper` loop, `Handlebars.compile(t)(data, { helpers })`.
 * Keys are the helper names: `static` (or `helperName`), `staticIntegrity` and `static_importmap`. They behave exactly
 * as the registered ones (same escaping, `absolute=true`, errors with the template position) with
 * any copy of Handlebars, since they return HTML through `toHTML()` rather than a SafeString class.
 * The `<< >>` form needs an instance to translate templates: use {@link registerStatic} for it.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for something that is not a hasher or a bad option.
 * @example
 * import { engine } from 'express-handlebars';
 * app.engine('hbs', engine({ extname: '.hbs', helpers: { ...staticHelpers(hasher), other } }));
 */
export function staticHelpers(hasher: StaticHasher, options: StaticHelpersOptions = {}): Record<string, (...args: any[]) => unknown> {
  checkHasher(hasher, SCOPE, 'staticHelpers(hasher): hasher');
  if (typeof options === 'object' && options !== null && 'delimiters' in options) {
    invalidOption(SCOPE, 'delimiters', 'given to registerStatic(instance, hasher, { delimiters }), which translates the instance\'s templates; staticHelpers() only makes helpers', (options as { delimiters: unknown }).delimiters);
  }
  const registration = normalizeHandlebarsOptions(options);
  const safe = (html: string) => new HtmlString(html);
  return {
    [registration.helperName]: createStaticHelper(hasher, registration, safe),
    staticIntegrity: createIntegrityHelper(hasher, safe),
    static_importmap: createImportMapHelper(hasher, safe),
  };
}
