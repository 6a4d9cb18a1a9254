import fs from 'node:fs';
import xxhash from 'xxhash-wasm';
import { withRegularFile } from './read-file.js';

type XXHashApi = Awaited<ReturnType<typeof xxhash>>;

/** Read size, and the size up to which a file is hashed in one call. 1 MiB reads measured ~4x faster than 64 KiB ones. */
export const CHUNK_SIZE = 1024 * 1024;

let api: XXHashApi | undefined;
let loading: Promise<XXHashApi> | undefined;
// One buffer for every digest: digests are synchronous, so no two ever use it at once.
let chunk: Buffer | undefined;

/** Loads the xxHash WebAssembly module once per process. */
export async function loadDigester(): Promise<void> {
  if (api) return;
  loading ??= xxhash();
  api = await loading;
}

/**
 * The read buffer, page-aligned. Where a 1 MiB buffer starts within its memory page changes the speed
 * of the copies it goes through (kernel to buffer, buffer to the hash's WebAssembly memory): at page
 * offset 16, which malloc gives to large blocks it maps fresh, hashing measured 1.5x slower than at
 * offset 0, and which one a long-lived buffer got depended on what the process had allocated before.
 * WebAssembly memory is always page-aligned, so the buffer is a view of one (plain memory otherwise).
 */
// The global exists in every Node version supported; lib "dom" (which types it) is not loaded.
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer } };

function allocateChunk(): Buffer {
  try {
    return Buffer.from(new WebAssembly.Memory({ initial: CHUNK_SIZE / 65_536 }).buffer, 0, CHUNK_SIZE);
  } catch {
    return Buffer.allocUnsafe(CHUNK_SIZE);
  }
}

function hex(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

/** xxHash64 of bytes in memory, as 16 lower-case hex characters. Requires {@link loadDigester} first. */
export function digestBytes(bytes: Uint8Array): string {
  return hex(api!.h64Raw(bytes));
}

/**
 * xxHash64 of a file's raw bytes, as 16 lower-case hex characters, read synchronously in 1 MiB chunks
 * into one reused buffer: memory stays flat whatever the file size. Reads to end of file rather than
 * trusting a size from stat, so a file growing mid-read is hashed as read. Throws `ERR_STATIC_NOT_A_FILE`
 * for anything but a regular file; returns undefined if the file vanished.
 */
export function digestFile(file: string, reference: string): string | undefined {
  return withRegularFile(file, reference, digestDescriptor);
}

// Module-level rather than a closure per call: warm() digests thousands of files in a row.
function digestDescriptor(fd: number): string {
  chunk ??= allocateChunk();
  let read = fs.readSync(fd, chunk, 0, CHUNK_SIZE, null);
  if (read < CHUNK_SIZE) return hex(api!.h64Raw(chunk.subarray(0, read)));
  const state = api!.create64();
  while (read > 0) {
    state.update(read === CHUNK_SIZE ? chunk : chunk.subarray(0, read));
    read = fs.readSync(fd, chunk, 0, CHUNK_SIZE, null);
  }
  return hex(state.digest());
}

/** An incremental xxHash64, for bytes that arrive in pieces (a file read asynchronously). Requires {@link loadDigester} first. */
export function createDigest(): { update(bytes: Uint8Array): void; digest(): string } {
  const state = api!.create64();
  return {
    update: (bytes) => void state.update(bytes),
    digest: () => hex(state.digest()),
  };
}
