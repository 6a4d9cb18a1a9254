// The options every serving adapter takes, validated once with every default in one place.
import type { Stats } from 'node:fs';
import type { AssetEncoding, StaticHasher } from '../../src/index.js';
import { checkHasher as checkStaticHasher, invalidOption, rejectUnknownKeys } from '../../src/internal.js';
import { pathOfBaseUrl } from './request-path.js';

/** A precompressed sibling the middleware can serve: `br` from `file.br`, `gzip` from `file.gz`. */
export type PrecompressedEncoding = AssetEncoding;

/** Options shared by the serving adapters. Every option is optional. */
export interface ServeOptions<Response> {
  /**
   * The URL path the files are served under, as requests reach this server. Only requests under it
   * are answered; others go to `next()`. Set it when a CDN or proxy rewrites paths, e.g. `baseUrl`
   * `'https://cdn.example.com/'` pulling from `https://origin.example.com/static/` needs `'/static/'`.
   * A missing trailing slash is added.
   * @default the path of the hasher's `baseUrl` (`'/static/'`; `'/assets/'` for `'https://cdn.example.com/assets/'`)
   */
  basePath?: string;
  /**
   * What a request carrying a version other than the current one gets: `'serve'` answers the current
   * content with `Cache-Control: no-cache`; `'redirect'` answers `307` to the current URL. A request
   * without any version is always served.
   * @default 'serve'
   */
  staleVersion?: 'serve' | 'redirect';
  /**
   * `true`: a missing file, a directory or an ignored dotfile goes to `next()`, so later middleware
   * can answer. `false`: the middleware answers `404` itself. (Defaults to true like serve-static's.)
   * @default true
   */
  fallthrough?: boolean;
  /**
   * Files or directories whose name starts with a dot: `'ignore'` treats them as missing, `'deny'`
   * answers `403`, `'allow'` serves them. A first path segment `.well-known` (RFC 8615) is always
   * served.
   * @default 'ignore'
   */
  dotfiles?: 'ignore' | 'deny' | 'allow';
  /**
   * Precompressed siblings to look for, in order of preference when the client accepts several
   * equally: `'br'` serves `app.js.br`, `'gzip'` serves `app.js.gz`. `[]` turns this off. A sibling
   * is served only if it decompresses to exactly the file's bytes.
   * @default ['br', 'gzip']
   */
  encodings?: PrecompressedEncoding[];
  /**
   * Called before a file is answered (200, 206, 304, 412, 416), to add headers, like serve-static's
   * hook. It runs after the middleware set its own, so it may override them (`Cache-Control`
   * included). `file` is the real path of the requested (uncompressed) file; `stat` describes the
   * bytes sent (the precompressed sibling when one is served), taken when they were hashed. A hook
   * that throws goes to `next(error)`.
   * @default undefined
   */
  setHeaders?: (res: Response, file: string, stat: Stats) => void;
}

/** {@link ServeOptions} with every default filled in. */
export interface NormalizedServeOptions<Response> {
  /** Starts and ends with '/'. */
  basePath: string;
  staleVersion: 'serve' | 'redirect';
  fallthrough: boolean;
  dotfiles: 'ignore' | 'deny' | 'allow';
  /** Distinct, in order of preference. */
  encodings: PrecompressedEncoding[];
  setHeaders: ((res: Response, file: string, stat: Stats) => void) | undefined;
}

const OPTION_NAMES = ['basePath', 'staleVersion', 'fallthrough', 'dotfiles', 'encodings', 'setHeaders'] as const;

/** Every default in one place. */
const DEFAULTS = {
  staleVersion: 'serve',
  fallthrough: true,
  dotfiles: 'ignore',
  encodings: ['br', 'gzip'],
} as const;

const URL_PATH_SAFE = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;

/** Throws the option error of an adapter (`static-hash/express: option "x" must be …`). */
function invalidServeOption(adapter: string, option: string, expected: string, value: unknown): never {
  invalidOption(adapter, option, expected, value);
}

function choice<T extends string>(adapter: string, value: unknown, option: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) invalidServeOption(adapter, option, `one of ${choices.map((entry) => `"${entry}"`).join(', ')}`, value);
  return value as T;
}

/**
 * Validates the serving options and fills in every default. Throws `ERR_STATIC_INVALID_OPTION`
 * naming the first bad option, or the closest known name for a misspelt one. `adapter` names the
 * entry point in messages ('static-hash/express').
 */
export function normalizeServeOptions<Response>(adapter: string, hasher: StaticHasher, options: ServeOptions<Response> = {}): NormalizedServeOptions<Response> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalidServeOption(adapter, 'options', 'an object', options);
  rejectUnknownKeys(options, OPTION_NAMES, 'serveStatic() option');

  let basePath: string;
  if (options.basePath === undefined) {
    basePath = pathOfBaseUrl(hasher.options.baseUrl);
  } else {
    if (typeof options.basePath !== 'string' || !URL_PATH_SAFE.test(options.basePath) || options.basePath.startsWith('//')) {
      invalidServeOption(adapter, 'basePath', 'a URL path starting with "/" such as "/static/", without query or fragment', options.basePath);
    }
    basePath = options.basePath.endsWith('/') ? options.basePath : `${options.basePath}/`;
  }

  if (options.fallthrough !== undefined && typeof options.fallthrough !== 'boolean') invalidServeOption(adapter, 'fallthrough', 'a boolean', options.fallthrough);

  let encodings: PrecompressedEncoding[] = [...DEFAULTS.encodings];
  if (options.encodings !== undefined) {
    const list: unknown = options.encodings;
    if (!Array.isArray(list) || list.some((entry) => entry !== 'br' && entry !== 'gzip') || new Set(list).size !== list.length) {
      invalidServeOption(adapter, 'encodings', 'an array of distinct "br" and "gzip" (or [] for none)', list);
    }
    encodings = [...(list as PrecompressedEncoding[])];
  }

  if (options.setHeaders !== undefined && typeof options.setHeaders !== 'function') {
    invalidServeOption(adapter, 'setHeaders', 'a function (res, file, stat) => void', options.setHeaders);
  }

  return {
    basePath,
    staleVersion: choice(adapter, options.staleVersion, 'staleVersion', ['serve', 'redirect'] as const, DEFAULTS.staleVersion),
    fallthrough: options.fallthrough ?? DEFAULTS.fallthrough,
    dotfiles: choice(adapter, options.dotfiles, 'dotfiles', ['ignore', 'deny', 'allow'] as const, DEFAULTS.dotfiles),
    encodings,
    setHeaders: options.setHeaders,
  };
}

/**
 * Throws `ERR_STATIC_INVALID_OPTION` unless `hasher` is a hasher from createStaticHasher() (duck-typed
 * too: an ESM and a CommonJS copy of the package are different classes) that can serve assets.
 */
export function checkHasher(adapter: string, entry: string, hasher: unknown): asserts hasher is StaticHasher {
  checkStaticHasher(hasher, adapter, `${entry}'s first argument`);
  if (typeof (hasher as Partial<StaticHasher>).asset !== 'function') {
    invalidOption(adapter, 'hasher', 'a StaticHasher from createStaticHasher() of this version (with asset())', hasher, `${entry}'s first argument`);
  }
}
