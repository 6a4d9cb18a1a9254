// Production tooling: building a manifest of a 2,000-file ~80 MiB tree against the read-only floor
// (readFileSync + h64Raw of every file, the least any content hash must do), url() served from a
// manifest against url() served from the in-memory cache of a warmed live hasher, and
// `static-hash build` (buildStatic) against the copy floor (read, h64Raw and write every file once);
// the compression of siblings is CPU work, reported apart on a tree of real text.
//
// Run: npm run bench tooling   (builds dist/ first)
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import xxhash from 'xxhash-wasm';
import { buildManifest, buildStatic, createStaticHasher, serializeManifest, writeManifest } from '../dist/esm/src/index.js';
import { median, report } from './report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const work = path.join(here, '..', '.bench-tmp', `tooling-${process.pid}`);
const root = path.join(work, 'public');
// Rounds alternate floor and measured run; builds are compared best against best, because on a
// shared machine other processes only ever add time (the medians are printed alongside).
const ROUNDS = 9;
const best = (values) => Math.min(...values);

/**
 * A deterministic tree (xorshift32, fixed seed): 2,000 files in 100 directories, 90% of them 1 to
 * 48 KiB and 10% 100 to 300 KiB, about 80 MiB of incompressible bytes in all.
 * (A shared bench/tree.mjs generator may replace this one.)
 */
function generateTree(dir) {
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
  const files = [];
  let total = 0;
  for (let i = 0; i < 2000; i++) {
    const size = i % 10 === 9 ? 100 * 1024 + (next() % (200 * 1024)) : 1024 + (next() % (47 * 1024));
    const bytes = Buffer.allocUnsafe(size);
    for (let j = 0; j + 4 <= size; j += 4) bytes.writeUInt32LE(next(), j);
    for (let j = size - (size % 4); j < size; j++) bytes[j] = next() & 0xff;
    const name = `d${i % 10}/e${i % 100}/asset-${i}.${['js', 'css', 'png', 'woff2', 'svg'][i % 5]}`;
    fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), bytes);
    files.push(name);
    total += size;
  }
  return { files, total };
}

// The floor leaves ~80 MiB of buffers behind: collect before each timing so no run pays for another's garbage.
const collect = globalThis.gc ?? (() => {});

