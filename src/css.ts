import fs from 'node:fs';
import { LRUCache } from 'lru-cache';
import { digestBytes, digestFile } from './digest.js';
import { StaticHashError, describeValue } from './errors.js';
import type { CssIgnorePattern, NormalizedOptions } from './options.js';
import { firstCandidate, parseReference, resolveFile, splitReference } from './resolve.js';
import { formatUrl, encodePath } from './url.js';

// ---------------------------------------------------------------------------------------------
// Tokenizer: the parts of CSS Syntax Level 3 §4 (https://www.w3.org/TR/css-syntax-3/#tokenization)
// needed to find references. Every token kind that can swallow a "url(" or an "@import" is consumed
// exactly as the spec does (comments, strings, url tokens, functions, at-keywords, hash tokens,
// numbers and dimensions, escapes), so "url(" inside a comment, a string, `#url(x)` or `10url(x)`
// is never mistaken for a reference. Other tokens are skipped one code unit at a time.
// ---------------------------------------------------------------------------------------------

/** A reference found in a stylesheet. */
export interface CssReference {
  /** The URL as written, CSS escapes resolved (`u\72l(a\ b.png)` gives `a b.png`). */
  url: string;
  /** Where it was found: `url(…)` (quoted or not), the string of an `@import`, a string in `image-set()`, or a `sourceMappingURL` comment. */
  kind: 'url' | 'import' | 'image-set' | 'source-map';
  /** Offset of the URL's first character in the text (inside the quotes of a string). */
  start: number;
  /** Offset just past the URL's last character. */
  end: number;
  /** How the URL is delimited, which decides how a replacement is escaped. */
  quote: '"' | "'" | 'unquoted' | 'comment';
}

const BACKSLASH = 0x5c;
const HYPHEN = 0x2d;
const PERIOD = 0x2e;
const PLUS = 0x2b;
const LEFT_PAREN = 0x28;
const RIGHT_PAREN = 0x29;
const DOUBLE_QUOTE = 0x22;
const QUOTE = 0x27;
const REPLACEMENT = 0xfffd;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}
function isNewline(c: number): boolean {
  return c === 0x0a || c === 0x0c || c === 0x0d;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
}
function isNameCodePoint(c: number): boolean {
  return isNameStart(c) || isDigit(c) || c === HYPHEN;
}
function isNonPrintable(c: number): boolean {
  return c <= 0x08 || c === 0x0b || (c >= 0x0e && c <= 0x1f) || c === 0x7f;
}
// charCodeAt past the end is NaN, for which every predicate above is false: that is EOF.

