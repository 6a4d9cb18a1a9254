/**
 * The `static_importmap` tag for every template engine: `<script type="importmap">` with the import
 * map of one or more entry modules, then one `<link rel="modulepreload">` per module of their static
 * graphs. Nunjucks `{% static_importmap "js/main.js", integrity=true, nonce=csp_nonce %}`, Handlebars
 * `{{static_importmap "js/main.js" integrity=true nonce=cspNonce}}`, and the Eleventy shortcode share
 * {@link ImportMapTagRenderer}, so they print the same bytes. Each takes the caller's environment or
 * instance and never a global one.
 */
import { StaticHashError, type ImportMap, type StaticHasher } from '../src/index.js';
import { describeValue, escapeHtml, handlebarsPosition, withTemplatePosition } from '../src/internal.js';

/** Options of one `static_importmap` tag. */
export interface ImportMapTagOptions {
  /**
   * Add the import map's `integrity` section and an `integrity` attribute on each modulepreload link.
   * @default false
   */
  integrity?: boolean;
  /** A CSP nonce for the `<script>` and each `<link>`; undefined or `''` leaves the attribute out. */
  nonce?: string;
}

// What could end a <script> element or start one of its escape states ("<!--", "</script", "<script"),
// or break a JavaScript consumer of the text: JSON allows each as a \u escape, with the same value.
const SCRIPT_UNSAFE = /[<>&\u2028\u2029]/g;

/**
 * JSON text that is safe inside an HTML `<script>` element: `<`, `>`, `&`, U+2028 and U+2029 are
 * written as `\u` escapes, so no value can close the element or open a comment in it, and
 * `JSON.parse` gives back the same object.
 *
 * @example
 * scriptJson({ imports: { '</script>': '/x.js' } }) //=> '{"imports":{"\\u003c/script\\u003e":"/x.js"}}'
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(SCRIPT_UNSAFE, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// Distinct entry sets (and integrity choices) whose tag is kept per generation.
const MAX_CACHED_TAGS = 1000;

interface RenderedTag<T> {
  /** The tag without a nonce, as the engine takes markup (its SafeString). */
  plain: T;
  /** The tag split where a nonce attribute goes. */
  parts: string[];
}

/**
 * Renders `static_importmap` tags, each cached per generation and set of entries (and `integrity`),
 * so a page pays one `Map.get` for its tag; a nonce, which changes per response, is put in at render.
 * The cache is dropped whole when the hasher's generation moves, and not used while the hasher
 * bypasses its caches.
 */
export class ImportMapTagRenderer<T = string> {
  readonly #hasher: StaticHasher;
  readonly #wrap: (html: string) => T;
  // Kept with the hasher's public `generation` and `bypass` rather than a GenerationCache on its clock:
  // the adapters accept a hasher from another copy of the core (CommonJS core, ESM adapter), whose
  // private clock this copy cannot reach. The rules are the same: read first, store only if current.
  #generation = -1;
  #tags = new Map<string, RenderedTag<T>>();

  /** `wrap` turns the HTML into what the engine prints as it is (its SafeString); it is cached with the HTML. */
  constructor(hasher: StaticHasher, wrap: (html: string) => T = (html) => html as T) {
    this.#hasher = hasher;
    this.#wrap = wrap;
  }

  /**
   * The tag's HTML for `entries` (references of entry modules).
   *
   * @throws {StaticHashError} `ERR_STATIC_INVALID_REFERENCE` without entries, `ERR_STATIC_INVALID_OPTION`
   *   for a bad option, and what {@link StaticHasher.importMap} throws.
   */
  render(entries: readonly unknown[], integrity: unknown, nonce: unknown): T {
    // One array argument is the list of entries: {% static_importmap page.modules %}.
    if (entries.length === 1 && Array.isArray(entries[0])) entries = entries[0] as unknown[];
    if (integrity !== undefined && typeof integrity !== 'boolean') {
      throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static_importmap: integrity must be true or false; got ${describeValue(integrity)}`, {
        option: 'integrity', value: integrity,
      });
    }
    if (nonce !== undefined && nonce !== null && typeof nonce !== 'string') {
      throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static_importmap: nonce must be a string; got ${describeValue(nonce)}`, {
        option: 'nonce', value: nonce,
      });
    }
    const key = entries.length === 1 && typeof entries[0] === 'string' ? (integrity === true ? `${entries[0]}\0i` : entries[0])
      : `${entries.map(String).join('\0')}\0${integrity === true ? 'i' : ''}\0${entries.length}`;
    const hasher = this.#hasher;
    // Read first, as every cache here does: a tag built while files change is kept under the
    // generation current before the change, never a later one.
    const generation = hasher.generation;
    let tag = !hasher.bypass && generation === this.#generation ? this.#tags.get(key) : undefined;
    if (tag === undefined) {
      tag = this.#build(entries, integrity === true);
      if (!hasher.bypass && hasher.generation === generation) {
        if (this.#generation !== generation) {
          this.#generation = generation;
          this.#tags = new Map();
        }
        // A site has a few entry sets; a template building entries from request data must not grow this without bound.
        if (this.#tags.size >= MAX_CACHED_TAGS) this.#tags.clear();
        this.#tags.set(key, tag);
      }
    }
    if (nonce === undefined || nonce === null || nonce === '') return tag.plain;
    return this.#wrap(tag.parts.join(` nonce="${escapeHtml(nonce as string)}"`));
  }

