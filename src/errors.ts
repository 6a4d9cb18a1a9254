/**
 * Every failure static-hash reports on purpose is a {@link StaticHashError} with one of these codes.
 * Codes are stable: match on `error.code`, never on the message.
 */
export type StaticHashErrorCode =
  /** An option given to a factory is unknown or has a value it does not accept. */
  | 'ERR_STATIC_INVALID_OPTION'
  /** A reference is not a non-empty string (templates passing `undefined`, numbers, objects). */
  | 'ERR_STATIC_INVALID_REFERENCE'
  /** A reference could leave its root: `..`, NUL, backslash, absolute, scheme, encoded separator, symlink out. */
  | 'ERR_STATIC_UNSAFE_PATH'
  /** No file under any root matches the reference (only thrown with `onMissing: 'throw'`). */
  | 'ERR_STATIC_NOT_FOUND'
  /** The reference names a directory or another non-regular file. */
  | 'ERR_STATIC_NOT_A_FILE'
  /** The file exists but could not be read (permissions, I/O error). */
  | 'ERR_STATIC_IO'
  /** A build-time manifest is unreadable, corrupt, or was built with options that shape URLs differently from the hasher's. */
  | 'ERR_STATIC_MANIFEST'
  /** A module of a module graph does not parse, or imports a bare specifier that the `modules.imports` option does not map (only thrown with `onMissing: 'throw'`). */
  | 'ERR_STATIC_MODULE'
  /** A worker thread of `warm()`'s or the manifest build's pool failed (crashed, ran out of memory); nothing of that call was stored. */
  | 'ERR_STATIC_WORKER';

const STATUS_BY_CODE: Record<StaticHashErrorCode, number | undefined> = {
  ERR_STATIC_INVALID_OPTION: undefined,
  ERR_STATIC_INVALID_REFERENCE: 400,
  ERR_STATIC_UNSAFE_PATH: 400,
  ERR_STATIC_NOT_FOUND: 404,
  ERR_STATIC_NOT_A_FILE: 404,
  ERR_STATIC_IO: 500,
  ERR_STATIC_MANIFEST: undefined,
  ERR_STATIC_MODULE: undefined,
  ERR_STATIC_WORKER: undefined,
};

/** Details attached to a {@link StaticHashError}. */
export interface StaticHashErrorDetails {
  /** The reference as the caller wrote it, when the error is about a reference. */
  reference?: unknown;
  /** The absolute file path involved, where known. */
  file?: string;
  /** The option name, for `ERR_STATIC_INVALID_OPTION`. */
  option?: string;
  /** The offending value. */
  value?: unknown;
  /** The underlying error, if any. */
  cause?: unknown;
}

// One brand for every copy of this module: an app that loads the CommonJS build (require) and the ESM
// build (import) gets two StaticHashError classes, and `instanceof` must hold across them.
const BRAND = Symbol.for('static-hash.StaticHashError');

/**
 * The one error class of static-hash. `instanceof StaticHashError` holds for an error made by any
 * loaded copy of the package (CommonJS and ESM builds alike), through a shared brand.
 *
 * @example
 * try { hasher.url('../etc/passwd'); }
 * catch (error) { if (error instanceof StaticHashError && error.code === 'ERR_STATIC_UNSAFE_PATH') … }
 */
export class StaticHashError extends Error {
  override readonly name = 'StaticHashError';
  /** Stable machine-readable code. */
  readonly code: StaticHashErrorCode;
  /** The HTTP status this error maps to, where it maps to one (400 for bad references, 404 for missing files). */
  readonly status: number | undefined;
  readonly reference: unknown;
  readonly file: string | undefined;
  readonly option: string | undefined;
  readonly value: unknown;

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== StaticHashError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  constructor(code: StaticHashErrorCode, message: string, details: StaticHashErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    Object.defineProperty(this, BRAND, { value: true });
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.reference = details.reference;
    this.file = details.file;
    this.option = details.option;
    this.value = details.value;
  }
}

/** The longest echo of a value or a path in a message, in characters: past it, the middle is cut. */
export const MAX_ECHOED_LENGTH = 120;

/**
 * Shortens text echoed in a message to {@link MAX_ECHOED_LENGTH} characters, keeping its start and
 * its end (a path's root and file name) around one ellipsis. The one place messages are cut: a 1 MB
 * reference gives a one-line warning, not a 1 MB one.
 */
function cutForMessage(text: string): string {
  if (text.length <= MAX_ECHOED_LENGTH) return text;
  const head = Math.ceil((MAX_ECHOED_LENGTH - 1) / 2);
  const tail = MAX_ECHOED_LENGTH - 1 - head;
  return `${text.slice(0, head)}…${text.slice(text.length - tail)}`;
}

/** Renders any value for an error message: strings quoted, others by type, long values cut with an ellipsis. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value === null || value === undefined) text = String(value);
  else if (typeof value === 'function') text = 'a function';
  else if (Array.isArray(value)) text = 'an array';
  else if (typeof value === 'object') text = 'an object';
  else text = `${typeof value} ${String(value)}`;
  return cutForMessage(text);
}

/** Renders a file path for a message, as it is (unquoted), long paths cut with an ellipsis. */
export function describePath(file: string): string {
  return cutForMessage(file);
}

/**
 * Throws `ERR_STATIC_INVALID_OPTION` for a bad option: `<scope>: option "<option>" must be
 * <expected>; got <value>`. `subject` replaces `option "<option>"` where the bad value is an
 * argument rather than an option (`registerStatic(env, hasher): env`). Shared by the core's options
 * and every adapter's, through src/internal.ts.
 */
export function invalidOption(scope: string, option: string, expected: string, value: unknown, subject = `option "${option}"`): never {
  throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `${scope}: ${subject} must be ${expected}; got ${describeValue(value)}`, { option, value });
}
