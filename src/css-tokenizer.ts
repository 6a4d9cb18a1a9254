/**
 * A tokenizer for CSS Syntax Level 3 §4 (https://www.w3.org/TR/css-syntax-3/#tokenization), written
 * by hand for one job: letting the reference rules (src/css-references.ts) see every token that can
 * hold a URL, and never mistake text inside another token for one. Comments, strings, url tokens,
 * functions, at-keywords, hash tokens, numbers and dimensions, CDO/CDC and escapes are consumed
 * exactly as the spec does, so "url(" inside a comment, a string, `#url(x)` or `10url(x)` is no url().
 *
 * Kept hand-written rather than using @csstools/css-tokenizer (the reference implementation, which
 * test/css-differential.test.ts checks this one against): it allocates no token objects and measured
 * several times faster on real stylesheets (figures in docs/css.md), and it tokenizes the file's
 * bytes directly (see `binary`).
 *
 * Pull-style, no allocation per token: `next()` returns the kind of the next token and leaves its
 * range and value in the tokenizer's fields until the following call.
 */

/** Kinds of token, as CSS Syntax 3 names them. Whitespace runs are one token. */
export type CssTokenKind =
  | 'eof' | 'whitespace' | 'comment' | 'string' | 'bad-string' | 'url' | 'bad-url' | 'function' | 'at-keyword' | 'hash'
  | 'ident' | 'numeric' | 'open-paren' | 'close-paren' | 'cdo' | 'cdc' | 'delim';

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
// NUL counts as U+FFFD, which the spec's input preprocessing puts in its place: a non-ASCII name code point.
function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80 || c === 0;
}
function isNameCodePoint(c: number): boolean {
  return isNameStart(c) || isDigit(c) || c === HYPHEN;
}
function isNonPrintable(c: number): boolean {
  return (c >= 0x01 && c <= 0x08) || c === 0x0b || (c >= 0x0e && c <= 0x1f) || c === 0x7f;
}
// charCodeAt past the end is NaN, for which every predicate above is false: that is EOF.

// ASCII code points that always form a delim token of their own: none starts a comment, string,
// name, number, escape, hash, at-keyword, CDO/CDC or parenthesis. (NaN indexes to undefined: EOF.)
const PLAIN_DELIM = new Uint8Array(0x80);
for (let c = 0; c < 0x80; c++) {
  PLAIN_DELIM[c] = isWhitespace(c) || isNameCodePoint(c) || '/"\'#()+.-<@\\'.includes(String.fromCharCode(c)) ? 0 : 1;
}