  #build(entries: readonly unknown[], integrity: boolean): RenderedTag<T> {
    if (entries.length === 0) {
      throw new StaticHashError('ERR_STATIC_INVALID_REFERENCE', 'static_importmap: expected one or more entry modules, as in static_importmap "js/main.js"', {
        reference: undefined,
      });
    }
    for (const entry of entries) {
      if (typeof entry !== 'string' || entry === '') {
        throw new StaticHashError('ERR_STATIC_INVALID_REFERENCE', `static_importmap: expected entry modules such as "js/main.js"; got ${describeValue(entry)}`, {
          reference: entry,
        });
      }
    }
    const hasher = this.#hasher;
    const references = entries as readonly string[];
    const map: ImportMap = hasher.importMap(references, { integrity });
    // Each entry's static graph, entries first: what the browser would otherwise discover one round trip at a time.
    const seen = new Set<string>();
    const parts: string[] = [];
    let current = '<script type="importmap"';
    const breakForNonce = (): void => {
      parts.push(current);
      current = '';
    };
    breakForNonce();
    current += `>${scriptJson(map)}</script>`;
    for (const entry of references) {
      for (const module of hasher.moduleGraph(entry).modules) {
        if (!module.static || module.type !== undefined || seen.has(module.url)) continue;
        seen.add(module.url);
        current += `\n<link rel="modulepreload" href="${escapeHtml(module.url)}"`;
        if (integrity) {
          const value = map.integrity?.[module.url] ?? hasher.integrity(module.path);
          if (value !== undefined) current += ` integrity="${escapeHtml(value)}"`;
        }
        breakForNonce();
        current += '>';
      }
    }
    parts.push(current);
    return { plain: this.#wrap(parts.join('')), parts };
  }
}

// ---------------------------------------------------------------------------------------------------
// Nunjucks

/** The part of a Nunjucks `Environment` used here. */
export interface NunjucksImportMapEnvironment {
  addExtension(name: string, extension: unknown): unknown;
  hasExtension(name: string): boolean;
  removeExtension(name: string): unknown;
  addGlobal(name: string, value: unknown): unknown;
  getFilter(name: string): (value: string) => unknown;
}

interface Token { type: string; value: string; lineno: number; colno: number }
interface Parser {
  nextToken(): Token;
  peekToken(): Token;
  parseSignature(tolerant: boolean | null, noParens: boolean): { children: unknown[] };
  advanceAfterBlockEnd(name: string): void;
  fail(message: string, lineno?: number, colno?: number): never;
}
type NodeClass = new (lineno: number, colno: number, ...fields: unknown[]) => object;

/** The tag's name in every engine. */
export const IMPORT_MAP_TAG = 'static_importmap';
const NUNJUCKS_CALLEE = `static-hash:${IMPORT_MAP_TAG}`;

/**
 * `{% static_importmap "js/main.js", "js/admin.js", integrity=true, nonce=csp_nonce %}`: compiled, like
 * `{% static %}`, to a call of a hidden global, so Nunjucks records the tag's line and column for errors
 * and precompiled templates need only the global.
 */
class ImportMapExtension {
  readonly tags = [IMPORT_MAP_TAG];

  parse(parser: Parser, nodes: { Output: NodeClass; FunCall: NodeClass; Symbol: NodeClass }): object {
    const tag = parser.nextToken();
    if (parser.peekToken().type === 'block-end') {
      parser.fail(`${tag.value}: expected an entry module, as in {% ${tag.value} "js/main.js" %}`, tag.lineno, tag.colno);
    }
    const args = parser.parseSignature(null, true);
    parser.advanceAfterBlockEnd(tag.value);
    const line = tag.lineno + 1;
    const column = tag.colno + 1;
    return new nodes.Output(line, column, [new nodes.FunCall(line, column, new nodes.Symbol(line, column, NUNJUCKS_CALLEE), args)]);
  }
}

/** Splits Nunjucks' call arguments into entries and its keyword-argument object (marked `__keywords`). */
const NO_KEYWORDS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