const SOURCE_MAP_COMMENT = /^([#@][ \t]*sourceMappingURL=)(\S+)\s*$/;

/**
 * Scans CSS text for references. With `binary`, `text` holds one character per byte (a 'latin1'
 * decoding of the file): the structure of CSS is ASCII, so tokenizing the bytes finds exactly what
 * tokenizing the UTF-8 text would, and the bytes around the references stay exactly as they were
 * (a BOM, a legacy @charset encoding, invalid UTF-8). URLs are then decoded from UTF-8.
 */
class Scanner {
  readonly #text: string;
  readonly #length: number;
  readonly #binary: boolean;
  // Set by #consumeName and #consumeEscape: the value they decoded.
  #value = '';

  constructor(text: string, binary: boolean) {
    this.#text = text;
    this.#length = text.length;
    this.#binary = binary;
  }

  scan(): CssReference[] {
    const text = this.#text;
    const length = this.#length;
    const found: CssReference[] = [];
    // Names of the open functions ('' for a plain parenthesis): a string is a URL only directly in
    // url(…) or image-set(…).
    const functions: string[] = [];
    let importPending = false;
    let i = 0;
    while (i < length) {
      const c = text.charCodeAt(i);
      if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
        const close = text.indexOf('*/', i + 2);
        const end = close === -1 ? length : close + 2;
        const marker = text.charCodeAt(i + 2);
        if ((marker === 0x23 || marker === 0x40) && close !== -1) {
          const match = SOURCE_MAP_COMMENT.exec(text.slice(i + 2, close));
          if (match) {
            const start = i + 2 + match[1]!.length;
            found.push({ url: this.#decode(match[2]!), kind: 'source-map', start, end: start + match[2]!.length, quote: 'comment' });
          }
        }
        i = end;
        continue;
      }
      if (isWhitespace(c)) {
        i++;
        continue;
      }
      // Every other token ends a pending @import prelude's chance to have its URL next.
      const inImport = importPending;
      importPending = false;
      if (c === DOUBLE_QUOTE || c === QUOTE) {
        i = this.#consumeString(i, c, found, inImport ? 'import' : functions.at(-1));
      } else if (c === 0x23) {
        // A hash token (#id, #url): its name is not an ident, so '#url(x)' is no url().
        i = isNameCodePoint(text.charCodeAt(i + 1)) || this.#validEscape(i + 1) ? this.#consumeName(i + 1) : i + 1;
      } else if (c === LEFT_PAREN) {
        functions.push('');
        i++;
      } else if (c === RIGHT_PAREN) {
        functions.pop();
        i++;
      } else if (c === PLUS || c === PERIOD) {
        i = this.#startsNumber(i) ? this.#consumeNumeric(i) : i + 1;
      } else if (c === HYPHEN) {
        if (this.#startsNumber(i)) i = this.#consumeNumeric(i);
        else if (text.startsWith('-->', i)) i += 3;
        else if (this.#startsIdent(i)) i = this.#consumeIdentLike(i, found, functions);
        else i++;
      } else if (c === 0x40) {
        if (this.#startsIdent(i + 1)) {
          i = this.#consumeName(i + 1);
          importPending = asciiLower(this.#value) === 'import';
        } else {
          i++;
        }
      } else if (c === BACKSLASH) {
        i = this.#validEscape(i) ? this.#consumeIdentLike(i, found, functions) : i + 1;
      } else if (isDigit(c)) {
        i = this.#consumeNumeric(i);
      } else if (isNameStart(c)) {
        i = this.#consumeIdentLike(i, found, functions);
      } else {
        i++;
      }
    }
    return found;
  }

  #validEscape(i: number): boolean {
    return this.#text.charCodeAt(i) === BACKSLASH && !isNewline(this.#text.charCodeAt(i + 1));
  }

  #startsIdent(i: number): boolean {
    const c = this.#text.charCodeAt(i);
    if (c === HYPHEN) {
      const next = this.#text.charCodeAt(i + 1);
      return isNameStart(next) || next === HYPHEN || this.#validEscape(i + 1);
    }
    return isNameStart(c) || this.#validEscape(i);
  }

  #startsNumber(i: number): boolean {
    const text = this.#text;
    let c = text.charCodeAt(i);
    if (c === PLUS || c === HYPHEN) c = text.charCodeAt(++i);
    if (isDigit(c)) return true;
    return c === PERIOD && isDigit(text.charCodeAt(i + 1));
  }

  /** A number, then a unit (dimension) or '%': '10url(x)' is the dimension '10url', not a url(). */
  #consumeNumeric(i: number): number {
    const text = this.#text;
    let c = text.charCodeAt(i);
    if (c === PLUS || c === HYPHEN) i++;
    while (isDigit(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === PERIOD && isDigit(text.charCodeAt(i + 1))) {
      i += 2;
      while (isDigit(text.charCodeAt(i))) i++;
    }
    c = text.charCodeAt(i);
    if (c === 0x45 || c === 0x65) {
      const next = text.charCodeAt(i + 1);
      if (isDigit(next)) i += 1;
      else if ((next === PLUS || next === HYPHEN) && isDigit(text.charCodeAt(i + 2))) i += 2;
      else return this.#startsIdent(i) ? this.#consumeName(i) : i;
      while (isDigit(text.charCodeAt(i))) i++;
    }
    if (this.#startsIdent(i)) return this.#consumeName(i);
    return text.charCodeAt(i) === 0x25 ? i + 1 : i;
  }

  /** Consumes the escape after a backslash at `i - 1`; leaves the code point in #value. */
  #consumeEscape(i: number): number {
    const text = this.#text;
    const c = text.charCodeAt(i);
    if (i >= this.#length) {
      this.#value = this.#codePoint(REPLACEMENT);
      return i;
    }
    if (isHexDigit(c)) {
      let end = i + 1;
      while (end < i + 6 && isHexDigit(text.charCodeAt(end))) end++;
      let codePoint = Number.parseInt(text.slice(i, end), 16);
      if (codePoint === 0 || (codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint > 0x10ffff) codePoint = REPLACEMENT;
      this.#value = this.#codePoint(codePoint);
      // One whitespace after a hex escape belongs to it; CR LF counts as one.
      if (text.charCodeAt(end) === 0x0d && text.charCodeAt(end + 1) === 0x0a) return end + 2;
      return isWhitespace(text.charCodeAt(end)) ? end + 1 : end;
    }
    this.#value = text[i]!;
    return i + 1;
  }

  /** A code point as it appears in the scanned text: its UTF-8 bytes in binary mode. */
  #codePoint(codePoint: number): string {
    const character = String.fromCodePoint(codePoint);
    return this.#binary && codePoint >= 0x80 ? Buffer.from(character, 'utf8').toString('latin1') : character;
  }

  /** Consumes a name (identifier characters and escapes) from `i`; leaves it, unescaped, in #value. */
  #consumeName(i: number): number {
    const text = this.#text;
    let value = '';
    let run = i;
    for (;;) {
      const c = text.charCodeAt(i);
      if (isNameCodePoint(c)) {
        i++;
      } else if (this.#validEscape(i)) {
        value += text.slice(run, i);
        i = this.#consumeEscape(i + 1);
        value += this.#value;
        run = i;
      } else {
        break;
      }
    }
    this.#value = value + text.slice(run, i);
    return i;
  }

  #consumeIdentLike(i: number, found: CssReference[], functions: string[]): number {
    const text = this.#text;
    i = this.#consumeName(i);
    if (text.charCodeAt(i) !== LEFT_PAREN) return i;
    // Only url, image-set and -webkit-image-set matter: skip lower-casing longer names.
    const name = this.#value.length <= 17 ? asciiLower(this.#value) : '';
    i++;
    if (name === 'url') {
      let next = i;
      while (isWhitespace(text.charCodeAt(next))) next++;
      const c = text.charCodeAt(next);
      // url("…") is a function whose string argument is the URL; url(…) unquoted is one url token.
      if (c !== DOUBLE_QUOTE && c !== QUOTE) return this.#consumeUrl(next, found);
    }
    functions.push(name);
    return i;
  }

  /** An unquoted url token from just after 'url(' and its whitespace. A bad url is skipped, not reported. */
  #consumeUrl(i: number, found: CssReference[]): number {
    const text = this.#text;
    const length = this.#length;
    const start = i;
    let value = '';
    let run = i;
    for (;;) {
      if (i >= length) break;
      const c = text.charCodeAt(i);
      if (c === RIGHT_PAREN) break;
      if (isWhitespace(c)) {
        let after = i;
        while (isWhitespace(text.charCodeAt(after))) after++;
        if (after >= length || text.charCodeAt(after) === RIGHT_PAREN) {
          this.#pushUrl(found, value + text.slice(run, i), start, i);
          return Math.min(after + 1, length);
        }
        return this.#consumeBadUrl(after);
      }
      if (c === DOUBLE_QUOTE || c === QUOTE || c === LEFT_PAREN || isNonPrintable(c)) return this.#consumeBadUrl(i);
      if (c === BACKSLASH) {
        if (!this.#validEscape(i)) return this.#consumeBadUrl(i);
        value += text.slice(run, i);
        i = this.#consumeEscape(i + 1);
        value += this.#value;
        run = i;
        continue;
      }
      i++;
    }
    this.#pushUrl(found, value + text.slice(run, i), start, i);
    return Math.min(i + 1, length);
  }

  #pushUrl(found: CssReference[], value: string, start: number, end: number): void {
    found.push({ url: this.#decode(value), kind: 'url', start, end, quote: 'unquoted' });
  }

  #consumeBadUrl(i: number): number {
    const text = this.#text;
    while (i < this.#length) {
      const c = text.charCodeAt(i);
      if (c === RIGHT_PAREN) return i + 1;
      i = this.#validEscape(i) ? this.#consumeEscape(i + 1) : i + 1;
    }
    return i;
  }

  /** A string token; reported when it is an @import's URL or directly inside url() or image-set(). */
  #consumeString(i: number, quote: number, found: CssReference[], context: string | undefined): number {
    const text = this.#text;
    const length = this.#length;
    const start = i + 1;
    let value = '';
    let run = start;
    i = start;
    for (;;) {
      if (i >= length) break;
      const c = text.charCodeAt(i);
      if (c === quote) break;
      // A raw newline ends a bad string: browsers drop it, so do we.
      if (isNewline(c)) return i;
      if (c === BACKSLASH) {
        value += text.slice(run, i);
        const next = text.charCodeAt(i + 1);
        if (i + 1 >= length) {
          i++;
        } else if (isNewline(next)) {
          i += next === 0x0d && text.charCodeAt(i + 2) === 0x0a ? 3 : 2;
        } else {
          i = this.#consumeEscape(i + 1);
          value += this.#value;
        }
        run = i;
        continue;
      }
      i++;
    }
    const kind = context === 'import' ? 'import' : context === 'url' ? 'url'
      : context === 'image-set' || context === '-webkit-image-set' ? 'image-set' : undefined;
    if (kind !== undefined) {
      found.push({ url: this.#decode(value + text.slice(run, i)), kind, start, end: i, quote: quote === DOUBLE_QUOTE ? '"' : "'" });
    }
    return Math.min(i + 1, length);
  }

  #decode(value: string): string {
    // eslint-disable-next-line no-control-regex
    return this.#binary && /[^\u0000-\u007f]/.test(value) ? Buffer.from(value, 'latin1').toString('utf8') : value;
  }
}

/** ASCII-only lower case: CSS matches keywords ASCII case-insensitively ('İMPORT' is not 'import'). */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/**
 * Finds every reference in CSS text: unquoted and quoted `url(…)`, `@import "…"`, strings in
 * `image-set()`, and `sourceMappingURL` comments. Comments, other strings and tokens that merely
 * contain "url(" are skipped, as a browser's tokenizer would.
 *
 * @example
 * scanStylesheet('a { background: URL( "img/a.png" ); content: "url(b.png)" }')
 * //=> [{ url: 'img/a.png', kind: 'url', start: 22, end: 31, quote: '"' }]
 */
export function scanStylesheet(text: string): CssReference[] {
  if (typeof text !== 'string') {
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: scanStylesheet() takes the stylesheet's text; got ${describeValue(text)}`, {
      option: 'text', value: text,
    });
  }
  return new Scanner(text, false).scan();
}

