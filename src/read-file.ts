import fs from 'node:fs';
import { StaticHashError, describeValue } from './errors.js';

/**
 * How every reader opens a file it was given by real path (after resolution or a walk).
 *
 * - O_NOFOLLOW: the path was checked to stay inside its root; a symlink swapped in since is refused
 *   (ELOOP), never followed out of the root.
 * - O_NONBLOCK: opening a FIFO would otherwise block until a writer appears, hanging a synchronous
 *   render forever; with it the open returns at once and the fstat check refuses the FIFO. It changes
 *   nothing for regular files.
 */
export const SAFE_OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/** `ERR_STATIC_IO` for a file that could not be read. */
export function ioError(reference: string, file: string, error: unknown): StaticHashError {
  return new StaticHashError('ERR_STATIC_IO', `static-hash: cannot read ${describeValue(reference)}: ${(error as Error).message}`, {
    reference, file, cause: error,
  });
}

/** `ERR_STATIC_NOT_A_FILE` for a directory, FIFO, socket or device. */
export function notAFile(reference: string, file: string): StaticHashError {
  return new StaticHashError('ERR_STATIC_NOT_A_FILE', `static-hash: not a file: ${describeValue(reference)} is a directory or special file`, {
    reference, file,
  });
}

/**
 * Opens `file` (a real path) with {@link SAFE_OPEN_FLAGS}: the descriptor, or undefined when the file
 * (or a directory on its path) vanished. The caller fstats it and closes it. For readers that keep a
 * descriptor open across asynchronous work (serving); the others use {@link withRegularFile}.
 *
 * @throws {StaticHashError} `ERR_STATIC_UNSAFE_PATH` when it became a symlink; `ERR_STATIC_NOT_A_FILE`
 *   for a socket; `ERR_STATIC_IO` for any other failure.
 */
export function openFile(file: string, reference: string): number | undefined {
  try {
    return fs.openSync(file, SAFE_OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') {
      throw new StaticHashError('ERR_STATIC_UNSAFE_PATH', `static-hash: unsafe path ${describeValue(reference)}: it became a symlink`, { reference, file });
    }
    // A Unix socket cannot be opened at all (ENXIO): it is a special file like a FIFO.
    if (code === 'ENXIO') throw notAFile(reference, file);
    throw ioError(reference, file, error);
  }
}

/**
 * Opens `file` (a real path) if it is a regular file, hands the descriptor and its fstat to `use`,
 * and closes it. The one open → fstat → errno-to-error sequence of the package: digests, `read()`,
 * `integrity()`, stylesheets, `warm()` and the manifest build all go through it.
 *
 * Returns undefined when the file (or a directory on its path) vanished: callers treat that as missing.
 *
 * @throws {StaticHashError} `ERR_STATIC_UNSAFE_PATH` when it became a symlink; `ERR_STATIC_NOT_A_FILE`
 *   for a directory, FIFO, socket or device; `ERR_STATIC_IO` for any other failure (permissions, I/O),
 *   including one thrown by `use` that is not a StaticHashError.
 */
export function withRegularFile<T>(file: string, reference: string, use: (fd: number, stats: fs.Stats) => T): T | undefined {
  const fd = openFile(file, reference);
  if (fd === undefined) return undefined;
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile()) throw notAFile(reference, file);
    return use(fd, stats);
  } catch (error) {
    if (error instanceof StaticHashError) throw error;
    throw ioError(reference, file, error);
  } finally {
    fs.closeSync(fd);
  }
}

/** The bytes of a regular file, or undefined if it vanished. Throws as {@link withRegularFile}. */
export function readRegularFile(file: string, reference: string): Buffer | undefined {
  return withRegularFile(file, reference, readDescriptor);
}

function readDescriptor(fd: number): Buffer {
  return fs.readFileSync(fd);
}