function splitKeywords(args: unknown[]): { entries: unknown[]; keywords: Record<string, unknown> } {
  const last = args[args.length - 1] as Record<string, unknown> | undefined;
  if (typeof last === 'object' && last !== null && last.__keywords === true) return { entries: args.slice(0, -1), keywords: last };
  return { entries: args, keywords: NO_KEYWORDS };
}

function checkKeywords(keywords: Record<string, unknown>, where: string): void {
  if (keywords === NO_KEYWORDS) return;
  for (const key of Object.keys(keywords)) {
    if (key === '__keywords' || key === 'integrity' || key === 'nonce') continue;
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `${where}: unknown option "${key}" (known: integrity, nonce)`, { option: key, value: keywords[key] });
  }
}

/**
 * Adds the `{% static_importmap %}` tag to a Nunjucks environment (registerStatic() of
 * `static-hash/nunjucks` calls it). The tag prints markup, so it is marked safe: every value in it
 * is escaped here (JSON for a script element, attributes for HTML).
 *
 * @example
 * registerImportMapTag(env, hasher);
 * env.renderString('{% static_importmap "js/main.js" %}', {});
 * //=> '<script type="importmap">{"imports":{…}}</script>\n<link rel="modulepreload" href="/static/js/main.js?v=…">…'
 */
export function registerImportMapTag(env: NunjucksImportMapEnvironment, hasher: StaticHasher): void {
  if (typeof env?.getFilter !== 'function') {
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', 'static-hash/nunjucks: registerImportMapTag(env) expects a nunjucks Environment', { option: 'env', value: env });
  }
  // The environment's own "safe" filter makes its own SafeString: this module never imports nunjucks.
  // Cached with the HTML, so the steady state allocates nothing.
  const renderer = new ImportMapTagRenderer(hasher, env.getFilter('safe'));
  env.addGlobal(NUNJUCKS_CALLEE, (...args: unknown[]) => {
    const last = args[args.length - 1] as { __keywords?: unknown } | undefined;
    // The common tag has no keyword arguments: straight to the cache.
    if (typeof last !== 'object' || last === null || last.__keywords !== true) return renderer.render(args, undefined, undefined);
    const { entries, keywords } = splitKeywords(args);
    checkKeywords(keywords, IMPORT_MAP_TAG);
    return renderer.render(entries, keywords.integrity, keywords.nonce);
  });
  if (env.hasExtension(NUNJUCKS_CALLEE)) env.removeExtension(NUNJUCKS_CALLEE);
  env.addExtension(NUNJUCKS_CALLEE, new ImportMapExtension());
}

// ---------------------------------------------------------------------------------------------------
// Handlebars

/** The part of a Handlebars instance used here. */
export interface HandlebarsImportMapInstance {
  registerHelper(name: string, helper: (...args: any[]) => unknown): void;
  SafeString: new (value: string) => unknown;
}

interface HelperOptions {
  hash?: Record<string, unknown>;
  loc?: { source?: string; start?: { line: number; column: number } };
}

/**
 * Registers `{{static_importmap "js/main.js" integrity=true nonce=cspNonce}}` (also
 * `<<static_importmap "js/main.js">>` with the `<< >>` delimiters) on a Handlebars instance;
 * registerStatic() of `static-hash/handlebars` calls it. Returns the instance's SafeString.
 * Errors end with the template position, as the `static` helper's do.
 */
export function registerImportMapHelper(handlebars: HandlebarsImportMapInstance, hasher: StaticHasher): void {
  const SafeString = handlebars.SafeString;
  handlebars.registerHelper(IMPORT_MAP_TAG, createImportMapHelper(hasher, (html) => new SafeString(html)));
}

/**
 * The `static_importmap` Handlebars helper as a function, for helper maps (`staticHelpers()` of
 * `static-hash/handlebars`, express-handlebars' `helpers`): `safe` wraps the HTML as markup.
 */
export function createImportMapHelper(hasher: StaticHasher, safe: (html: string) => unknown): (...args: any[]) => unknown {
  const renderer = new ImportMapTagRenderer(hasher, safe);
  return (...args: unknown[]) => {
    const options = args.pop() as HelperOptions | undefined;
    const hash = options?.hash ?? {};
    try {
      checkKeywords(hash, IMPORT_MAP_TAG);
      return renderer.render(args, hash.integrity, hash.nonce);
    } catch (error) {
      throw withTemplatePosition(error, handlebarsPosition(options?.loc));
    }
  };
}

/** Splits the keyword arguments off a shortcode's arguments: Nunjucks' `__keywords` object or Handlebars' options hash. */
export function importMapArguments(args: unknown[]): { entries: unknown[]; integrity: unknown; nonce: unknown } {
  const { entries, keywords } = splitKeywords(args);
  checkKeywords(keywords, IMPORT_MAP_TAG);
  return { entries, integrity: keywords.integrity, nonce: keywords.nonce };
}