// ---------------------------------------------------------------------------------------------
// Resolving a reference written in a stylesheet to a canonical path under the roots.
// ---------------------------------------------------------------------------------------------

/** What a reference written in a stylesheet points at. */
export type CssTarget =
  /** Not a file of ours by construction (a scheme, `//host`, `#id`, empty): left as written, silently. */
  | { kind: 'external' }
  /** Relative or root-relative but outside the static URL space, or not a usable path: left as written, with a warning. */
  | { kind: 'outside'; reason: string }
  /** A canonical path under the roots, with the query and fragment written after it. */
  | { kind: 'file'; path: string; query: string | undefined; fragment: string | undefined };

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
// The URL parser strips leading and trailing C0 controls and spaces before anything else.
// eslint-disable-next-line no-control-regex
const EDGE_SPACE = /^[\u0000-\u0020]+|[\u0000-\u0020]+$/g;

/** The path part of a base URL: '/static/' for '/static/' and for 'https://cdn.example.com/static/'. */
export function baseUrlPath(baseUrl: string): string {
  const match = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/[^/]*(\/.*)?$/.exec(baseUrl);
  if (!match) return baseUrl;
  return match[1] ?? '/';
}

/**
 * Resolves a URL written in the stylesheet at canonical path `stylesheet` the way a browser would,
 * given that the stylesheet is served at `<baseUrl><stylesheet>`: relative URLs against the
 * stylesheet's directory, root-relative ones only if they start with the base URL's path `basePath`.
 * Percent-escapes are decoded per segment (`my%20file.png` names `my file.png`), `.`/`..` segments
 * are applied, `\` counts as `/` as in browsers.
 *
 * @example
 * resolveCssReference('../img/a.png?x#y', 'css/site.css', '/static/')
 * //=> { kind: 'file', path: 'img/a.png', query: 'x', fragment: 'y' }
 */
