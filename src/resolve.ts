import fs from 'node:fs';
import path from 'node:path';
import { StaticHashError, describeValue } from './errors.js';
import type { NormalizedRoot } from './options.js';

/** A reference split into its canonical file path and the query and fragment written with it. */
export interface ParsedReference {
  /** Canonical relative path, segments joined by '/': no leading slash, no '.' or empty segments. */
  path: string;
  /** Text after the first '?' (before any '#'); undefined when there is no '?'. */
  query: string | undefined;
  /** Text after the first '#'; undefined when there is no '#'. */
  fragment: string | undefined;
}

function unsafe(reference: string, why: string): never {
  throw new StaticHashError('ERR_STATIC_UNSAFE_PATH', `static-hash: unsafe path ${describeValue(reference)}: ${why}`, { reference });
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
// Encoded '.', '/', '\' and NUL, also double-encoded, and overlong UTF-8 lead bytes (%c0%ae is '.').
const ENCODED_SEPARATOR = /%(?:25)?(?:2e|2f|5c|00)|%c0|%c1/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// '..' and, for Windows and some servers, '..' followed by dots or spaces, which they strip.
const DOT_DOT = /^\.\.[. ]*$/;
const NON_ASCII = /[^\u0000-\u007f]/;
// Slash look-alikes that NFKC leaves alone but Windows "best fit" code-page conversion and some
// proxies turn into '/' or '\': division slash, fraction slash, big solidus, big reverse solidus, set minus.
const SLASH_LOOK_ALIKE = /[\u2215\u2044\u29f8\u29f9\u2216]/;

/**
 * Splits a reference as written into path, query and fragment: the first '#' starts the fragment,
 * the first '?' before it the query. No validation; shared by templates' references and stylesheets'.
 *
 * @example
 * splitReference('a.css?x=1#top') //=> { path: 'a.css', query: 'x=1', fragment: 'top' }
 */
export function splitReference(text: string): { path: string; query: string | undefined; fragment: string | undefined } {
  let end = text.length;
  let query: string | undefined;
  let fragment: string | undefined;
  const hashAt = text.indexOf('#');
  if (hashAt !== -1) {
    fragment = text.slice(hashAt + 1);
    end = hashAt;
  }
  const queryAt = text.indexOf('?');
  if (queryAt !== -1 && queryAt < end) {
    query = text.slice(queryAt + 1, end);
    end = queryAt;
  }
  return { path: text.slice(0, end), query, fragment };
}

/**
 * Splits and validates a reference without touching the disk. `?` starts the query and `#` the
 * fragment; one leading '/' is dropped. Throws `ERR_STATIC_INVALID_REFERENCE` for a non-string or
 * empty reference and `ERR_STATIC_UNSAFE_PATH` for anything that could leave a root.
 *
 * @example
 * parseReference('/css/a.css?x=1#top') //=> { path: 'css/a.css', query: 'x=1', fragment: 'top' }
 */
export function parseReference(reference: unknown): ParsedReference {
  if (typeof reference !== 'string' || reference === '') {
    throw new StaticHashError(
      'ERR_STATIC_INVALID_REFERENCE',
      `static-hash: expected a non-empty string reference such as "js/app.js"; got ${describeValue(reference)}`,
      { reference },
    );
  }
  if (!reference.isWellFormed()) unsafe(reference, 'it contains a lone UTF-16 surrogate');
  if (reference.includes('\0')) unsafe(reference, 'it contains a NUL character');

  const { path: written, query, fragment } = splitReference(reference);
  let filePath = written;

  if (CONTROL.test(filePath)) unsafe(reference, 'it contains a control character');
  if (filePath.includes('\\')) unsafe(reference, 'backslashes are not path separators here');
  if (filePath.startsWith('//')) unsafe(reference, 'a protocol-relative URL names another host');
  if (SCHEME.test(filePath)) unsafe(reference, 'absolute URLs and schemes (http:, data:, C:) are not files under a root');
  if (ENCODED_SEPARATOR.test(filePath)) unsafe(reference, 'percent-encoded dots, slashes, backslashes or NUL are refused');
  if (filePath.startsWith('/')) filePath = filePath.slice(1);

  const kept: string[] = [];
  for (const segment of filePath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (DOT_DOT.test(segment)) unsafe(reference, '".." segments could leave the root');
    if (kept.length === 0 && segment.includes(':')) unsafe(reference, 'a colon in the first segment reads as a scheme or drive');
    if (NON_ASCII.test(segment)) {
      // Look-alikes such as U+FF0E (fullwidth full stop), U+2025 (two dot leader) or U+FF0F (fullwidth
      // solidus) become '.', '..' and '/' under NFKC, which some servers and filesystems apply; the
      // slash look-alikes NFKC keeps are listed apart. Refuse what could then traverse.
      const folded = segment.normalize('NFKC');
      if (DOT_DOT.test(folded) || /[/\\]/.test(folded) || SLASH_LOOK_ALIKE.test(segment)) {
        unsafe(reference, 'Unicode look-alikes of ".." or "/" are refused');
      }
    }
    kept.push(segment);
  }
  return { path: kept.join('/'), query, fragment };
}

/** Whether a root serves a canonical path: its prefix is empty or starts the path. Roots are tried in array order. */
export function rootClaims(root: NormalizedRoot, canonical: string): boolean {
  return root.prefix === '' || canonical.startsWith(root.prefix);
}

/** Where a canonical path was found. */
export interface ResolvedFile {
  /** Real path of the file (symlinks resolved), inside `root.realDir`. */
  file: string;
  root: NormalizedRoot;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG';
}

/**
 * Finds the file a canonical path names: roots whose prefix matches are tried longest prefix first,
 * the first that has the file wins. Returns undefined when none has it. Throws `ERR_STATIC_UNSAFE_PATH`
 * when the real path (after symlinks) leaves its root.
 */
export function resolveFile(canonical: string, roots: readonly NormalizedRoot[], reference: string): ResolvedFile | undefined {
  for (const root of roots) {
    if (!rootClaims(root, canonical)) continue;
    const relative = canonical.slice(root.prefix.length);
    const candidate = relative === '' ? root.realDir : root.realDir + path.sep + relative;
    let real: string;
    try {
      real = fs.realpathSync.native(candidate);
    } catch (error) {
      if (isMissing(error)) continue;
      throw new StaticHashError('ERR_STATIC_IO', `static-hash: cannot read ${describeValue(reference)}: ${(error as Error).message}`, {
        reference, file: candidate, cause: error,
      });
    }
    if (real !== root.realDir && !real.startsWith(root.realDir + path.sep)) {
      unsafe(reference, 'its real path (after symlinks) is outside the root');
    }
    return { file: real, root };
  }
  return undefined;
}

/** The path a missing reference was first looked for at, for messages. */
export function lookedForPath(canonical: string, roots: readonly NormalizedRoot[]): string {
  const root = roots.find((entry) => rootClaims(entry, canonical)) ?? roots[roots.length - 1]!;
  return path.join(root.dir, canonical.slice(root.prefix.length));
}
