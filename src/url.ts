/**
 * Percent-encodes one path segment so the URL is safe in an HTML attribute (either quote), in an
 * unquoted CSS url() and in an HTTP header: beyond encodeURIComponent, also ! ' ( ) *.
 */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Encodes a canonical path ('a b/é.css') segment by segment ('a%20b/%C3%A9.css'). */
export function encodePath(canonical: string): string {
  return canonical.split('/').map(encodeSegment).join('/');
}

// Keeps the query's and fragment's own structure (& = / ? : @ and existing %XX escapes) and encodes
// everything that could break out of an attribute or a CSS url(): quotes, <, >, spaces, parentheses.
const QUERY_UNSAFE = /[^A-Za-z0-9\-._~!$&*+,;=:@/?%]|%(?![0-9A-Fa-f]{2})/gu;

/** Encodes a query or fragment written in a reference, keeping its separators. */
export function encodeQueryPart(text: string): string {
  // encodeSegment, not encodeURIComponent: the latter leaves ' ( ) as they are.
  return text.replace(QUERY_UNSAFE, encodeSegment);
}

/** 'js/app.js' + 'H' -> 'js/app.H.js'; 'LICENSE' -> 'LICENSE.H'; '.env' -> '.env.H'. */
export function insertHashInFilename(encodedPath: string, hash: string): string {
  const slash = encodedPath.lastIndexOf('/');
  const dot = encodedPath.lastIndexOf('.');
  if (dot <= slash + 1) return `${encodedPath}.${hash}`;
  return `${encodedPath.slice(0, dot)}.${hash}${encodedPath.slice(dot)}`;
}

export interface UrlParts {
  baseUrl: string;
  encodedPath: string;
  hash: string | undefined;
  query: string | undefined;
  fragment: string | undefined;
  urlStyle: 'query' | 'filename';
  param: string;
}

/**
 * Joins the parts of a URL. The version goes last in the query (`?x=1&v=H`), the fragment after it;
 * with no hash there is no version and no dangling '?'.
 */
export function formatUrl(parts: UrlParts): string {
  const { hash, query, fragment } = parts;
  let url = parts.baseUrl;
  let search = query === undefined ? undefined : encodeQueryPart(query);
  if (hash === undefined) {
    url += parts.encodedPath;
  } else if (parts.urlStyle === 'filename') {
    url += insertHashInFilename(parts.encodedPath, hash);
  } else {
    url += parts.encodedPath;
    const version = parts.param === '' ? hash : `${parts.param}=${hash}`;
    search = search === undefined || search === '' ? version : `${search}&${version}`;
  }
  if (search !== undefined) url += `?${search}`;
  if (fragment !== undefined) url += `#${encodeQueryPart(fragment)}`;
  return url;
}

/**
 * The path part of a base URL, which request paths and root-relative stylesheet references start
 * with: '/static/' for '/static/' and for 'https://cdn.example.com/static/', '/' for '//cdn.example.com'.
 */
export function baseUrlPath(baseUrl: string): string {
  const match = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/[^/]*(\/.*)?$/.exec(baseUrl);
  if (!match) return baseUrl;
  return match[1] ?? '/';
}
