/**
 * The reference rules of stylesheets: which tokens are references (`url()`, `@import`, strings in
 * `image-set()`, `sourceMappingURL` comments), how a reference resolves to a canonical path under the
 * roots, and how a replacement URL is escaped for where it is written. Tokens come from
 * src/css-tokenizer.ts; hashing whole stylesheets is src/stylesheet.ts.
 */
import { CssByteSkip, CssTokenizer, isAsciiKeyword } from './css-tokenizer.js';
import { StaticHashError, describeValue } from './errors.js';
import type { CssIgnorePattern } from './options.js';
import { splitReference } from './resolve.js';
import { baseUrlPath } from './url.js';

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

/** A function's name as findReferences() tracks it: 'url', 'image-set', '-webkit-image-set', or '' for any other. */
function functionName(name: string): string {
  if (isAsciiKeyword(name, 'url')) return 'url';
  if (isAsciiKeyword(name, 'image-set')) return 'image-set';
  return isAsciiKeyword(name, '-webkit-image-set') ? '-webkit-image-set' : '';
}

const SOURCE_MAP_COMMENT = /^([#@][ \t]*sourceMappingURL=)(\S+)\s*$/;

/**
 * Every reference in the tokens of `tokenizer`, in order. A string is a URL directly inside `url(…)`
 * or `image-set(…)`, or as the first token after `@import`; an unquoted url token always is.
 */
export function findReferences(tokenizer: CssTokenizer): CssReference[] {
  const found: CssReference[] = [];
  scanTokens(tokenizer, found, 0, Infinity, false);
  return found;
}

// Bytes a window must hold past a token for the token to be the one the whole text has there: the
// most the tokenizer looks past a token's end (a hex escape and CR LF, '<!--', a number's sign,
// point and digit). Tokens that look further (whitespace before a url's ')', strings, comments)
// run to the window's end when it cuts them, which this margin catches too.
const WINDOW_MARGIN = 16;
const FIRST_WINDOW = 512;

/**
 * {@link findReferences} on a file's bytes, the hasher's path, finding exactly what it finds on the
 * bytes as one character per byte: CssByteSkip passes what no rule looks at without decoding it;
 * where it stops, a window of the bytes from there is decoded ('latin1') and tokenized until the
 * tokens are outside references again, a window twice as large if a token came near its end.
 */
export function findReferencesInBytes(bytes: Buffer): CssReference[] {
  const found: CssReference[] = [];
  const skip = new CssByteSkip(bytes);
  const length = bytes.length;
  let position = 0;
  let size = FIRST_WINDOW;
  // The window decoded last, reused while the skip stops inside it (stylesheets dense with references).
  let window: CssTokenizer | undefined;
  let windowStart = 0;
  while (position < length) {
    position = skip.skip(position);
    if (position >= length) break;
    const kept = found.length;
    for (;;) {
      if (window === undefined || position < windowStart + window.end || position + WINDOW_MARGIN >= windowStart + window.text.length) {
        windowStart = position;
        window = new CssTokenizer(bytes.toString('latin1', position, Math.min(length, position + size)), true, true);
      } else {
        window.seek(position - windowStart);
      }
      const stopped = scanTokens(window, found, windowStart, skip.resumeAt - windowStart, windowStart + window.text.length < length);
      if (stopped !== -1) {
        position = windowStart + stopped;
        break;
      }
      found.length = kept;
      window = undefined;
      size *= 2;
    }
  }
  return found;
}

/**
 * Pushes the references among the tokens onto `found`, offsets plus `offset`. With `until` Infinity,
 * every token to the end (the wide skip where it applies); otherwise (a window of CssByteSkip's) it
 * returns the offset where the tokens are outside references again once at or past `until`. With
 * `windowed`, -1 when a token comes within WINDOW_MARGIN of the text's end: a larger window is needed.
 */
function scanTokens(tokenizer: CssTokenizer, found: CssReference[], offset: number, until: number, windowed: boolean): number {
  const text = tokenizer.text;
  const limit = windowed ? text.length - WINDOW_MARGIN : Infinity;
  // Names of the open functions ('' for a plain parenthesis, or a name too long to matter).
  const functions: string[] = [];
  // How many of them are url, image-set or -webkit-image-set: with none, no string and no parenthesis matters.
  let referenceFunctions = 0;
  let importPending = false;
  for (;;) {
    if (!importPending && referenceFunctions === 0 && until !== Infinity && tokenizer.end >= until) return tokenizer.end;
    // Most of a stylesheet is selectors and declarations without any reference: skipped natively.
    // The wide skip passes parentheses without pushing them: only the innermost function matters,
    // and below the lowest url() or image-set() every entry would be '' anyway.
    if (!importPending) {
      if (referenceFunctions !== 0) tokenizer.skipInert();
      else if (until === Infinity) tokenizer.skipInertOutsideReferences();
    }
    const kind = tokenizer.next();
    if (tokenizer.end > limit) return -1;
    if (kind === 'eof') return tokenizer.end;
    if (kind === 'whitespace') continue;
    // A delim skipped before this token also ends a pending @import prelude.
    if (tokenizer.skipped !== 0) importPending = false;
    if (kind === 'comment') {
      const marker = text.charCodeAt(tokenizer.valueStart);
      if ((marker === 0x23 || marker === 0x40) && !tokenizer.unterminated) {
        const match = SOURCE_MAP_COMMENT.exec(text.slice(tokenizer.valueStart, tokenizer.valueEnd));
        if (match) {
          const start = tokenizer.valueStart + match[1]!.length;
          found.push({ url: tokenizer.decode(match[2]!), kind: 'source-map', start: start + offset, end: start + match[2]!.length + offset, quote: 'comment' });
        }
      }
      continue;
    }
    // Every other token ends a pending @import prelude's chance to have its URL next.
    const inImport = importPending;
    importPending = false;
    switch (kind) {
      case 'string': {
        const context = inImport ? 'import' : functions.at(-1);
        const referenceKind = context === 'import' ? 'import' : context === 'url' ? 'url'
          : context === 'image-set' || context === '-webkit-image-set' ? 'image-set' : undefined;
        if (referenceKind !== undefined) {
          found.push({
            url: tokenizer.decode(tokenizer.value), kind: referenceKind, start: tokenizer.valueStart + offset, end: tokenizer.valueEnd + offset,
            quote: text.charCodeAt(tokenizer.start) === 0x22 ? '"' : "'",
          });
        }
        break;
      }
      case 'url':
        found.push({
          url: tokenizer.decode(tokenizer.value), kind: 'url', start: tokenizer.valueStart + offset, end: tokenizer.valueEnd + offset, quote: 'unquoted',
        });
        break;
      case 'function': {
        // Only url, image-set and -webkit-image-set matter: any other name is kept as ''.
        const name = functionName(tokenizer.value);
        if (name !== '') referenceFunctions++;
        functions.push(name);
        break;
      }
      case 'open-paren':
        functions.push('');
        break;
      case 'close-paren':
        if (functions.pop()) referenceFunctions--;
        break;
      case 'at-keyword':
        importPending = isAsciiKeyword(tokenizer.value, 'import');
        break;
      default:
        break;
    }
  }
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
  return findReferences(new CssTokenizer(text, false, true));
}

// Resolving a reference written in a stylesheet to a canonical path under the roots.


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
export function resolveFrom(url: string, directory: readonly string[], basePath: string): CssTarget {
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
  return canonical.length > 4 && canonical.charCodeAt(canonical.length - 4) === 0x2e && canonical.slice(-3).toLowerCase() === 'css';
}

/** Whether a reference matches one of the `cssIgnore` patterns. */
export function isIgnored(patterns: readonly CssIgnorePattern[], url: string, canonical: string | undefined, stylesheet: string): boolean {
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

// Rewriting.

/** Escapes a URL for where it is written, so no character of it can end the token early. */
export function escapeUrl(url: string, quote: CssReference['quote']): string {
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
export function applyReplacements(text: string, references: readonly CssReference[], replacements: ReadonlyArray<string | undefined>): string {
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

