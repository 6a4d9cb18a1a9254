// Core benchmarks (`npm run bench core`), each against a floor measured in the same run:
//   1. cached url() vs a Map.get plus string concatenation                     target <= 2x
//   2. cold warm() over 2,000 files (~80 MiB) vs readFileSync + h64Raw of each  target <= 1.5x
//      the same on the worker pool (issue #20), start-up included                 target <= 0.8x
//      (20,000 files with `warm20k`: target <= 0.6x); css: true and buildManifest() beside
//   3. hash() of a 1 GiB file vs a bare 1 MiB readSync loop into create64()     target <= 1.2x, RSS growth < 64 MiB
// Subject and floor run alternately (which goes first alternates too), several rounds, and medians
// are compared, so neither gets the warmer page cache, JIT or CPU share (the machine is shared) more
// often than the other. BENCH_VERBOSE=1 prints every run of the 1 GiB part.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import xxhash from 'xxhash-wasm';
import { buildManifest, createStaticHasher } from '../dist/esm/src/index.js';
import { POOL_MIN_FILES, threadCount } from '../dist/esm/src/pool.js';
import { median, report } from './report.mjs';
import { generateTree, makeBenchDir, removeBenchDir } from './tree.mjs';

const MIB = 1024 * 1024;
const xx = await xxhash();
const silent = { warn() {} };

/** Peak resident set size since the last reset, in bytes (Linux /proc). */
function peakRss() {
  const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}
