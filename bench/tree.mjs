// A deterministic tree of static files for benchmarks: by default 2,000 files, about 80 MiB, most
// between 1 and 64 KiB, a few of 1-3 MiB, spread over nested directories like a real site's assets.
// The same seed always gives the same names, sizes and bytes, so runs compare like with like.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const KIB = 1024;
const MIB = 1024 * KIB;
const EXTENSIONS = ['js', 'css', 'png', 'jpg', 'svg', 'woff2', 'json', 'map'];

/** A small fast PRNG (xorshift32); `next()` returns an unsigned 32-bit integer. */
function prng(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

/**
 * Writes the tree under `dir` (created if needed) and returns what it wrote.
 *
 * @param {string} dir
 * @param {{ files?: number, large?: number, seed?: number }} [options]
 *   files: how many files (default 2000); large: how many of them are 1-3 MiB (default 10); seed.
 * @returns {{ dir: string, files: string[], bytes: number }} files: paths relative to dir, '/'-separated.
 */
export function generateTree(dir, { files = 2000, large = 10, seed = 1 } = {}) {
  const next = prng(seed);
  fs.mkdirSync(dir, { recursive: true });
  // One buffer of pseudo-random bytes; each file is a slice of it at a seeded offset, with its index
  // stamped at the start so no two files share content (and so no two share a hash).
  const pool = Buffer.allocUnsafe(4 * MIB);
  const words = new Uint32Array(pool.buffer, pool.byteOffset, pool.length / 4);
  for (let index = 0; index < words.length; index++) words[index] = next();

  const written = [];
  const largeEvery = Math.max(1, Math.floor(files / Math.max(1, large)));
  let largeWritten = 0;
  let bytes = 0;
  for (let index = 0; index < files; index++) {
    const isLarge = index % largeEvery === 0 && largeWritten < large;
    if (isLarge) largeWritten++;
    const size = isLarge ? MIB + (next() % (2 * MIB)) : KIB + (next() % (63 * KIB));
    const depth = 1 + (next() % 3);
    const segments = [];
    for (let level = 0; level < depth; level++) segments.push(`d${level}-${next() % 6}`);
    const name = `${segments.join('/')}/file-${index}.${EXTENSIONS[next() % EXTENSIONS.length]}`;
    const full = path.join(dir, ...name.split('/'));
    fs.mkdirSync(path.dirname(full), { recursive: true });
    const content = Buffer.allocUnsafe(size);
    let offset = 0;
    while (offset < size) {
      const start = next() % (pool.length / 2);
      offset += pool.copy(content, offset, start, start + Math.min(size - offset, pool.length - start));
    }
    content.writeUInt32LE(index, 0);
    fs.writeFileSync(full, content);
    written.push(name);
    bytes += size;
  }
  return { dir, files: written, bytes };
}

/** A fresh temporary directory for a benchmark, under os.tmpdir(). */
export function makeBenchDir(label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `static-hash-bench-${label}-`));
}

/** Removes a directory made by {@link makeBenchDir}. */
export function removeBenchDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}
