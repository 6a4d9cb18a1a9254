/**
 * Recognises a reference that already carries a version in the hasher's own URL form, as the
 * stylesheets `static-hash build` writes do (`/static/img/a.png?v=3f9a1c0b7d2e`,
 * `/static/img/a.3f9a1c0b7d2e.png`): a hasher whose root is a build output rewrites such a
 * reference to the current version instead of adding a second one (no `?v=H&v=H`, no hash of a hash).
 */

/** A stylesheet reference resolved to a file under the roots (CssTarget's `file` kind). */
export interface VersionedTarget {
  kind: 'file';
  path: string;
  query: string | undefined;
  fragment: string | undefined;
}

/** The URL-shaping options this needs. */
export interface OwnVersionOptions {
  urlStyle: 'query' | 'filename';
  param: string;
  hashLength: number;
}

/**
 * `target` without the version it already carries: with `urlStyle: 'query'`, a `<param>=<hex>`
 * pair (or, with `param: ''`, a bare `<hex>` pair) of exactly `hashLength` hex characters is
 * dropped from the query; with `'filename'`, a name `<stem>.<hex>.<ext>` (or `<name>.<hex>`) stands
 * for `<stem>.<ext>` when `exists` says that file is there. Anything else is returned as it is.
 *
 * @example
 * withoutOwnVersion({ kind: 'file', path: 'img/a.png', query: 'x=1&v=3f9a1c0b7d2e', fragment: undefined },
 *   { urlStyle: 'query', param: 'v', hashLength: 12 }, () => true)
 * //=> { kind: 'file', path: 'img/a.png', query: 'x=1', fragment: undefined }
 */
export function withoutOwnVersion(target: VersionedTarget, options: OwnVersionOptions, exists: (canonical: string) => boolean): VersionedTarget {
  const { urlStyle, param, hashLength } = options;
  if (urlStyle === 'query') {
    if (target.query === undefined || target.query === '') return target;
    const version = new RegExp(`^${param === '' ? '' : `${param.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}=`}[0-9a-f]{${hashLength}}$`);
    const pairs = target.query.split('&');
    const kept = pairs.filter((pair) => !version.test(pair));
    if (kept.length === pairs.length) return target;
    return { ...target, query: kept.length === 0 ? undefined : kept.join('&') };
  }
  const slash = target.path.lastIndexOf('/');
  const name = target.path.slice(slash + 1);
  const match = new RegExp(`^(.+)\\.[0-9a-f]{${hashLength}}(\\.[^.]*)?$`).exec(name);
  if (match === null) return target;
  const plain = `${target.path.slice(0, slash + 1)}${match[1]}${match[2] ?? ''}`;
  return exists(plain) ? { ...target, path: plain } : target;
}