export function resolveCssReference(url: string, stylesheet: string, basePath: string): CssTarget {
  return resolveFrom(url, stylesheet.split('/').slice(0, -1), basePath);
}

/** {@link resolveCssReference} with the stylesheet's directory already split into segments. */
function resolveFrom(url: string, directory: readonly string[], basePath: string): CssTarget {
  let trimmed = url;
  if (trimmed.charCodeAt(0) <= 0x20 || trimmed.charCodeAt(trimmed.length - 1) <= 0x20) trimmed = trimmed.replace(EDGE_SPACE, '');
  if (trimmed.includes('\\')) trimmed = trimmed.replace(/\\/g, '/');
  if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('//') || SCHEME.test(trimmed)) return { kind: 'external' };
  const { path: written, query, fragment } = splitReference(trimmed);
  let rest = written;
  let segments: string[];
  if (rest.startsWith('/')) {
    if (!rest.startsWith(basePath)) return { kind: 'outside', reason: `it is root-relative but not under the base URL path "${basePath}"` };
    segments = [];
    rest = rest.slice(basePath.length);
  } else {
    segments = directory.slice();
  }
  for (const raw of rest.split('/')) {
    let segment = raw;
    if (raw.includes('%')) {
      try {
        segment = decodeURIComponent(raw);
      } catch {
        return { kind: 'outside', reason: 'it has a malformed percent-escape' };
      }
      if (/[/\\\0]/.test(segment)) return { kind: 'outside', reason: 'a percent-escape encodes "/", "\\" or NUL' };
    }
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) return { kind: 'outside', reason: '".." leaves the static roots' };
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  if (segments.length === 0) return { kind: 'outside', reason: 'it names a directory, not a file' };
  return { kind: 'file', path: segments.join('/'), query, fragment };
}

/** Whether a canonical path is a stylesheet whose references are rewritten (a `.css` name, any case). */
export function isStylesheet(canonical: string): boolean {
  return canonical.length > 4 && canonical.charCodeAt(canonical.length - 4) === PERIOD && canonical.slice(-3).toLowerCase() === 'css';
}

