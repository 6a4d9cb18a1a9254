/**
 * `static_livereload` for Nunjucks (`{% static_livereload %}`, `{% static_livereload nonce=csp_nonce %}`)
 * and Handlebars (`{{static_livereload}}`, `{{static_livereload nonce=cspNonce}}`, `<<static_livereload>>`):
 * the live-reload client's `<script>` when a serving adapter was given `liveReload` for the hasher,
 * nothing otherwise, so a production page stays untouched. Registered by both `registerStatic()`s.
 */
import { StaticHashError, type StaticHasher } from '../src/index.js';
import { describeValue, handlebarsPosition, withTemplatePosition } from '../src/internal.js';
import { liveReloadTag } from './serve/live-reload.js';

/** The tag's name in every engine. */
export const LIVE_RELOAD_TAG = 'static_livereload';
const NUNJUCKS_CALLEE = `static-hash:${LIVE_RELOAD_TAG}`;

function render(hasher: StaticHasher, keywords: Record<string, unknown> | undefined): string {
  let nonce: unknown;
  if (keywords !== undefined) {
    for (const key of Object.keys(keywords)) {
      if (key === '__keywords') continue;
      if (key !== 'nonce') throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `${LIVE_RELOAD_TAG}: unknown option "${key}" (known: nonce)`, { option: key, value: keywords[key] });
    }
    nonce = keywords.nonce;
    if (nonce !== undefined && nonce !== null && typeof nonce !== 'string') {
      throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `${LIVE_RELOAD_TAG}: nonce must be a string; got ${describeValue(nonce)}`, { option: 'nonce', value: nonce });
    }
  }
  return liveReloadTag(hasher, nonce);
}

interface Token { type: string; value: string; lineno: number; colno: number }
interface Parser {
  nextToken(): Token;
  peekToken(): Token;
  parseSignature(tolerant: boolean | null, noParens: boolean): object;
  advanceAfterBlockEnd(name: string): void;
}
type NodeClass = new (lineno: number, colno: number, ...fields: unknown[]) => object;

class LiveReloadExtension {
  readonly tags = [LIVE_RELOAD_TAG];

  parse(parser: Parser, nodes: { Output: NodeClass; FunCall: NodeClass; Symbol: NodeClass; NodeList: NodeClass }): object {
    const tag = parser.nextToken();
    const line = tag.lineno + 1;
    const column = tag.colno + 1;
    const args = parser.peekToken().type === 'block-end' ? new nodes.NodeList(line, column) : parser.parseSignature(null, true);
    parser.advanceAfterBlockEnd(tag.value);
    return new nodes.Output(line, column, [new nodes.FunCall(line, column, new nodes.Symbol(line, column, NUNJUCKS_CALLEE), args)]);
  }
}

/** The part of a Nunjucks environment used here. */
export interface NunjucksLiveReloadEnvironment {
  addGlobal(name: string, value: unknown): unknown;
  addExtension(name: string, extension: object): unknown;
  hasExtension(name: string): boolean;
  removeExtension(name: string): unknown;
  getFilter(name: string): (value: string) => unknown;
}

/** Adds `{% static_livereload %}` to a Nunjucks environment (registerStatic() of `static-hash/nunjucks` calls it). */
export function registerLiveReloadTag(env: NunjucksLiveReloadEnvironment, hasher: StaticHasher): void {
  const safe = env.getFilter('safe');
  env.addGlobal(NUNJUCKS_CALLEE, (...args: unknown[]) => {
    const last = args[args.length - 1] as Record<string, unknown> | undefined;
    const keywords = typeof last === 'object' && last !== null && last.__keywords === true ? last : undefined;
    if (args.length > (keywords === undefined ? 0 : 1)) {
      throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `${LIVE_RELOAD_TAG}: takes no arguments, only nonce=…; got ${describeValue(args[0])}`, { option: LIVE_RELOAD_TAG, value: args[0] });
    }
    return safe(render(hasher, keywords));
  });
  if (env.hasExtension(NUNJUCKS_CALLEE)) env.removeExtension(NUNJUCKS_CALLEE);
  env.addExtension(NUNJUCKS_CALLEE, new LiveReloadExtension());
}

interface HelperOptions {
  hash?: Record<string, unknown>;
  loc?: { source?: string; start?: { line: number; column: number } };
}

/** The `static_livereload` Handlebars helper; `safe` wraps the HTML as markup. */
export function createLiveReloadHelper(hasher: StaticHasher, safe: (html: string) => unknown): (...args: any[]) => unknown {
  return (...args: unknown[]) => {
    const options = args.pop() as HelperOptions | undefined;
    try {
      if (args.length > 0) {
        throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `${LIVE_RELOAD_TAG}: takes no arguments, only nonce=…; got ${describeValue(args[0])}`, { option: LIVE_RELOAD_TAG, value: args[0] });
      }
      return safe(render(hasher, options?.hash));
    } catch (error) {
      throw withTemplatePosition(error, handlebarsPosition(options?.loc));
    }
  };
}
