// The pure functions that turn a request target into a reference and a version: no I/O, no state,
// so each is unit-tested alone (test/adapters/serve/request-path.test.ts).
import { baseUrlPath } from '../../src/internal.js';

/** A request path that cannot be a file's URL: a malformed or unsafe one, answered 400. */
export const MALFORMED = Symbol('malformed');

// The scheme and authority of an absolute-form request target ('GET http://host/static/x HTTP/1.1'),
// which HTTP/1.1 servers must accept (RFC 9112 3.2.2) and proxies may send.
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The request target without the scheme and host of an absolute-form target: always a path, or '*'.
 *
 * @example
 * originForm('http://example.com/static/a.js?v=1') //=> '/static/a.js?v=1'
 */
export function originForm(url: string): string {
  if (url.charCodeAt(0) === 47) return url;
  const authority = ABSOLUTE_FORM.exec(url);
  if (authority === null) return url;
  const rest = url.slice(authority[0].length);
  return rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
}

/**
 * Decodes a request path (after the base path) into a reference, one segment at a time, so an
 * encoded '/' can never become a separator. Returns MALFORMED for bad percent-encoding (including
 * overlong UTF-8 such as %c0%ae) and encoded separators, undefined for names no reference can
 * write ('?' and '#' start a reference's query and fragment), and leaves every other check
 * (.., NUL, backslash, schemes, look-alikes) to the core's parseReference.
 *
 * @example
 * decodeRequestPath('a%20b.txt') //=> 'a b.txt'
 * decodeRequestPath('..%2fsecret') //=> MALFORMED
 */
export function decodeRequestPath(rawPath: string): string | typeof MALFORMED | undefined {
  if (rawPath.includes('#')) return undefined;
  if (!rawPath.includes('%')) return rawPath;
  const segments = rawPath.split('/');
  for (let index = 0; index < segments.length; index++) {
    let segment: string;
    try {
      segment = decodeURIComponent(segments[index]!);
    } catch {
      return MALFORMED;
    }
    if (segment.includes('/')) return MALFORMED;
    if (segment.includes('?') || segment.includes('#')) return undefined;
    segments[index] = segment;
  }
  return segments.join('/');
}

function isHexHash(text: string, length: number): boolean {
  if (text.length !== length) return false;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return false;
  }
  return true;
}

/**
 * The inverse of the core's filename style: 'js/app.3f9a1c0b7d2e.js' -> 'js/app.js', 'LICENSE.H' ->
 * 'LICENSE', '.env.H' -> '.env'. Only a name the core could have produced is taken apart: the hash
 * must be exactly `hashLength` lower-case hex characters. Undefined for any other name.
 *
 * @example
 * removeFilenameHash('js/app.3f9a1c0b7d2e.js', 12) //=> { reference: 'js/app.js', hash: '3f9a1c0b7d2e' }
 */
export function removeFilenameHash(reference: string, hashLength: number): { reference: string; hash: string } | undefined {
  const slash = reference.lastIndexOf('/');
  const name = reference.slice(slash + 1);
  const directory = reference.slice(0, slash + 1);
  const lastDot = name.lastIndexOf('.');
  if (lastDot <= 0) return undefined;
  // 'LICENSE.H' / '.env.H': names without an extension get the hash appended.
  const tail = name.slice(lastDot + 1);
  if (isHexHash(tail, hashLength) && name.lastIndexOf('.', lastDot - 1) <= 0) {
    return { reference: directory + name.slice(0, lastDot), hash: tail };
  }
  // 'app.H.js': the hash goes before the last extension.
  const hashDot = name.lastIndexOf('.', lastDot - 1);
  if (hashDot <= 0) return undefined;
  const hash = name.slice(hashDot + 1, lastDot);
  if (!isHexHash(hash, hashLength)) return undefined;
  return { reference: directory + name.slice(0, hashDot) + name.slice(lastDot), hash };
}

/**
 * The inverse of filename style for a release version (`version: '1.4.2'`): 'js/app.1.4.2.js' ->
 * 'js/app.js', 'LICENSE.1.4.2' -> 'LICENSE'. A version has dots of its own, so the name is matched
 * against the exact version rather than taken apart at dots. Undefined for any other name.
 *
 * @example
 * removeFilenameVersion('js/app.1.4.2.js', '1.4.2') //=> { reference: 'js/app.js', hash: '1.4.2' }
 */
export function removeFilenameVersion(reference: string, version: string): { reference: string; hash: string } | undefined {
  const slash = reference.lastIndexOf('/');
  const directory = reference.slice(0, slash + 1);
  const name = reference.slice(slash + 1);
  const marker = `.${version}`;
  const lastDot = name.lastIndexOf('.');
  if (lastDot > 0) {
    const extension = name.slice(lastDot);
    const stem = name.slice(0, lastDot);
    if (stem.endsWith(marker) && stem.length > marker.length) {
      return { reference: directory + stem.slice(0, -marker.length) + extension, hash: version };
    }
  }
  if (name.endsWith(marker) && name.length > marker.length) return { reference: directory + name.slice(0, -marker.length), hash: version };
  return undefined;
}

/**
 * The version in a query: the last `param=value` pair, or with `param: ''` the last pair without '='.
 *
 * @example
 * versionInQuery('x=1&v=3f9a1c0b7d2e', 'v') //=> '3f9a1c0b7d2e'
 */
export function versionInQuery(query: string, param: string): string | undefined {
  let version: string | undefined;
  const prefix = `${param}=`;
  for (const pair of query.split('&')) {
    if (param === '') {
      if (pair !== '' && !pair.includes('=')) version = pair;
    } else if (pair.startsWith(prefix)) {
      version = pair.slice(prefix.length);
    }
  }
  return version;
}

/**
 * Whether a canonical path has a segment starting with '.', other than a leading '.well-known' (RFC 8615).
 *
 * @example
 * isHiddenPath('.git/config') //=> true
 * isHiddenPath('.well-known/security.txt') //=> false
 */
export function isHiddenPath(canonical: string): boolean {
  if (canonical.charCodeAt(0) !== 46 && !canonical.includes('/.')) return false;
  const segments = canonical.split('/');
  for (let index = 0; index < segments.length; index++) {
    if (segments[index]!.startsWith('.') && !(index === 0 && segments[index] === '.well-known')) return true;
  }
  return false;
}

/**
 * The path part of a base URL: '/static/' as is, '/assets/' for 'https://cdn.example.com/assets/'.
 *
 * @example
 * pathOfBaseUrl('https://cdn.example.com/assets') //=> '/assets/'
 */
export function pathOfBaseUrl(baseUrl: string): string {
  const path = baseUrlPath(baseUrl);
  return path.endsWith('/') ? path : `${path}/`;
}
