// The worker pool of warm() and buildManifest() (issue #20), over the BUILT package (the worker is
// dist/*/src/pool-worker.js): the same results on 1 thread and on several, on a tree large enough for
// the pool (POOL_MIN_FILES) with stylesheet chains and cycles; a generation move during a pooled
// warm() stores nothing; a worker that dies fails the call and leaves no thread; and a process exits
// after a pooled warm() without close().
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildManifest, buildStatic, createStaticHasher, listReferences, serializeManifest, StaticHashError } from '../dist/cjs/src/index.js';
import { liveWorkers, POOL_MIN_FILES } from '../dist/cjs/src/pool.js';
import { makeFixture, type Fixture } from './helpers/fixture';

const repo = path.resolve(__dirname, '..');
let tree: Fixture;
const silent = { warn() {} };

beforeAll(() => {
  const files: Record<string, string> = {};
  // Enough plain files for the pool, of varied sizes, plus stylesheets referencing some of them:
  // a chain (a -> b -> c -> images), a cycle (x <-> y, y -> image) and a sheet importing the cycle.
  for (let index = 0; index < POOL_MIN_FILES + 300; index++) files[`assets/f${index}.txt`] = `file ${index} `.repeat(1 + (index % 97));
  for (let index = 0; index < 40; index++) files[`img/i${index}.png`] = `png ${index}`;
  files['css/a.css'] = '@import "b.css"; .a { background: url(../img/i1.png) }';
  files['css/b.css'] = '@import url(c.css); .b { background: url("../img/i2.png") }';
  files['css/c.css'] = '.c { background: image-set("../img/i3.png" 1x, "../img/i4.png" 2x) }';
  files['css/x.css'] = '@import "y.css"; .x { background: url(../img/i5.png) }';
  files['css/y.css'] = '@import "x.css"; .y { background: url(/static/img/i6.png) }';
  files['css/z.css'] = '@import "x.css"; .z { background: url(../assets/f7.txt) }';
  tree = makeFixture(files);
});
afterAll(() => tree.cleanup());

/** Every URL of the tree after a warm() with `threads`, and the hasher's counters. */
async function warmedUrls(threads: number): Promise<{ urls: string[]; misses: number }> {
  const hasher = await createStaticHasher({ root: tree.dir, threads, logger: silent });
  const result = await hasher.warm();
  expect(result.files).toBe(POOL_MIN_FILES + 300 + 40 + 6);
  const misses = hasher.stats().misses;
  const { references } = listReferences(hasher.options.roots);
  const urls = references.map((reference) => hasher.url(reference));
  await hasher.close();
  return { urls, misses };
}