function time(fn) {
  collect();
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function timeAsync(fn) {
  collect();
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

fs.rmSync(work, { recursive: true, force: true });
try {
  const { files, total } = generateTree(root);
  const { h64Raw } = await xxhash();
  console.log(`tree: ${files.length} files, ${(total / 1024 / 1024).toFixed(1)} MiB (page cache warmed by one pass of each before timing)`);

  // The floor reads and hashes the files in a known list: no directory walk, no resolution.
  let sink = 0n;
  const floor = () => {
    for (const name of files) sink ^= h64Raw(fs.readFileSync(path.join(root, name)));
  };
  const floorWithSha = () => {
    for (const name of files) {
      const bytes = fs.readFileSync(path.join(root, name));
      sink ^= h64Raw(bytes);
      createHash('sha384').update(bytes).digest('base64');
    }
  };

  // The floors read and hash bytes, nothing else; so does a build with css: false. The default
  // (css: true) also runs this tree's .css files (random bytes) through the stylesheet tokenizer:
  // printed separately below, and measured on real stylesheets by bench/css.bench.mjs.
  floor();
  await buildManifest({ root, css: false });
  const defaultTimes = [];
  const floorTimes = [];
  const buildTimes = [];
  const floorShaTimes = [];
  const integrityTimes = [];
  const writeTimes = [];
  let manifest;
  for (let round = 0; round < ROUNDS; round++) {
    floorTimes.push(time(floor));
    buildTimes.push(await timeAsync(async () => { manifest = (await buildManifest({ root, css: false })).manifest; }));
    floorShaTimes.push(time(floorWithSha));
    integrityTimes.push(await timeAsync(() => buildManifest({ root, integrity: true, css: false })));
    if (round % 3 === 0) defaultTimes.push(await timeAsync(() => buildManifest({ root })));
  }
  const out = path.join(work, 'static-manifest.json');
  for (let round = 0; round < ROUNDS; round++) writeTimes.push(time(() => writeManifest(out, manifest)));
  if (Object.keys(manifest.files).length !== files.length) throw new Error('manifest is missing files');

  report({
    name: `manifest build (2,000 files, css: false, best of ${ROUNDS})`, value: best(buildTimes), unit: 'ms',
    floor: best(floorTimes), floorName: 'readFileSync + h64Raw per file', target: 1.5,
  });
  report({
    name: `manifest build with the default css: true (random-byte .css files tokenized too, best of ${defaultTimes.length})`,
    value: best(defaultTimes), unit: 'ms', floor: best(floorTimes), floorName: 'readFileSync + h64Raw per file',
  });
  report({
    name: `manifest build with --integrity (css: false, best of ${ROUNDS})`, value: best(integrityTimes), unit: 'ms',
    floor: best(floorShaTimes), floorName: 'readFileSync + h64Raw + sha384 per file', target: 1.5,
  });
  console.log(`  medians: build ${median(buildTimes).toFixed(1)} ms / floor ${median(floorTimes).toFixed(1)} ms; `
    + `with integrity ${median(integrityTimes).toFixed(1)} ms / floor ${median(floorShaTimes).toFixed(1)} ms`);
  report({
    name: `atomic write of the manifest (${(serializeManifest(manifest).length / 1024).toFixed(0)} KiB, temp + fsync + rename)`,
    value: median(writeTimes), unit: 'ms', floor: best(floorTimes), floorName: 'the read-only floor above',
  });

  // url(): a manifest-backed hasher against a warmed live hasher (its in-memory cache is the floor).
  const live = await createStaticHasher({ root, css: false });
  await live.warm();
  const fromManifest = await createStaticHasher({ root, manifest: out, css: false });
  const references = files;
  const perOp = (hasher, passes) => {
    const start = process.hrtime.bigint();
    let length = 0;
    for (let pass = 0; pass < passes; pass++) for (const reference of references) length += hasher.url(reference).length;
    sink ^= BigInt(length);
    return Number(process.hrtime.bigint() - start) / (passes * references.length);
  };
  perOp(live, 50);
  perOp(fromManifest, 50);
  const hitLive = [];
  const hitManifest = [];
  for (let round = 0; round < 7; round++) {
    hitLive.push(perOp(live, 100));
    hitManifest.push(perOp(fromManifest, 100));
  }
  report({
    name: 'url() from a manifest, cached', value: median(hitManifest), unit: 'ns',
    floor: median(hitLive), floorName: 'url() from the in-memory cache of a warmed live hasher',
  });

  // First lookup of each reference in a generation: the manifest answers from memory, live hashing reads the file.
  const firstManifest = [];
  const firstLive = [];
  for (let round = 0; round < 7; round++) {
    fromManifest.invalidate();
    firstManifest.push(perOp(fromManifest, 1));
    live.invalidate();
    firstLive.push(perOp(live, 1));
  }
  report({
    name: 'url() from a manifest, first lookup in a generation', value: median(firstManifest), unit: 'ns',
    floor: median(hitLive), floorName: 'url() from the in-memory cache',
  });
  report({
    name: 'url() live, first lookup in a generation (reads and hashes the file)', value: median(firstLive), unit: 'ns',
    floor: median(firstManifest), floorName: 'the same from a manifest',
  });
  await live.close();
  await fromManifest.close();

  // static-hash build: every file read, hashed and written once (temp + rename), into an empty
  // directory, against the copy floor: readFileSync + h64Raw + writeFileSync of every file (with
  // its directories created) from a known list, into an empty directory.
  const floorOut = path.join(work, 'floor-out');
  const buildOut = path.join(work, 'build-out');
  const copyFloor = () => {
    const made = new Set();
    for (const name of files) {
      const bytes = fs.readFileSync(path.join(root, name));
      sink ^= h64Raw(bytes);
      const target = path.join(floorOut, name);
      const dir = path.dirname(target);
      if (!made.has(dir)) { fs.mkdirSync(dir, { recursive: true }); made.add(dir); }
      fs.writeFileSync(target, bytes);
    }
  };
  const fresh = (dir) => fs.rmSync(dir, { recursive: true, force: true });
  const copyTimes = [];
  const staticTimes = [];
  const staticCssTimes = [];
  const rerunTimes = [];
  fresh(floorOut); copyFloor();
  fresh(buildOut); await buildStatic({ root, out: buildOut, compress: false, css: false });
  for (let round = 0; round < ROUNDS; round++) {
    fresh(floorOut);
    copyTimes.push(time(copyFloor));
    fresh(buildOut);
    staticTimes.push(await timeAsync(() => buildStatic({ root, out: buildOut, compress: false, css: false })));
    rerunTimes.push(await timeAsync(async () => {
      const result = await buildStatic({ root, out: buildOut, compress: false, css: false });
      if (result.written.length !== 0) throw new Error('a rerun on the unchanged tree wrote files');
    }));
    if (round % 3 === 0) {
      fresh(buildOut);
      staticCssTimes.push(await timeAsync(() => buildStatic({ root, out: buildOut, compress: false })));
    }
  }
  report({
    name: `static-hash build --no-compress (2,000 files, css: false, into an empty directory, best of ${ROUNDS})`, value: best(staticTimes), unit: 'ms',
    floor: best(copyTimes), floorName: 'readFileSync + h64Raw + writeFileSync per file', target: 1.5,
  });
  report({
    name: `static-hash build --no-compress with the default css: true (random-byte .css files tokenized too, best of ${staticCssTimes.length})`,
    value: best(staticCssTimes), unit: 'ms', floor: best(copyTimes), floorName: 'readFileSync + h64Raw + writeFileSync per file',
  });
  report({
    name: `static-hash build rerun on the unchanged tree (writes nothing, best of ${ROUNDS})`, value: best(rerunTimes), unit: 'ms',
    floor: best(copyTimes), floorName: 'readFileSync + h64Raw + writeFileSync per file',
  });
  console.log(`  medians: build ${median(staticTimes).toFixed(1)} ms / copy floor ${median(copyTimes).toFixed(1)} ms; rerun ${median(rerunTimes).toFixed(1)} ms`);

  // The same with both outputs in memory (tmpfs), where there is one: the disk, which other
  // processes share, out of the picture, leaving what the build itself adds.
  if (fs.existsSync('/dev/shm')) {
    const shm = fs.mkdtempSync('/dev/shm/static-hash-bench-');
    try {
      const shmFloorOut = path.join(shm, 'floor');
      const shmBuildOut = path.join(shm, 'build');
      const shmFloor = () => {
        const made = new Set();
        for (const name of files) {
          const bytes = fs.readFileSync(path.join(root, name));
          sink ^= h64Raw(bytes);
          const target = path.join(shmFloorOut, name);
          const dir = path.dirname(target);
          if (!made.has(dir)) { fs.mkdirSync(dir, { recursive: true }); made.add(dir); }
          fs.writeFileSync(target, bytes);
        }
      };
      const shmFloorTimes = [];
      const shmBuildTimes = [];
      for (let round = 0; round < ROUNDS; round++) {
        fresh(shmFloorOut);
        shmFloorTimes.push(time(shmFloor));
        fresh(shmBuildOut);
        shmBuildTimes.push(await timeAsync(() => buildStatic({ root, out: shmBuildOut, compress: false, css: false })));
      }
      report({
        name: `static-hash build --no-compress, output on tmpfs (best of ${ROUNDS})`, value: best(shmBuildTimes), unit: 'ms',
        floor: best(shmFloorTimes), floorName: 'the copy floor, output on tmpfs', target: 1.5,
      });
      console.log(`  medians: build ${median(shmBuildTimes).toFixed(1)} ms / copy floor ${median(shmFloorTimes).toFixed(1)} ms`);
    } finally {
      fs.rmSync(shm, { recursive: true, force: true });
    }
  }

  // Compression of siblings, apart: CPU work, not overhead. On real text (this repository's
  // sources, cut into 400 files of 2 to 64 KiB), where siblings pay; the random bytes above never would.
  const textRoot = path.join(work, 'text');
  const corpus = Buffer.from(['src', 'adapters', 'bin'].flatMap((dir) => fs.readdirSync(path.join(here, '..', dir))
    .filter((name) => name.endsWith('.ts')).map((name) => fs.readFileSync(path.join(here, '..', dir, name), 'utf8'))).join('\n'));
  let textBytes = 0;
  for (let i = 0; i < 400; i++) {
    const size = 2048 + ((i * 7919) % (62 * 1024));
    const start = (i * 104_729) % Math.max(1, corpus.length - size);
    const name = `t${i % 10}/file-${i}.${['js', 'css', 'svg', 'json'][i % 4]}`;
    fs.mkdirSync(path.join(textRoot, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(textRoot, name), corpus.subarray(start, start + size));
    textBytes += Math.min(size, corpus.length);
  }
  const textOut = path.join(work, 'text-out');
  const textMiB = textBytes / 1024 / 1024;
  const buildText = async (compress, threads) => {
    fresh(textOut);
    let siblings = 0;
    const ms = await timeAsync(async () => {
      siblings = (await buildStatic({ root: textRoot, out: textOut, css: false, compress, threads })).written.length - 400;
    });
    return { ms, siblings };
  };
  // Compression runs `threads` files at once on libuv's thread pool (default: the cores available);
  // `threads: 1` compresses synchronously, one file after another.
  const cores = os.availableParallelism();
  const plainText = [];
  const gzText = { 1: [], [cores]: [] };
  for (let round = 0; round < 3; round++) {
    plainText.push((await buildText(false, 1)).ms);
    for (const threads of [1, cores]) gzText[threads].push(await buildText(['gz'], threads));
  }
  // Brotli at quality 11 is slow by design (about 1 MiB/s of text): one run each.
  const brText = { 1: await buildText(['br'], 1), [cores]: await buildText(['br'], cores) };
  const plainBest = best(plainText);
  const gzBest = (threads) => gzText[threads].reduce((a, b) => (a.ms <= b.ms ? a : b));
  console.log(`- compression cost on 400 text files, ${textMiB.toFixed(1)} MiB (build without siblings: ${plainBest.toFixed(0)} ms, best of 3):`);
  for (const threads of [1, cores]) {
    const gz = gzBest(threads);
    const br = brText[threads];
    console.log(`    threads: ${threads}: gzip level 9: +${(gz.ms - plainBest).toFixed(0)} ms (${((gz.ms - plainBest) / textMiB).toFixed(0)} ms per MiB), ${gz.siblings} .gz written (best of 3); brotli quality 11: +${(br.ms - plainBest).toFixed(0)} ms (${((br.ms - plainBest) / textMiB).toFixed(0)} ms per MiB), ${br.siblings} .br written (one run)`);
  }
  if (cores > 1) {
    report({ name: `build with gzip siblings, threads: ${cores} (best of 3)`, value: gzBest(cores).ms, floor: gzBest(1).ms, floorName: 'the same build, threads: 1', unit: 'ms' });
    report({ name: `build with brotli siblings, threads: ${cores} (one run)`, value: brText[cores].ms, floor: brText[1].ms, floorName: 'the same build, threads: 1', unit: 'ms' });
  }
  if (sink === 1n) console.log('');
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