// A run of characters that only ever form tokens no reference rule looks at (whitespace, idents,
// numbers, hashes, plain delims, CDO/CDC), ending just after whitespace or one of ; { } : , which
// no such token continues past: from a token boundary, the run's end is a token boundary too. Left
// out: what starts a comment, string, escape, function or parenthesis ('/', quotes, '\\', '(', ')'),
// '@' (at-keywords), control characters and everything past ASCII.
const INERT_RUN = /[A-Za-z0-9_\-\t\n\f\r !#$%&*+,.:;<=>?[\]^`{|}~]*[\t\n\f\r ;{}:,]/y;
// Where such a run stops: the first character it cannot hold.
const INERT_STOP = /[^A-Za-z0-9_\-\t\n\f\r !#$%&*+,.:;<=>?[\]^`{|}~]/g;

/** The offset of `character` in `text` from `from`, or `length` when there is none. */
function find(text: string, character: string, from: number, length: number): number {
  const found = text.indexOf(character, from);
  return found === -1 ? length : found;
}

// After these a token always ends (see INERT_RUN; '(' and ')' are tokens of their own or end one).
function isBoundary(c: number): boolean {
  return isWhitespace(c) || c === 0x3b || c === 0x7b || c === 0x7d || c === 0x3a || c === 0x2c || c === LEFT_PAREN || c === RIGHT_PAREN;
}

// Whether the three characters before offset `end` are 'url' or 'set' (ASCII case-insensitively):
// the ends of the only function names that matter (url, image-set, -webkit-image-set).
function endsWithReferenceName(text: string, end: number): boolean {
  const a = text.charCodeAt(end - 3) | 0x20;
  const b = text.charCodeAt(end - 2) | 0x20;
  const c = text.charCodeAt(end - 1) | 0x20;
  return (a === 0x75 && b === 0x72 && c === 0x6c) || (a === 0x73 && b === 0x65 && c === 0x74);
}

// The characters of a string that need no look: all but its quote, backslash and newlines.
const DOUBLE_QUOTED_RUN = /[^"\\\n\r\f]*/y;
const SINGLE_QUOTED_RUN = /[^'\\\n\r\f]*/y;

/** Where the global `stop` first matches in `text` from `from`: the text's length if nowhere. */
function stopOf(stop: RegExp, text: string, from: number): number {
  stop.lastIndex = from;
  return stop.test(text) ? stop.lastIndex - 1 : text.length;
}

/** ASCII-only lower case: CSS matches keywords ASCII case-insensitively ('İMPORT' is not 'import'). */
export function asciiLower(text: string): string {
  // Names are nearly always lower case already: no regular expression, no new string, for those.
  for (let index = 0; index < text.length; index++) {
    const c = text.charCodeAt(index);
    if (c >= 0x41 && c <= 0x5a) return asciiLowerSlow(text);
  }
  return text;
}

/** Whether `text` is `lower` (an ASCII lower-case keyword) ASCII case-insensitively, without allocating. */
export function isAsciiKeyword(text: string, lower: string): boolean {
  if (text.length !== lower.length) return false;
  for (let index = 0; index < text.length; index++) {
    let c = text.charCodeAt(index);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(index)) return false;
  }
  return true;
}

function asciiLowerSlow(text: string): string {
  return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/**
 * Tokenizes CSS text. With `binary`, `text` holds one character per byte (a 'latin1' decoding of the
 * file): the structure of CSS is ASCII, so tokenizing the bytes finds exactly what tokenizing the
 * UTF-8 text would, and the bytes around the tokens stay exactly as they were (a BOM, a legacy
 * @charset encoding, invalid UTF-8). Values are then in the same one-character-per-byte form;
 * {@link CssTokenizer.decode} turns one into text.
 *
 * @example
 * const tokens = new CssTokenizer('a{b:url(x.png)}', false);
 * for (let kind = tokens.next(); kind !== 'eof'; kind = tokens.next()) if (kind === 'url') tokens.value; //=> 'x.png'
 */
export class CssTokenizer {
  readonly text: string;
  readonly #length: number;
  readonly #binary: boolean;
  #position = 0;
  /** Offset of the token's first character. */
  start = 0;
  /**
   * The token's value, escapes resolved: the name of an ident, function (without '('), at-keyword
   * (without '@') or hash (without '#'); the contents of a string or url token.
   */
  value = '';
  /** Strings, url tokens and comments: where the contents lie (inside the quotes or the comment markers; the url without its whitespace). */
  valueStart = 0;
  valueEnd = 0;
  /** A comment or string that ran to the end of the text. */
  unterminated = false;
  // Set by #consumeString: a raw newline ended the string.
  #badString = false;
  // Set by #consumeEscape: the code point it decoded.
  #escaped = '';

  // Positions before which skipInert() and skipInertOutsideReferences() are known to skip nothing.
  #inertStop = 0;
  #wideStop = 0;
  // The wide skip's next offsets of the characters it looks at (the text's length for none).
  #nextQuote = -1;
  #nextApostrophe = -1;
  #nextParen = -1;
  #nextSlash = -1;
  #nextBackslash = -1;
  #nextAt = -1;
  #nextLineFeed = -1;
  #nextCarriageReturn = -1;
  #nextFormFeed = -1;

  readonly #significantOnly: boolean;
  /** With `significantOnly`: how many plain delim tokens were skipped (whitespace aside) before this token. */
  skipped = 0;

  /**
   * @param significantOnly - Skip whitespace and plain one-character delim tokens (`{ } : ; ,` and the
   *   like), counting them in `skipped` instead of returning them: callers looking for a few kinds of
   *   token then make one call per token that matters. Measured at about a fifth of the scan's time.
   */
  constructor(text: string, binary: boolean, significantOnly = false) {
    this.#significantOnly = significantOnly;
    this.text = text;
    this.#length = text.length;
    this.#binary = binary;
  }

  /** Offset just past the token. */
  get end(): number {
    return this.#position;
  }

  /** Moves on to `position`, a token boundary at or after {@link end} (never back: the skips' bookkeeping only looks ahead). */
  seek(position: number): void {
    if (position < this.#position) throw new RangeError(`CssTokenizer.seek(${position}) before ${this.#position}`);
    this.#position = position;
  }

  /**
   * A value in text form: UTF-8 decoded in binary mode; NUL and lone surrogates become U+FFFD, as
   * the spec's input preprocessing makes them.
   */
  decode(value: string): string {
    // eslint-disable-next-line no-control-regex
    if (this.#binary && /[^\u0000-\u007f]/.test(value)) return Buffer.from(value, 'latin1').toString('utf8').replaceAll('\0', '\ufffd');
    // eslint-disable-next-line no-control-regex
    return /[\0\ud800-\udfff]/.test(value) ? value.replaceAll('\0', '\ufffd').toWellFormed() : value;
  }

  /**
   * Skips, with one native regular-expression match, a run of tokens none of which can hold or
   * introduce a reference (see INERT_RUN): most of a real stylesheet. Call it only between tokens,
   * and only where the skipped tokens do not matter (not right after `@import`, whose next token is
   * its URL). The tokens after it are exactly those the full tokenization has there.
   */
  skipInert(): void {
    const from = this.#position;
    if (from < this.#inertStop) return;
    INERT_RUN.lastIndex = from;
    if (INERT_RUN.test(this.text)) {
      this.#position = INERT_RUN.lastIndex;
      return;
    }
    // No run from here: nor from anywhere before the character that stopped it (the run it could
    // skip holds no boundary). Remembered, so a long such stretch (`a.a.a.…(`) is not scanned again
    // for every token in it, which made the scan quadratic.
    this.#inertStop = stopOf(INERT_STOP, this.text, from);
  }

  /**
   * {@link skipInert} for where no string and no parenthesis matters: outside any `url(` or
   * `image-set(` and not in an `@import` prelude. Strings, comments other than `/*#` and `/*@`,
   * parentheses and functions other than url() and …image-set(), at-keywords other than `@import`
   * are skipped too. The tokens after it are exactly those the full tokenization has there; the
   * parentheses skipped need not balance, so a caller tracking open functions must count only those
   * that matter.
   *
   * Only ", ', (, /, \ and @ can start or hide anything that matters here: the next of each is found
   * with `indexOf` (native and vectorised, several GiB/s) and kept until passed, and only those
   * offsets are looked at. A string is followed to the quote that ends it as the spec consumes it
   * (escapes, escaped newlines); at a '(' after 'url' or 'set', or a backslash outside a string
   * (which may spell one), it stops at the token boundary before the name: the last whitespace,
   * ; { } : , ( or ) before it, or where it started. It stops at `@import`, a `/*#`/`/*@` comment
   * and a string that does not end (a raw newline or the end of the text) too, for next() to take.
   */
  skipInertOutsideReferences(): void {
    const text = this.text;
    const length = this.#length;
    let i = this.#position;
    if (i < this.#wideStop) return;
    // A token boundary at or before `i` with nothing but inert tokens from it to `i`.
    let boundary = i;
    for (;;) {
      if (this.#nextQuote < i) this.#nextQuote = find(text, '"', i, length);
      if (this.#nextApostrophe < i) this.#nextApostrophe = find(text, "'", i, length);
      if (this.#nextParen < i) this.#nextParen = find(text, '(', i, length);
      if (this.#nextSlash < i) this.#nextSlash = find(text, '/', i, length);
      if (this.#nextBackslash < i) this.#nextBackslash = find(text, '\\', i, length);
      if (this.#nextAt < i) this.#nextAt = find(text, '@', i, length);
      const stop = Math.min(this.#nextQuote, this.#nextApostrophe, this.#nextParen, this.#nextSlash, this.#nextBackslash, this.#nextAt);
      if (stop >= length) {
        this.#position = length;
        return;
      }
      const c = text.charCodeAt(stop);
      if (c === LEFT_PAREN) {
        if (endsWithReferenceName(text, stop)) return this.#stopBefore(boundary, stop);
        i = boundary = stop + 1;
      } else if (c === DOUBLE_QUOTE || c === QUOTE) {
        const end = this.#stringEnd(stop, c);
        if (end === -1) return this.#stopAt(stop, stop);
        i = boundary = end;
      } else if (c === 0x2f) {
        if (text.charCodeAt(stop + 1) !== 0x2a) {
          i = boundary = stop + 1;
          continue;
        }
        const marker = text.charCodeAt(stop + 2);
        const close = marker === 0x23 || marker === 0x40 ? -1 : text.indexOf('*/', stop + 2);
        if (close === -1) return this.#stopAt(stop, stop);
        i = boundary = close + 2;
      } else if (c === BACKSLASH) {
        return this.#stopBefore(boundary, stop);
      } else {
        // '@': an at-keyword, whose name may run on past here (no boundary moves).
        if (isAsciiKeyword(text.slice(stop + 1, stop + 7), 'import')) return this.#stopAt(stop, stop);
        i = stop + 1;
      }
    }
  }

  /** Ends a wide skip at the boundary before the name ending at `stop`, the last one after `boundary`. */
  #stopBefore(boundary: number, stop: number): void {
    let k = stop;
    while (k > boundary && !isBoundary(this.text.charCodeAt(k - 1))) k--;
    this.#stopAt(k, stop);
  }

  /** Ends a wide skip at `position`; until past `stop` the wide skip has nothing more to skip. */
  #stopAt(position: number, stop: number): void {
    this.#position = position;
    this.#wideStop = stop + 1;
  }

  /**
   * Offset just past the string opening at `open`, consumed as next() consumes it; -1 when it ends
   * as a bad string (a raw newline) or runs to the end of the text.
   */
  #stringEnd(open: number, quote: number): number {
    const text = this.text;
    const length = this.#length;
    // A short string (Font Awesome has thousands of "\f26e") is walked directly: cheaper than
    // finding its quote, backslashes and newlines with indexOf.
    let i = open + 1;
    const near = Math.min(open + 33, length);
    while (i < near) {
      const c = text.charCodeAt(i);
      if (c === quote) return i + 1;
      if (isNewline(c)) return -1;
      if (c === BACKSLASH) {
        i = this.#escapeEnd(i);
        if (i === -1) return -1;
      } else {
        i++;
      }
    }
    for (;;) {
      let close: number;
      if (quote === DOUBLE_QUOTE) {
        if (this.#nextQuote < i) this.#nextQuote = find(text, '"', i, length);
        close = this.#nextQuote;
      } else {
        if (this.#nextApostrophe < i) this.#nextApostrophe = find(text, "'", i, length);
        close = this.#nextApostrophe;
      }
      if (close >= length) return -1;
      if (this.#nextBackslash < i) this.#nextBackslash = find(text, '\\', i, length);
      if (this.#nextLineFeed < i) this.#nextLineFeed = find(text, '\n', i, length);
      if (this.#nextCarriageReturn < i) this.#nextCarriageReturn = find(text, '\r', i, length);
      if (this.#nextFormFeed < i) this.#nextFormFeed = find(text, '\f', i, length);
      const backslash = this.#nextBackslash;
      const newline = Math.min(this.#nextLineFeed, this.#nextCarriageReturn, this.#nextFormFeed);
      if (newline < close && newline < backslash) return -1;
      if (backslash > close) return close + 1;
      i = this.#escapeEnd(backslash);
      if (i === -1) return -1;
    }
  }

  /** Offset just past the escape (or escaped newline) in a string at `backslash`, as #consumeString goes; -1 at the end of the text. */
  #escapeEnd(backslash: number): number {
    const text = this.text;
    let j = backslash + 1;
    if (j >= this.#length) return -1;
    const e = text.charCodeAt(j);
    if (e === 0x0d && text.charCodeAt(j + 1) === 0x0a) return j + 2;
    if (!isHexDigit(e)) return j + 1;
    const last = j + 6;
    j++;
    while (j < last && isHexDigit(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) === 0x0d && text.charCodeAt(j + 1) === 0x0a) return j + 2;
    return isWhitespace(text.charCodeAt(j)) ? j + 1 : j;
  }

  /** Consumes the next token and returns its kind; 'eof' at the end (and on every call after). */
  next(): CssTokenKind {
    const text = this.text;
    const length = this.#length;
    let i = this.#position;
    if (this.#significantOnly) {
      let delims = 0;
      for (;;) {
        const c = text.charCodeAt(i);
        if (isWhitespace(c)) {
          i++;
          while (isWhitespace(text.charCodeAt(i))) i++;
        } else if (c < 0x80 && PLAIN_DELIM[c] === 1) {
          i++;
          delims++;
        } else {
          break;
        }
      }
      this.skipped = delims;
    }
    this.start = i;
    if (i >= length) {
      // Past what was skipped: a caller scanning a window of a longer text sees from end that the
      // whitespace or delims ran to the window's edge (an @import's string may follow beyond it).
      this.#position = length;
      return 'eof';
    }
    const c = text.charCodeAt(i);
    let kind: CssTokenKind;
    if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
      const close = text.indexOf('*/', i + 2);
      this.valueStart = i + 2;
      this.valueEnd = close === -1 ? length : close;
      this.unterminated = close === -1;
      i = close === -1 ? length : close + 2;
      kind = 'comment';
    } else if (isWhitespace(c)) {
      i++;
      while (isWhitespace(text.charCodeAt(i))) i++;
      kind = 'whitespace';
    } else if (c === DOUBLE_QUOTE || c === QUOTE) {
      i = this.#consumeString(i, c);
      kind = this.#badString ? 'bad-string' : 'string';
    } else if (c === 0x23) {
      // A hash token (#id, #url): its name is not an ident, so '#url(x)' is no url().
      if (isNameCodePoint(text.charCodeAt(i + 1)) || this.#validEscape(i + 1)) {
        i = this.#consumeName(i + 1);
        kind = 'hash';
      } else {
        i++;
        kind = 'delim';
      }
    } else if (c === LEFT_PAREN) {
      i++;
      kind = 'open-paren';
    } else if (c === RIGHT_PAREN) {
      i++;
      kind = 'close-paren';
    } else if (c === PLUS || c === PERIOD) {
      if (this.#startsNumber(i)) {
        i = this.#consumeNumeric(i);
        kind = 'numeric';
      } else {
        i++;
        kind = 'delim';
      }
    } else if (c === HYPHEN) {
      if (this.#startsNumber(i)) {
        i = this.#consumeNumeric(i);
        kind = 'numeric';
      } else if (text.startsWith('-->', i)) {
        i += 3;
        kind = 'cdc';
      } else if (this.#startsIdent(i)) {
        return this.#identLike(i);
      } else {
        i++;
        kind = 'delim';
      }
    } else if (c === 0x3c && text.startsWith('<!--', i)) {
      i += 4;
      kind = 'cdo';
    } else if (c === 0x40) {
      if (this.#startsIdent(i + 1)) {
        i = this.#consumeName(i + 1);
        kind = 'at-keyword';
      } else {
        i++;
        kind = 'delim';
      }
    } else if (c === BACKSLASH) {
      if (this.#validEscape(i)) return this.#identLike(i);
      i++;
      kind = 'delim';
    } else if (isDigit(c)) {
      i = this.#consumeNumeric(i);
      kind = 'numeric';
    } else if (isNameStart(c)) {
      return this.#identLike(i);
    } else {
      i++;
      kind = 'delim';
    }
    this.#position = i;
    return kind;
  }

  #finish(end: number, kind: CssTokenKind): CssTokenKind {
    this.#position = end;
    return kind;
  }

  #validEscape(i: number): boolean {
    return this.text.charCodeAt(i) === BACKSLASH && !isNewline(this.text.charCodeAt(i + 1));
  }

  #startsIdent(i: number): boolean {
    const c = this.text.charCodeAt(i);
    if (c === HYPHEN) {
      const next = this.text.charCodeAt(i + 1);
      return isNameStart(next) || next === HYPHEN || this.#validEscape(i + 1);
    }
    return isNameStart(c) || this.#validEscape(i);
  }

  #startsNumber(i: number): boolean {
    const text = this.text;
    let c = text.charCodeAt(i);
    if (c === PLUS || c === HYPHEN) c = text.charCodeAt(++i);
    if (isDigit(c)) return true;
    return c === PERIOD && isDigit(text.charCodeAt(i + 1));
  }

  /** A number, then a unit (dimension) or '%': '10url(x)' is the dimension '10url', not a url(). */
  #consumeNumeric(i: number): number {
    const text = this.text;
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

  /** Consumes the escape after a backslash at `i - 1`; leaves the code point in #escaped. */
  #consumeEscape(i: number): number {
    const text = this.text;
    const c = text.charCodeAt(i);
    if (i >= this.#length) {
      this.#escaped = this.#codePoint(REPLACEMENT);
      return i;
    }
    if (isHexDigit(c)) {
      let end = i + 1;
      while (end < i + 6 && isHexDigit(text.charCodeAt(end))) end++;
      let codePoint = Number.parseInt(text.slice(i, end), 16);
      if (codePoint === 0 || (codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint > 0x10ffff) codePoint = REPLACEMENT;
      this.#escaped = this.#codePoint(codePoint);
      // One whitespace after a hex escape belongs to it; CR LF counts as one.
      if (text.charCodeAt(end) === 0x0d && text.charCodeAt(end + 1) === 0x0a) return end + 2;
      return isWhitespace(text.charCodeAt(end)) ? end + 1 : end;
    }
    this.#escaped = text[i]!;
    return i + 1;
  }

  /** A code point as it appears in the scanned text: its UTF-8 bytes in binary mode. */
  #codePoint(codePoint: number): string {
    if (!this.#binary || codePoint < 0x80) return String.fromCodePoint(codePoint);
    // UTF-8 by hand: a Buffer per escape measured as a large part of tokenizing Font Awesome.
    if (codePoint < 0x800) return String.fromCharCode(0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f));
    if (codePoint < 0x10000) {
      return String.fromCharCode(0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f));
    }
    return String.fromCharCode(0xf0 | (codePoint >> 18), 0x80 | ((codePoint >> 12) & 0x3f), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f));
  }

  /** Consumes a name (identifier characters and escapes) from `i`; leaves it, unescaped, in `value`. */
  #consumeName(i: number): number {
    const text = this.text;
    let value = '';
    let run = i;
    for (;;) {
      const c = text.charCodeAt(i);
      if (isNameCodePoint(c)) {
        i++;
      } else if (this.#validEscape(i)) {
        value += text.slice(run, i);
        i = this.#consumeEscape(i + 1);
        value += this.#escaped;
        run = i;
      } else {
        break;
      }
    }
    this.value = value + text.slice(run, i);
    return i;
  }

  /** An ident, a function, or (for `url(` not followed by a quote) a url token. */
  #identLike(i: number): CssTokenKind {
    const text = this.text;
    i = this.#consumeName(i);
    if (text.charCodeAt(i) !== LEFT_PAREN) return this.#finish(i, 'ident');
    i++;
    const name = this.value;
    if (isAsciiKeyword(name, 'url')) {
      let next = i;
      while (isWhitespace(text.charCodeAt(next))) next++;
      const c = text.charCodeAt(next);
      // url("…") is a function whose string argument is the URL; url(…) unquoted is one url token.
      if (c !== DOUBLE_QUOTE && c !== QUOTE) return this.#consumeUrl(next);
    }
    return this.#finish(i, 'function');
  }

  /** An unquoted url token from just after 'url(' and its whitespace. */
  #consumeUrl(i: number): CssTokenKind {
    const text = this.text;
    const length = this.#length;
    const start = i;
    let value = '';
    let run = i;
    this.valueStart = start;
    for (;;) {
      if (i >= length) break;
      const c = text.charCodeAt(i);
      if (c === RIGHT_PAREN) break;
      if (isWhitespace(c)) {
        let after = i;
        while (isWhitespace(text.charCodeAt(after))) after++;
        if (after >= length || text.charCodeAt(after) === RIGHT_PAREN) {
          this.value = value + text.slice(run, i);
          this.valueEnd = i;
          return this.#finish(Math.min(after + 1, length), 'url');
        }
        return this.#consumeBadUrl(after);
      }
      if (c === DOUBLE_QUOTE || c === QUOTE || c === LEFT_PAREN || isNonPrintable(c)) return this.#consumeBadUrl(i);
      if (c === BACKSLASH) {
        if (!this.#validEscape(i)) return this.#consumeBadUrl(i);
        value += text.slice(run, i);
        i = this.#consumeEscape(i + 1);
        value += this.#escaped;
        run = i;
        continue;
      }
      i++;
    }
    this.value = value + text.slice(run, i);
    this.valueEnd = i;
    return this.#finish(Math.min(i + 1, length), 'url');
  }

  #consumeBadUrl(i: number): CssTokenKind {
    const text = this.text;
    while (i < this.#length) {
      const c = text.charCodeAt(i);
      if (c === RIGHT_PAREN) return this.#finish(i + 1, 'bad-url');
      i = this.#validEscape(i) ? this.#consumeEscape(i + 1) : i + 1;
    }
    return this.#finish(i, 'bad-url');
  }

  /** A string token from its opening quote; a raw newline ends it as a bad string (the newline not consumed). */
  #consumeString(i: number, quote: number): number {
    const text = this.text;
    const length = this.#length;
    const start = i + 1;
    let value = '';
    let run = start;
    i = start;
    this.valueStart = start;
    this.#badString = false;
    this.unterminated = false;
    const plain = quote === DOUBLE_QUOTE ? DOUBLE_QUOTED_RUN : SINGLE_QUOTED_RUN;
    for (;;) {
      // Up to the next character that ends the string or needs a look (an escape, a newline), natively.
      plain.lastIndex = i;
      plain.test(text);
      i = plain.lastIndex;
      if (i >= length) {
        this.unterminated = true;
        break;
      }
      const c = text.charCodeAt(i);
      if (c === quote) break;
      if (isNewline(c)) {
        this.#badString = true;
        this.valueEnd = i;
        return i;
      }
      if (c === BACKSLASH) {
        value += text.slice(run, i);
        const next = text.charCodeAt(i + 1);
        if (i + 1 >= length) {
          i++;
        } else if (isNewline(next)) {
          i += next === 0x0d && text.charCodeAt(i + 2) === 0x0a ? 3 : 2;
        } else {
          i = this.#consumeEscape(i + 1);
          value += this.#escaped;
        }
        run = i;
        continue;
      }
      i++;
    }
    this.value = value + text.slice(run, i);
    this.valueEnd = i;
    return Math.min(i + 1, length);
  }
}

/**
 * {@link CssTokenizer.skipInertOutsideReferences} on a file's bytes, for the hasher: the same walk
 * (the same characters looked at, the same strings followed, the same stops), with `Buffer#indexOf`
 * (memchr) for the next of each byte, so the text a reference rule never looks at (most of a real
 * stylesheet) is never decoded into a string at all. Where it stops, the caller tokenizes a window
 * of the bytes from there (see findReferencesInBytes in src/css-references.ts).
 */
export class CssByteSkip {
  readonly #bytes: Buffer;
  readonly #length: number;
  // Until past this offset there is nothing more to skip (as CssTokenizer's #wideStop).
  #wideStop = 0;
  #nextQuote = -1;
  #nextApostrophe = -1;
  #nextParen = -1;
  #nextSlash = -1;
  #nextBackslash = -1;
  #nextAt = -1;
  #nextLineFeed = -1;
  #nextCarriageReturn = -1;
  #nextFormFeed = -1;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
    this.#length = bytes.length;
  }

  /** Where the last stop's character ends: {@link skip} skips nothing from before it. */
  get resumeAt(): number {
    return this.#wideStop;
  }

  #find(byte: number, from: number): number {
    const found = this.#bytes.indexOf(byte, from);
    return found === -1 ? this.#length : found;
  }

  /**
   * From `from`, a token boundary outside any url() or image-set() and any @import prelude: the
   * offset of the first token there that may matter (a token boundary), or the length when none
   * does. Returns `from` itself when the tokens from there must be looked at one by one.
   */
  skip(from: number): number {
    const bytes = this.#bytes;
    const length = this.#length;
    let i = from;
    if (i < this.#wideStop) return i;
    let boundary = i;
    for (;;) {
      if (this.#nextQuote < i) this.#nextQuote = this.#find(DOUBLE_QUOTE, i);
      if (this.#nextApostrophe < i) this.#nextApostrophe = this.#find(QUOTE, i);
      if (this.#nextParen < i) this.#nextParen = this.#find(LEFT_PAREN, i);
      if (this.#nextSlash < i) this.#nextSlash = this.#find(0x2f, i);
      if (this.#nextBackslash < i) this.#nextBackslash = this.#find(BACKSLASH, i);
      if (this.#nextAt < i) this.#nextAt = this.#find(0x40, i);
      const stop = Math.min(this.#nextQuote, this.#nextApostrophe, this.#nextParen, this.#nextSlash, this.#nextBackslash, this.#nextAt);
      if (stop >= length) return length;
      const c = bytes[stop]!;
      if (c === LEFT_PAREN) {
        if (endsWithReferenceNameAt(bytes, stop)) return this.#stopBefore(boundary, stop);
        i = boundary = stop + 1;
      } else if (c === DOUBLE_QUOTE || c === QUOTE) {
        const end = this.#stringEnd(stop, c);
        if (end === -1) return this.#stopAt(stop, stop);
        i = boundary = end;
      } else if (c === 0x2f) {
        if (bytes[stop + 1] !== 0x2a) {
          i = boundary = stop + 1;
          continue;
        }
        const marker = bytes[stop + 2];
        const close = marker === 0x23 || marker === 0x40 ? -1 : bytes.indexOf('*/', stop + 2, 'latin1');
        if (close === -1) return this.#stopAt(stop, stop);
        i = boundary = close + 2;
      } else if (c === BACKSLASH) {
        return this.#stopBefore(boundary, stop);
      } else {
        if (isImportAt(bytes, stop + 1)) return this.#stopAt(stop, stop);
        i = stop + 1;
      }
    }
  }

  #stopBefore(boundary: number, stop: number): number {
    let k = stop;
    while (k > boundary && !isBoundary(this.#bytes[k - 1]!)) k--;
    return this.#stopAt(k, stop);
  }

  #stopAt(position: number, stop: number): number {
    this.#wideStop = stop + 1;
    return position;
  }

  /** As CssTokenizer's #stringEnd. */
  #stringEnd(open: number, quote: number): number {
    const bytes = this.#bytes;
    const length = this.#length;
    let i = open + 1;
    const near = Math.min(open + 33, length);
    while (i < near) {
      const c = bytes[i]!;
      if (c === quote) return i + 1;
      if (isNewline(c)) return -1;
      if (c === BACKSLASH) {
        i = this.#escapeEnd(i);
        if (i === -1) return -1;
      } else {
        i++;
      }
    }
    for (;;) {
      let close: number;
      if (quote === DOUBLE_QUOTE) {
        if (this.#nextQuote < i) this.#nextQuote = this.#find(DOUBLE_QUOTE, i);
        close = this.#nextQuote;
      } else {
        if (this.#nextApostrophe < i) this.#nextApostrophe = this.#find(QUOTE, i);
        close = this.#nextApostrophe;
      }
      if (close >= length) return -1;
      if (this.#nextBackslash < i) this.#nextBackslash = this.#find(BACKSLASH, i);
      if (this.#nextLineFeed < i) this.#nextLineFeed = this.#find(0x0a, i);
      if (this.#nextCarriageReturn < i) this.#nextCarriageReturn = this.#find(0x0d, i);
      if (this.#nextFormFeed < i) this.#nextFormFeed = this.#find(0x0c, i);
      const backslash = this.#nextBackslash;
      const newline = Math.min(this.#nextLineFeed, this.#nextCarriageReturn, this.#nextFormFeed);
      if (newline < close && newline < backslash) return -1;
      if (backslash > close) return close + 1;
      i = this.#escapeEnd(backslash);
      if (i === -1) return -1;
    }
  }

  /** As CssTokenizer's #escapeEnd. */
  #escapeEnd(backslash: number): number {
    const bytes = this.#bytes;
    let j = backslash + 1;
    if (j >= this.#length) return -1;
    const e = bytes[j]!;
    if (e === 0x0d && bytes[j + 1] === 0x0a) return j + 2;
    if (!isHexDigit(e)) return j + 1;
    const last = j + 6;
    j++;
    while (j < last && isHexDigit(bytes[j]!)) j++;
    if (bytes[j] === 0x0d && bytes[j + 1] === 0x0a) return j + 2;
    return isWhitespace(bytes[j]!) ? j + 1 : j;
  }
}

// endsWithReferenceName and the '@import' test on bytes (past either end an index reads undefined:
// `undefined | 0x20` is 0x20, which matches no letter).
function endsWithReferenceNameAt(bytes: Buffer, end: number): boolean {
  const a = (bytes[end - 3]! | 0x20);
  const b = (bytes[end - 2]! | 0x20);
  const c = (bytes[end - 1]! | 0x20);
  return (a === 0x75 && b === 0x72 && c === 0x6c) || (a === 0x73 && b === 0x65 && c === 0x74);
}

function isImportAt(bytes: Buffer, at: number): boolean {
  return (bytes[at]! | 0x20) === 0x69 && (bytes[at + 1]! | 0x20) === 0x6d && (bytes[at + 2]! | 0x20) === 0x70
    && (bytes[at + 3]! | 0x20) === 0x6f && (bytes[at + 4]! | 0x20) === 0x72 && (bytes[at + 5]! | 0x20) === 0x74;
}