describe('the worker pool', () => {
  it('gives warm() the same URLs on 1 thread and on 3, hashing each file once', async () => {
    const one = await warmedUrls(1);
    const three = await warmedUrls(3);
    expect(three.urls).toEqual(one.urls);
    // Every file was hashed by the warm (a url() afterwards hit the cache): no file read twice.
    expect(three.misses).toBe(one.misses);
  });

  it('gives buildManifest() the same bytes, with and without integrity, and build the same files', async () => {
    for (const integrity of [false, true]) {
      const one = serializeManifest((await buildManifest({ root: tree.dir, threads: 1, integrity, logger: silent })).manifest);
      const four = serializeManifest((await buildManifest({ root: tree.dir, threads: 4, integrity, logger: silent })).manifest);
      expect(four).toBe(one);
      expect(one).toContain('css/x.css');
    }
    const outs = [1, 3].map((threads) => {
      const out = path.join(tree.dir, `..`, `${path.basename(tree.dir)}-out${threads}`);
      return { threads, out };
    });
    try {
      const written: Array<Array<[string, string]>> = [];
      for (const { threads, out } of outs) {
        const result = await buildStatic({ root: tree.dir, out, threads, compress: false, logger: silent });
        written.push(result.written.sort().map((name) => [name, fs.readFileSync(path.join(out, name)).toString('base64')]));
      }
      expect(written[1]).toEqual(written[0]);
      expect(written[0]!.length).toBeGreaterThan(POOL_MIN_FILES);
    } finally {
      for (const { out } of outs) fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('stores nothing from a pooled warm() once the generation has moved, so an edit made meanwhile shows', async () => {
    const hasher = await createStaticHasher({ root: tree.dir, threads: 3, logger: silent });
    const before = hasher.hash('assets/f3.txt');
    hasher.invalidate();
    const warming = hasher.warm();
    // The warm is now in the pool (it read the generation before awaiting): edit a file, and say so.
    tree.write('assets/f3.txt', 'edited while warming');
    const generation = hasher.invalidate();
    const result = await warming;
    expect(result.generation).toBe(generation - 1);
    // Nothing the warm computed was stored under the new generation...
    expect(hasher.stats().entries).toBe(1);
    const after = hasher.hash('assets/f3.txt');
    // ...and the edit shows at once.
    expect(after).not.toBe(before);
    const fresh = await createStaticHasher({ root: tree.dir, threads: 1, logger: silent });
    expect(after).toBe(fresh.hash('assets/f3.txt'));
    await hasher.close();
    await fresh.close();
    tree.write('assets/f3.txt', `file 3 `.repeat(4));
  });

  it('fails the call with ERR_STATIC_WORKER when a worker dies, storing nothing and leaving no thread', async () => {
    const hasher = await createStaticHasher({ root: tree.dir, threads: 3, css: false, logger: silent });
    process.env.STATIC_HASH_POOL_CRASH = '1';
    let caught: unknown;
    try {
      await hasher.warm();
    } catch (error) {
      caught = error;
    } finally {
      delete process.env.STATIC_HASH_POOL_CRASH;
    }
    expect(caught).toBeInstanceOf(StaticHashError);
    expect((caught as StaticHashError).code).toBe('ERR_STATIC_WORKER');
    expect((caught as StaticHashError).message).toMatch(/worker thread failed \(it exited with code 70\)/);
    expect(liveWorkers()).toBe(0);
    expect(hasher.stats().entries).toBe(0);
    // The hasher is fine afterwards, and a second warm (no fault) works.
    expect((await hasher.warm()).files).toBeGreaterThan(POOL_MIN_FILES);
    await hasher.close();
  });

  it('stops the workers it started while listing when nothing is left for them (a second warm)', async () => {
    const hasher = await createStaticHasher({ root: tree.dir, threads: 3, css: false, logger: silent });
    await hasher.warm();
    const misses = hasher.stats().misses;
    // Everything is cached: the walk starts the pool once it has listed POOL_MIN_FILES files, finds
    // no job for it, and stops it.
    expect((await hasher.warm()).files).toBeGreaterThan(POOL_MIN_FILES);
    expect(hasher.stats().misses).toBe(misses);
    // stop() does not wait for the threads; they are gone soon after (bounded).
    for (let waited = 0; liveWorkers() > 0 && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(liveWorkers()).toBe(0);
    await hasher.close();
  });

  it('lets the process exit after a pooled warm() without close(), from ESM and CommonJS', () => {
    for (const [flag, entry] of [['--input-type=module', 'dist/esm/src/index.js'], ['--input-type=commonjs', 'dist/cjs/src/index.js']] as const) {
      const load = flag === '--input-type=module'
        ? `const { createStaticHasher } = await import(${JSON.stringify(path.join(repo, entry))});`
        : `const { createStaticHasher } = require(${JSON.stringify(path.join(repo, entry))});`;
      const body = `${load}
const hasher = await createStaticHasher({ root: ${JSON.stringify(tree.dir)}, threads: 2, css: false });
const result = await hasher.warm();
console.log(JSON.stringify(result));`;
      const script = flag === '--input-type=module' ? body : `(async () => { ${body} })();`;
      // Bounded: a process kept alive by a thread would be killed here, and the test fail.
      const output = execFileSync(process.execPath, [flag, '-e', script], { encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(output.trim())).toEqual({ files: POOL_MIN_FILES + 300 + 40 + 6, generation: 0 });
    }
  });

  it('rejects a bad threads option', async () => {
    for (const threads of [0, 1.5, '2', 257]) {
      await expect(createStaticHasher({ root: tree.dir, threads: threads as number })).rejects.toMatchObject({ code: 'ERR_STATIC_INVALID_OPTION', option: 'threads' });
    }
  });
});