/** Resets the peak RSS counter to the current RSS (Linux >= 4.0); false where that is not allowed. */
function resetPeakRss() {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

// --- 1. cached url() -------------------------------------------------------------------------------
async function benchCachedUrl() {
  const dir = makeBenchDir('url');
  try {
    const references = [];
    for (let index = 0; index < 64; index++) {
      const reference = `js/module-${index}.js`;
      fs.mkdirSync(path.join(dir, 'js'), { recursive: true });
      fs.writeFileSync(path.join(dir, reference), `export const n = ${index};`);
      references.push(reference);
    }
    const hasher = await createStaticHasher({ root: dir, logger: silent });
    // The floor: what any cache of finished parts must at least do per call.
    const map = new Map(references.map((reference) => [reference, `/static/${reference}`]));
    const version = `?v=${hasher.hash(references[0])}`;
    for (const reference of references) hasher.url(reference);

    const iterations = 2_000_000;
    const mask = references.length - 1;
    const subject = () => {
      let total = 0;
      const started = process.hrtime.bigint();
      for (let index = 0; index < iterations; index++) total += hasher.url(references[index & mask]).length;
      const elapsed = Number(process.hrtime.bigint() - started);
      if (total === 0) throw new Error('unreachable');
      return elapsed / iterations;
    };
    const floor = () => {
      let total = 0;
      const started = process.hrtime.bigint();
      for (let index = 0; index < iterations; index++) total += (map.get(references[index & mask]) + version).length;
      const elapsed = Number(process.hrtime.bigint() - started);
      if (total === 0) throw new Error('unreachable');
      return elapsed / iterations;
    };
    const subjectTimes = [];
    const floorTimes = [];
    for (let round = 0; round < 9; round++) {
      if (round % 2 === 0) floorTimes.push(floor());
      subjectTimes.push(subject());
      if (round % 2 === 1) floorTimes.push(floor());
    }
    const { hits, misses } = hasher.stats();
    if (misses !== references.length) throw new Error(`expected only the first lookups to miss, got ${misses} misses`);
    report({
      name: `cached url() (${references.length} references, median of 9 x ${iterations / 1e6}M calls, ${hits} hits)`,
      value: median(subjectTimes), floor: median(floorTimes), floorName: 'Map.get + string concatenation', unit: 'ns', target: 2,
    });
    await hasher.close();
  } finally {
    removeBenchDir(dir);
  }
}

// --- 2. cold warm() --------------------------------------------------------------------------------
async function benchWarm(files = 2000, label = 'warm') {
  const dir = makeBenchDir('tree');
  try {
    const generated = Date.now();
    const tree = generateTree(dir, { files });
    // Write the new tree back to disk before timing: otherwise the kernel's writeback of hundreds of
    // MiB runs during the first rounds, on the core a pool's worker would use.
    execFileSync('sync');
    console.log(`(${label} tree: ${tree.files.length} files, ${(tree.bytes / MIB).toFixed(1)} MiB, generated in ${Date.now() - generated} ms)`);
    const absolute = tree.files.map((file) => path.join(dir, file));

    const floor = () => {
      const started = process.hrtime.bigint();
      let sink = 0n;
      for (const file of absolute) sink ^= xx.h64Raw(fs.readFileSync(file));
      const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
      if (sink === -1n) throw new Error('unreachable');
      return elapsed;
    };
    // The floor reads and hashes bytes, nothing else; so does warm() with css: false. With the default
    // css: true, the tree's .css files (an eighth of it, random bytes) also go through the stylesheet
    // tokenizer: that extra work is printed separately, and measured properly by bench/css.bench.mjs.
    // threads: undefined is the default (the worker pool, os.availableParallelism() threads, its
    // start-up included in the time); threads: 1 is the single-thread path.
    // No default for `threads`: `subject(false, undefined)` must reach createStaticHasher() as
    // undefined (the pool), where a default parameter would turn it into 1.
    const subject = async (css, threads) => {
      // A new hasher each round: nothing cached, every file walked, resolved, checked and hashed.
      const hasher = await createStaticHasher({ root: dir, logger: silent, css, threads });
      const started = process.hrtime.bigint();
      const result = await hasher.warm();
      const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
      if (result.files !== tree.files.length) throw new Error(`warm() hashed ${result.files} files, expected ${tree.files.length}`);
      await hasher.close();
      return elapsed;
    };
    const manifest = async (threads) => {
      const started = process.hrtime.bigint();
      const result = await buildManifest({ root: dir, logger: silent, css: false, threads });
      if (result.files !== tree.files.length) throw new Error('manifest files');
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    floor(); // one untimed pass of each, so both start with the tree in the page cache
    await subject(false, 1);
    await subject(false, undefined);
    // No forced gc() between runs: on 2 busy cores, the background sweeping a forced GC starts
    // (here, of the floor's 85 MiB of buffers) overlaps whatever runs next and was measured to add
    // up to 40% to it. Each side pays for its own garbage instead.
    const times = { one: [], pool: [], cssOne: [], cssPool: [], floor: [], manifestOne: [], manifestPool: [] };
    const rounds = files > 2000 ? 5 : 11;
    for (let round = 0; round < rounds; round++) {
      // Which side goes first alternates, so neither always follows the other's cache and heap effects.
      if (round % 2 === 0) times.floor.push(floor());
      times.one.push(await subject(false, 1));
      times.pool.push(await subject(false, undefined));
      if (round % 2 === 1) times.floor.push(floor());
      if (round % 4 === 0) {
        times.cssOne.push(await subject(true, 1));
        times.cssPool.push(await subject(true, undefined));
        times.manifestOne.push(await manifest(1));
        times.manifestPool.push(await manifest(undefined));
      }
    }
    const floorName = 'readFileSync + h64Raw per file, one thread';
    const what = `${tree.files.length} files, ${(tree.bytes / MIB).toFixed(0)} MiB`;
    const best = (values) => Math.min(...values);
    report({ name: `cold warm() (${what}, css: false, threads: 1, median of ${rounds})`, value: median(times.one), floor: median(times.floor), floorName, unit: 'ms', target: 1.5 });
    report({
      name: files >= POOL_MIN_FILES
        ? `cold warm() (${what}, css: false, pool of ${threadCount()} threads with its start-up, median of ${rounds})`
        : `cold warm() (${what}, css: false, default threads: below POOL_MIN_FILES (${POOL_MIN_FILES}) one thread by design, median of ${rounds})`,
      value: median(times.pool), floor: median(times.floor), floorName, unit: 'ms', target: files > 2000 ? 0.6 : 0.8,
    });
    report({ name: '  the same, best', value: best(times.pool), floor: best(times.floor), floorName: 'floor, best', unit: 'ms' });
    console.log(`  every run (ms): floor ${times.floor.map((ms) => ms.toFixed(0)).join(' ')}; threads: 1 ${times.one.map((ms) => ms.toFixed(0)).join(' ')}; pool ${times.pool.map((ms) => ms.toFixed(0)).join(' ')}`);
    report({ name: `cold warm() with the default css: true, threads: 1 (median of ${times.cssOne.length})`, value: median(times.cssOne), floor: median(times.floor), floorName, unit: 'ms' });
    report({ name: `cold warm() with the default css: true, pool (median of ${times.cssPool.length})`, value: median(times.cssPool), floor: median(times.floor), floorName, unit: 'ms' });
    report({ name: `buildManifest() css: false, threads: 1 (median of ${times.manifestOne.length})`, value: median(times.manifestOne), floor: median(times.floor), floorName, unit: 'ms' });
    report({ name: `buildManifest() css: false, pool (median of ${times.manifestPool.length})`, value: median(times.manifestPool), floor: median(times.floor), floorName, unit: 'ms' });
  } finally {
    removeBenchDir(dir);
  }
}

// --- 3. a 1 GiB file -------------------------------------------------------------------------------
async function benchLargeFile() {
  const dir = makeBenchDir('large');
  try {
    const size = 1024 * MIB;
    const file = path.join(dir, 'huge.bin');
    // Sparse, with real bytes written every 64 MiB: the reads still go through the kernel and every
    // byte is hashed, without writing 1 GiB to the disk of a shared machine.
    const fd = fs.openSync(file, 'w');
    fs.ftruncateSync(fd, size);
    const stamp = Buffer.from('static-hash benchmark');
    for (let offset = 0; offset < size; offset += 64 * MIB) fs.writeSync(fd, stamp, 0, stamp.length, offset);
    fs.closeSync(fd);

    const hasher = await createStaticHasher({ root: dir, logger: silent, hashLength: 16 });
    hasher.invalidate({ nocache: true }); // every hash() reads the whole file again

    const floor = () => {
      const started = process.hrtime.bigint();
      const chunk = Buffer.allocUnsafe(MIB);
      const state = xx.create64();
      const handle = fs.openSync(file, 'r');
      let read;
      while ((read = fs.readSync(handle, chunk, 0, MIB, null)) > 0) state.update(read === MIB ? chunk : chunk.subarray(0, read));
      fs.closeSync(handle);
      const digest = state.digest().toString(16).padStart(16, '0');
      return { ms: Number(process.hrtime.bigint() - started) / 1e6, digest };
    };
    const subject = () => {
      const canReset = resetPeakRss();
      const before = canReset ? peakRss() : process.memoryUsage().rss;
      const started = process.hrtime.bigint();
      const digest = hasher.hash('huge.bin');
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      return { ms, digest, rssGrowth: peakRss() - before, canReset };
    };

    // Check the meter itself: a touched 32 MiB buffer must read as about 32 MiB of growth.
    let probeGrowth = Number.NaN;
    if (resetPeakRss()) {
      const before = peakRss();
      const probe = Buffer.alloc(32 * MIB, 1);
      probeGrowth = (peakRss() - before) / MIB;
      if (probe[0] !== 1) throw new Error('unreachable');
    }

    const subjectRuns = [];
    const floorRuns = [];
    for (let round = 0; round < 11; round++) {
      // No forced gc() here either (see warm()). The RSS figure needs none: resetting the peak makes
      // it the current RSS, and growth is measured from there.
      if (round % 2 === 0) floorRuns.push(floor());
      subjectRuns.push(subject());
      if (round % 2 === 1) floorRuns.push(floor());
    }
    if (subjectRuns.some((run) => run.digest !== floorRuns[0].digest)) throw new Error('hash() and the bare loop disagree');
    if (process.env.BENCH_VERBOSE) console.log('floor', floorRuns.map((r) => r.ms.toFixed(0)).join(' '), '| subject', subjectRuns.map((r) => r.ms.toFixed(0)).join(' '));
    const subjectMs = median(subjectRuns.map((run) => run.ms));
    const floorMs = median(floorRuns.map((run) => run.ms));
    report({
      name: 'hash() of a 1 GiB file (median of 11)', value: subjectMs, floor: floorMs,
      floorName: 'bare 1 MiB readSync loop into create64()', unit: 'ms', target: 1.2,
    });
    report({
      name: 'hash() throughput', value: 1024 / (subjectMs / 1000), floor: 1024 / (floorMs / 1000),
      floorName: 'bare loop', unit: 'MiB/s',
    });
    const growth = Math.max(...subjectRuns.map((run) => run.rssGrowth)) / MIB;
    const how = subjectRuns[0].canReset ? 'peak RSS (VmHWM, reset before each run)' : 'RSS after the run (peak RSS reset not allowed here)';
    console.log(`hash() of a 1 GiB file: ${how} growth ${growth.toFixed(1)} MiB, largest of 11 runs (target < 64 MiB: ${growth < 64 ? 'met' : 'NOT met'}; meter check: a 32 MiB buffer reads as ${probeGrowth.toFixed(1)} MiB)`);
    await hasher.close();
  } finally {
    removeBenchDir(dir);
  }
}

console.log(`node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
// `node --expose-gc bench/core.bench.mjs warm,large` runs some parts only (url, warm, large), for profiling.
const only = process.argv[2]?.split(',');
if (!only || only.includes('url')) await benchCachedUrl();
if (!only || only.includes('warm')) await benchWarm();
// The 20,000-file tree (about 650 MiB on disk for the run): only when asked, `node --expose-gc bench/core.bench.mjs warm20k`.
if (only?.includes('warm20k')) await benchWarm(20_000, 'warm20k');
if (!only || only.includes('large')) await benchLargeFile();