/** Whether a reference matches one of the `cssIgnore` patterns. */
function isIgnored(patterns: readonly CssIgnorePattern[], url: string, canonical: string | undefined, stylesheet: string): boolean {
  for (const pattern of patterns) {
    if (typeof pattern === 'function') {
      if (pattern(url, stylesheet)) return true;
    } else if (typeof pattern === 'string') {
      if (url.startsWith(pattern) || (canonical !== undefined && canonical.startsWith(pattern))) return true;
    } else {
      // A /g or /y RegExp keeps state between test() calls; start each test from the beginning.
      pattern.lastIndex = 0;
      if (pattern.test(url)) return true;
      pattern.lastIndex = 0;
      if (canonical !== undefined && pattern.test(canonical)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Rewriting.
// ---------------------------------------------------------------------------------------------

/** Escapes a URL for where it is written, so no character of it can end the token early. */
function escapeUrl(url: string, quote: CssReference['quote']): string {
  if (quote === 'comment') return url.replaceAll('*/', '*%2F');
  if (quote === 'unquoted') {
    // eslint-disable-next-line no-control-regex
    return url.replace(/[\\()"'\u0000-\u0020\u007f]/g, (c) => (c.charCodeAt(0) <= 0x20 || c === '\u007f' ? `\\${c.charCodeAt(0).toString(16)} ` : `\\${c}`));
  }
  return url.replace(/[\\\n\r\f"']/g, (c) => {
    if (c === '\\' || c === quote) return `\\${c}`;
    if (c === '"' || c === "'") return c;
    return `\\${c.charCodeAt(0).toString(16)} `;
  });
}

/** Replaces each reference whose replacement is defined; returns `text` itself when none is. */
function applyReplacements(text: string, references: readonly CssReference[], replacements: ReadonlyArray<string | undefined>): string {
  let out = '';
  let last = 0;
  for (let index = 0; index < references.length; index++) {
    const replacement = replacements[index];
    if (replacement === undefined) continue;
    const reference = references[index]!;
    out += text.slice(last, reference.start) + escapeUrl(replacement, reference.quote);
    last = reference.end;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** Options of {@link rewriteStylesheet}. */
export interface RewriteStylesheetOptions {
  /**
   * The base URL the stylesheet is served under: root-relative references starting with its path
   * resolve from the roots, other root-relative ones are left alone.
   * @default '/static/'
   */
  baseUrl?: string;
  /**
   * References to leave as written: a RegExp or string prefix tested against the reference as written
   * and against its resolved path, or a function `(reference, stylesheet) => boolean`.
   * @default []
   */
  ignore?: readonly CssIgnorePattern[];
}

/**
 * Rewrites the references of one stylesheet. `urlFor` receives each relative or root-relative
 * reference resolved to a canonical path (see {@link resolveCssReference}) and returns the URL to
 * write instead, or undefined to leave it as written. Absolute URLs, `//host`, `data:`, `#id`, empty
 * `url()` and ignored references are never passed to it. Quoting is kept and the replacement escaped
 * for it. This is the pure text step; the hasher adds hashing, cycles and caching around it.
 *
 * @example
 * rewriteStylesheet('a { background: url(../img/a.png) }', 'css/site.css', (target) => `/static/${target.path}?v=1`)
 * //=> 'a { background: url(/static/img/a.png?v=1) }'
 */
export function rewriteStylesheet(
  text: string,
  stylesheet: string,
  urlFor: (target: Extract<CssTarget, { kind: 'file' }>, reference: CssReference) => string | undefined,
  options: RewriteStylesheetOptions = {},
): string {
  if (typeof stylesheet !== 'string' || typeof urlFor !== 'function') {
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', 'static-hash: rewriteStylesheet(text, stylesheet, urlFor) takes a string path and a function', {
      option: typeof stylesheet !== 'string' ? 'stylesheet' : 'urlFor', value: typeof stylesheet !== 'string' ? stylesheet : urlFor,
    });
  }
  const references = scanStylesheet(text);
  const basePath = baseUrlPath(options.baseUrl ?? '/static/');
  const ignore = options.ignore ?? [];
  const replacements = references.map((reference) => {
    const target = resolveCssReference(reference.url, stylesheet, basePath);
    if (target.kind !== 'file' || isIgnored(ignore, reference.url, target.path, stylesheet)) return undefined;
    return urlFor(target, reference);
  });
  return applyReplacements(text, references, replacements);
}

// ---------------------------------------------------------------------------------------------
// Hashing stylesheets: dependencies first, cycles as one unit, results cached per generation.
// ---------------------------------------------------------------------------------------------

/**
 * Above this size a stylesheet is hashed and served as it is, not rewritten: rewriting holds the
 * whole text in memory, and no hand-written stylesheet is this large.
 */
export const MAX_REWRITE_BYTES = 16 * 1024 * 1024;

/** Total bytes of rewritten stylesheets kept for `read()`; least recently used go first. */
export const REWRITTEN_CACHE_BYTES = 32 * 1024 * 1024;

// What a cycle's members are rewritten with while the cycle's own hash is computed: any fixed
// string does, since the hash is then put in its place everywhere.
const CYCLE_PLACEHOLDER = '';

// May a text contain a reference at all? Every reference needs "url" (url(, sourceMappingURL),
// "import", "image-set", or a backslash escape spelling one of them. Skips tokenizing most files
// with no references in one native scan.
const MAY_REFERENCE = /url|import|image-set|\\/i;

/** What the hasher lends the stylesheet rewriter. */
export interface StylesheetHost {
  /** The hash of a file that is not a stylesheet, through the hasher's cache; undefined when missing. May throw StaticHashError. */
  hashAsset(canonical: string, generation: number): string | undefined;
  /** Whether results computed under `generation` may be cached (it is current and caching is on). */
  cacheable(generation: number): boolean;
}

interface CachedSheet {
  /** 16 hex characters; URLs carry its first `hashLength`. */
  hash: string;
  /** Part of a cycle: such an entry never cuts a later exploration short (see #neighbour). */
  cyclic: boolean;
}

/** A referenced stylesheet's hash, or why it has none (the warning to give for each reference to it). */
type SheetOutcome = { hash: string } | { failure: string };

type FileTarget = Extract<CssTarget, { kind: 'file' }>;

interface SheetNode {
  path: string;
  file: string;
  /** The file's bytes, and the same as one character per byte (see Scanner). */
  source: Buffer;
  text: string;
  references: CssReference[];
  /** Per reference: where it points, or undefined to leave it as written. */
  targets: Array<FileTarget | undefined>;
  /** Per reference: the URL to write when it points out of the node's component. */
  replacements: Array<string | undefined>;
  /** Canonical paths of the stylesheets it references. */
  edges: string[];
  /** Set for a stylesheet above MAX_REWRITE_BYTES: its raw hash; it is not rewritten. */
  rawHash: string | undefined;
  // Tarjan's bookkeeping.
  index: number;
  lowlink: number;
  onStack: boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * Hashes stylesheets over their rewritten text. Internal to the hasher, which routes `.css` files
 * here when the `css` option is on; use {@link rewriteStylesheet} for the text step alone.
 *
 * A stylesheet's hash depends on the hashes of the stylesheets it references, so those are computed
 * first: the stylesheets reachable from the one asked for are explored (stopping at ones cached under
 * the generation and not part of a cycle), split into strongly connected components with Tarjan's
 * algorithm (iterative, so a long @import chain cannot overflow the stack), and each component is
 * hashed once everything it references is (Tarjan emits components in that order).
 *
 * - A stylesheet in no cycle: xxHash64 of its rewritten bytes.
 * - A cycle (two or more stylesheets referencing each other, or one referencing itself): one hash
 *   for every member, xxHash64 over the members in sorted path order, each as its path and its text
 *   rewritten with every reference into the cycle given a fixed placeholder hash (references out of
 *   the cycle carry their real hashes). Each member is then rewritten with that hash in place of the
 *   placeholder. The hash covers every byte that can change in any member's output, and depends only
 *   on the files: not on which member was asked for first, nor on the run.
 */
export class StylesheetRewriter {
  readonly #options: Readonly<NormalizedOptions>;
  readonly #host: StylesheetHost;
  readonly #basePath: string;
  // "<generation>:<path>" like the hasher's own cache: a new generation orphans every entry at once.
  readonly #sheets: LRUCache<string, CachedSheet>;
  readonly #rewritten: LRUCache<string, Buffer>;
  #warned = new Set<string>();
  #warnedGeneration = -1;

  constructor(options: Readonly<NormalizedOptions>, host: StylesheetHost) {
    this.#options = options;
    this.#host = host;
    this.#basePath = baseUrlPath(options.baseUrl);
    this.#sheets = new LRUCache({ max: options.maxEntries });
    this.#rewritten = new LRUCache({
      maxSize: REWRITTEN_CACHE_BYTES,
      maxEntrySize: REWRITTEN_CACHE_BYTES / 4,
      sizeCalculation: (bytes) => Math.max(1, bytes.length),
    });
  }

  /** Forgets every cached stylesheet, of every generation. */
  clear(): void {
    this.#sheets.clear();
    this.#rewritten.clear();
  }

  /** The full hash (16 hex characters) of the stylesheet at `canonical`, whose real path is `file`; undefined if it vanished. */
  hash(canonical: string, file: string, generation: number): string | undefined {
    if (this.#host.cacheable(generation)) {
      const cached = this.#sheets.get(`${generation}:${canonical}`);
      if (cached !== undefined) return cached.hash;
    }
    return this.#compute(canonical, file, generation)?.hash;
  }

  /** The bytes the stylesheet's hash covers; undefined if it vanished. */
  read(canonical: string, file: string, generation: number): Buffer | undefined {
    if (this.#host.cacheable(generation)) {
      const cached = this.#rewritten.get(`${generation}:${canonical}`);
      if (cached !== undefined) return cached;
    }
    const result = this.#compute(canonical, file, generation);
    if (result === undefined) return undefined;
    return result.bytes ?? readStylesheet(file, canonical, Infinity)?.bytes;
  }

  /** Hashes the stylesheet and every uncached one it depends on; returns the stylesheet's hash and bytes. */
  #compute(canonical: string, file: string, generation: number): { hash: string; bytes: Buffer | undefined } | undefined {
    const resolutions = new Map<string, CssTarget>();
    const root = this.#load(canonical, file, generation, resolutions);
    if (root === undefined) return undefined;
    const nodes = new Map<string, SheetNode>([[canonical, root]]);
    const outcomes = new Map<string, SheetOutcome>();
    const urls = new Map<FileTarget, string>();
    let rootBytes: Buffer | undefined;
    const stack: SheetNode[] = [];
    let counter = 0;
    const enter = (node: SheetNode): void => {
      node.index = node.lowlink = counter++;
      node.onStack = true;
      stack.push(node);
    };
    enter(root);
    const frames: Array<{ node: SheetNode; edge: number }> = [{ node: root, edge: 0 }];
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const { node } = frame;
      if (frame.edge < node.edges.length) {
        const next = this.#neighbour(node.edges[frame.edge++]!, generation, nodes, outcomes, resolutions);
        if (next === undefined) continue;
        if (next.index === -1) {
          enter(next);
          frames.push({ node: next, edge: 0 });
        } else if (next.onStack) {
          node.lowlink = Math.min(node.lowlink, next.index);
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent !== undefined) parent.node.lowlink = Math.min(parent.node.lowlink, node.lowlink);
      if (node.lowlink !== node.index) continue;
      const component: SheetNode[] = [];
      let member: SheetNode;
      do {
        member = stack.pop()!;
        member.onStack = false;
        component.push(member);
      } while (member !== node);
      const bytes = this.#finish(component, generation, outcomes, urls, root);
      if (bytes !== undefined) rootBytes = bytes;
    }
    const outcome = outcomes.get(canonical);
    return outcome !== undefined && 'hash' in outcome ? { hash: outcome.hash, bytes: rootBytes } : undefined;
  }

  /** The node to explore for a referenced stylesheet, or undefined when its outcome is already known. */
  #neighbour(
    canonical: string, generation: number, nodes: Map<string, SheetNode>, outcomes: Map<string, SheetOutcome>, resolutions: Map<string, CssTarget>,
  ): SheetNode | undefined {
    if (outcomes.has(canonical)) return undefined;
    const known = nodes.get(canonical);
    if (known !== undefined) return known;
    // A cached stylesheet in no cycle cannot be in one with the stylesheets being explored (it would
    // have been explored with them), so its hash is final. A cached cycle member is explored again:
    // cutting there would hash the rest of its cycle as if it were not one.
    const cached = this.#host.cacheable(generation) ? this.#sheets.get(`${generation}:${canonical}`) : undefined;
    if (cached !== undefined && !cached.cyclic) {
      outcomes.set(canonical, { hash: cached.hash });
      return undefined;
    }
    let node: SheetNode | undefined;
    try {
      parseReference(canonical);
      const resolved = resolveFile(canonical, this.#options.roots, canonical);
      if (resolved !== undefined) node = this.#load(canonical, resolved.file, generation, resolutions);
    } catch (error) {
      if (!(error instanceof StaticHashError)) throw error;
      outcomes.set(canonical, { failure: `which cannot be used (${error.message}); left as written` });
      return undefined;
    }
    if (node === undefined) {
      outcomes.set(canonical, { failure: this.#notFound(canonical) });
      return undefined;
    }
    nodes.set(canonical, node);
    return node;
  }

  /**
   * Reads and scans a stylesheet; undefined if it vanished. Throws StaticHashError when it cannot be
   * read. `resolutions` is shared by one batch: stylesheets repeat references (sprites, fonts, the
   * same images across a tree), and the same reference from the same directory resolves alike.
   */
  #load(canonical: string, file: string, generation: number, resolutions: Map<string, CssTarget>): SheetNode | undefined {
    const read = readStylesheet(file, canonical, MAX_REWRITE_BYTES);
    if (read === undefined) return undefined;
    const node: SheetNode = {
      path: canonical, file, source: read.bytes ?? EMPTY, text: '', references: [], targets: [], replacements: [], edges: [],
      rawHash: undefined, index: -1, lowlink: -1, onStack: false,
    };
    if (read.bytes === undefined) {
      node.rawHash = digestFile(file, canonical);
      if (node.rawHash === undefined) return undefined;
      this.#warnOnce(generation, canonical, `static-hash: stylesheet ${describeValue(canonical)} is larger than ${MAX_REWRITE_BYTES} bytes: `
        + 'its references are not rewritten and its hash covers its bytes as they are');
      return node;
    }
    node.text = read.bytes.toString('latin1');
    if (!MAY_REFERENCE.test(node.text)) return node;
    node.references = new Scanner(node.text, true).scan();
    const { cssIgnore } = this.#options;
    const slash = canonical.lastIndexOf('/');
    const directoryKey = canonical.slice(0, slash + 1);
    let directory: string[] | undefined;
    const edges = new Set<string>();
    node.targets = node.references.map((reference) => {
      const key = `${directoryKey}\0${reference.url}`;
      let target = resolutions.get(key);
      if (target === undefined) {
        directory ??= slash === -1 ? [] : canonical.slice(0, slash).split('/');
        target = resolveFrom(reference.url, directory, this.#basePath);
        resolutions.set(key, target);
      }
      // Ignore patterns may look at the stylesheet, and warnings are per stylesheet: both stay per reference.
      if (target.kind === 'external' || isIgnored(cssIgnore, reference.url, target.kind === 'file' ? target.path : undefined, canonical)) return undefined;
      if (target.kind === 'outside') {
        this.#warn(generation, canonical, reference.url, `which is outside the static roots (${target.reason}); left as written`);
        return undefined;
      }
      if (isStylesheet(target.path)) edges.add(target.path);
      return target;
    });
    node.edges = [...edges];
    return node;
  }

  /** Hashes one strongly connected component; returns the root's bytes if the root is in it. */
  #finish(component: SheetNode[], generation: number, outcomes: Map<string, SheetOutcome>, urls: Map<FileTarget, string>, root: SheetNode): Buffer | undefined {
    const first = component[0]!;
    const cyclic = component.length > 1 || first.edges.includes(first.path);
    const members = new Set(component.map((node) => node.path));
    for (const node of component) {
      node.replacements = node.targets.map((target, index) => {
        if (target === undefined || (cyclic && members.has(target.path))) return undefined;
        // Targets are shared per distinct reference and directory (see #load), so this skips hashing
        // and formatting again;
        // a reference left as written is not remembered, so each one still gets its warning.
        let url = urls.get(target);
        if (url === undefined) {
          url = this.#urlOf(node, node.references[index]!, target, generation, outcomes);
          if (url !== undefined) urls.set(target, url);
        }
        return url;
      });
    }
    let rootBytes: Buffer | undefined;
    if (!cyclic) {
      const bytes = first.rawHash === undefined ? this.#render(first, members, undefined) : undefined;
      const hash = first.rawHash ?? digestBytes(bytes!);
      this.#settle(first, hash, bytes, false, generation, outcomes);
      if (first === root) rootBytes = bytes;
    } else {
      const sorted = [...component].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      const parts = sorted.map((node) => {
        const path = Buffer.from(node.path, 'utf8').toString('latin1');
        const text = this.#render(node, members, CYCLE_PLACEHOLDER).toString('latin1');
        return `${path.length}:${path}\n${text.length}:${text}\n`;
      });
      const hash = digestBytes(Buffer.from(parts.join(''), 'latin1'));
      for (const node of component) {
        const bytes = this.#render(node, members, hash);
        this.#settle(node, hash, bytes, true, generation, outcomes);
        if (node === root) rootBytes = bytes;
      }
    }
    return rootBytes;
  }

  /** Records a computed stylesheet for this batch and, when allowed, the caches; frees its text. */
  #settle(node: SheetNode, hash: string, bytes: Buffer | undefined, cyclic: boolean, generation: number, outcomes: Map<string, SheetOutcome>): void {
    outcomes.set(node.path, { hash });
    if (this.#host.cacheable(generation)) {
      const key = `${generation}:${node.path}`;
      this.#sheets.set(key, { hash, cyclic });
      if (bytes !== undefined) this.#rewritten.set(key, bytes);
    }
    node.text = '';
    node.source = EMPTY;
  }

  /** The node's bytes with its references replaced; references into its cycle carry `cycleHash`. */
  #render(node: SheetNode, members: ReadonlySet<string>, cycleHash: string | undefined): Buffer {
    const replacements = cycleHash === undefined ? node.replacements : node.targets.map((target, index) => (
      target !== undefined && members.has(target.path) ? this.#format(target, cycleHash) : node.replacements[index]
    ));
    const text = applyReplacements(node.text, node.references, replacements);
    // Nothing replaced: the original bytes, so such a stylesheet hashes as with `css: false`.
    return text === node.text ? node.source : Buffer.from(text, 'latin1');
  }

  /** The URL to write for a reference out of the component being hashed, or undefined (with a warning) to leave it. */
  #urlOf(node: SheetNode, reference: CssReference, target: FileTarget, generation: number, outcomes: Map<string, SheetOutcome>): string | undefined {
    let hash: string | undefined;
    if (isStylesheet(target.path)) {
      // Tarjan finishes every component this one references before it: the outcome is known.
      const outcome = outcomes.get(target.path);
      if (outcome === undefined || 'failure' in outcome) {
        this.#warn(generation, node.path, reference.url, outcome?.failure ?? this.#notFound(target.path));
        return undefined;
      }
      hash = outcome.hash;
    } else {
      try {
        hash = this.#host.hashAsset(target.path, generation);
      } catch (error) {
        if (!(error instanceof StaticHashError)) throw error;
        this.#warn(generation, node.path, reference.url, `which cannot be hashed (${error.message}); left as written`);
        return undefined;
      }
      if (hash === undefined) {
        this.#warn(generation, node.path, reference.url, this.#notFound(target.path));
        return undefined;
      }
    }
    return this.#format(target, hash);
  }

  #format(target: FileTarget, hash: string): string {
    const { baseUrl, urlStyle, param, hashLength } = this.#options;
    return formatUrl({
      baseUrl, encodedPath: encodePath(target.path), hash: hash.slice(0, hashLength), query: target.query, fragment: target.fragment, urlStyle, param,
    });
  }

  #notFound(canonical: string): string {
    return `which was not found (looked for ${firstCandidate(canonical, this.#options.roots)}); left as written`;
  }

  /** Warns once per generation about one reference of one stylesheet. */
  #warn(generation: number, stylesheet: string, reference: string, what: string): void {
    this.#warnOnce(generation, `${stylesheet}\0${reference}`,
      `static-hash: stylesheet ${describeValue(stylesheet)} references ${describeValue(reference)}, ${what}`);
  }

  #warnOnce(generation: number, key: string, message: string): void {
    if (generation !== this.#warnedGeneration) {
      // Only the newest generation's warnings are remembered: a new generation warns afresh.
      if (generation < this.#warnedGeneration) return;
      this.#warned.clear();
      this.#warnedGeneration = generation;
    }
    if (this.#warned.has(key)) return;
    if (this.#warned.size >= this.#options.maxEntries) this.#warned.clear();
    this.#warned.add(key);
    this.#options.logger.warn(message);
  }
}

/**
 * Reads a stylesheet like digestFile reads any file (no following a symlink swapped in since the
 * real path was resolved, regular files only). Undefined if it vanished; `bytes` undefined when it is
 * larger than `limit`.
 */
function readStylesheet(file: string, reference: string, limit: number): { bytes: Buffer | undefined } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') {
      throw new StaticHashError('ERR_STATIC_UNSAFE_PATH', `static-hash: unsafe path ${describeValue(reference)}: it became a symlink`, { reference, file });
    }
    throw new StaticHashError('ERR_STATIC_IO', `static-hash: cannot read ${describeValue(reference)}: ${(error as Error).message}`, { reference, file, cause: error });
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      throw new StaticHashError('ERR_STATIC_NOT_A_FILE', `static-hash: not a file: ${describeValue(reference)} is a directory or special file`, { reference, file });
    }
    if (stat.size > limit) return { bytes: undefined };
    return { bytes: fs.readFileSync(fd) };
  } catch (error) {
    if (error instanceof StaticHashError) throw error;
    throw new StaticHashError('ERR_STATIC_IO', `static-hash: cannot read ${describeValue(reference)}: ${(error as Error).message}`, { reference, file, cause: error });
  } finally {
    fs.closeSync(fd);
  }
}
