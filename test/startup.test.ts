// What `import('static-hash')` and createStaticHasher() load (issue #20): a hasher loads only the
// code its options use. Each case runs in a fresh Node process over the BUILT CommonJS output, where
// require.cache lists every module file loaded and process.moduleLoadList every built-in.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { POOL_MIN_FILES } from '../dist/cjs/src/options.js';
import { makeFixture, type Fixture } from './helpers/fixture';

const repo = path.resolve(__dirname, '..');
let assets: Fixture;

beforeAll(() => {
  assets = makeFixture({ 'js/app.js': 'export {};\n', 'css/site.css': '@import "a.css"; body { background: url(../img/x.png) }\n', 'css/a.css': 'a{}', 'img/x.png': 'png' });
});
afterAll(() => assets.cleanup());

interface Loaded {
  files: string[];
  builtins: string[];
  url: string;
}

/** Creates a hasher with the options in a fresh process, renders one URL, and lists what was loaded. */
function loadedWith(options: Record<string, unknown>, after = ''): Loaded {
  const script = `
const staticHash = require(${JSON.stringify(path.join(repo, 'dist/cjs/src/index.js'))});
staticHash.createStaticHasher(${JSON.stringify({ root: assets.dir, ...options })}).then(async (hasher) => {
  const url = hasher.url('css/site.css');
  ${after}
  const files = Object.keys(require.cache).map((file) => file.replace(/\\\\/g, '/'));
  const builtins = process.moduleLoadList.filter((name) => name.startsWith('NativeModule ')).map((name) => name.slice(13));
  await hasher.close();
  console.log(JSON.stringify({ files, builtins, url }));
});`;
  const output = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').pop()!) as Loaded;
}

const has = (loaded: Loaded, pattern: RegExp): boolean => loaded.files.some((file) => pattern.test(file));

describe('start-up', () => {
  it('css: false loads neither chokidar, the stylesheet hasher, the build, the pool, mime-db, zlib, crypto, worker_threads nor child_process', () => {
    // (src/graph.ts loads with the module graph code, src/modules.ts, which every hasher has.)
    const loaded = loadedWith({ css: false });
    expect(loaded.url).toMatch(/^\/static\/css\/site\.css\?v=[0-9a-f]{12}$/);
    expect(has(loaded, /\/src\/hasher\.js$/)).toBe(true);
    for (const pattern of [/node_modules\/chokidar\//, /node_modules\/(mime-db|mime-types|compressible)\//, /\/src\/(stylesheet|watcher|build|manifest-build|version|pool|pool-location)\.js$/]) {
      expect([pattern, has(loaded, pattern)]).toEqual([pattern, false]);
    }
    for (const builtin of ['zlib', 'crypto', 'child_process', 'worker_threads']) expect(loaded.builtins).not.toContain(builtin);
  });

  it('es-module-lexer loads with the first module graph walked, not with the package nor for url() (CommonJS; the ES module build imports it)', () => {
    const plain = loadedWith({ css: false }, 'hasher.url("js/app.js");');
    expect(has(plain, /node_modules\/es-module-lexer\//)).toBe(false);
    const walked = loadedWith({ css: false }, 'console.log(JSON.stringify(hasher.importMap("js/app.js")));');
    expect(has(walked, /node_modules\/es-module-lexer\//)).toBe(true);
    expect(walked.url).toBe(plain.url);
  });

  it('css: true loads the stylesheet hasher, and still no watcher', () => {
    const loaded = loadedWith({});
    expect(has(loaded, /\/src\/stylesheet\.js$/)).toBe(true);
    expect(has(loaded, /node_modules\/chokidar\//)).toBe(false);
  });

  it('watch loads chokidar, integrity() loads node:crypto, and the same URL comes out', () => {
    const plain = loadedWith({});
    const loaded = loadedWith({ watch: true }, 'await hasher.ready; hasher.integrity("js/app.js");');
    expect(has(loaded, /node_modules\/chokidar\//)).toBe(true);
    expect(has(loaded, /\/src\/watcher\.js$/)).toBe(true);
    expect(loaded.builtins).toContain('crypto');
    expect(loaded.url).toBe(plain.url);
  });

  it('the pool loads with the first warm() that lists POOL_MIN_FILES files, not for a small tree nor with threads: 1', () => {
    const small = loadedWith({ css: false }, 'await hasher.warm();');
    expect(has(small, /\/src\/pool\.js$/)).toBe(false);
    const files: Record<string, string> = { 'css/site.css': 'a {}' };
    for (let index = 0; index < POOL_MIN_FILES + 10; index++) files[`f/${index}.txt`] = `${index}`;
    const big = makeFixture(files);
    try {
      const one = loadedWith({ root: big.dir, css: false, threads: 1 }, 'await hasher.warm();');
      expect(has(one, /\/src\/pool\.js$/)).toBe(false);
      const pooled = loadedWith({ root: big.dir, css: false, threads: 2 }, 'await hasher.warm();');
      expect(has(pooled, /\/src\/pool\.js$/)).toBe(true);
      expect(pooled.builtins).toContain('worker_threads');
    } finally {
      big.cleanup();
    }
    // A tree this small starts no worker: node:worker_threads is not loaded.
    expect(small.builtins).not.toContain('worker_threads');
  });

  it('the build code loads on the first buildStatic() call', () => {
    const loaded = loadedWith({ css: false }, `await staticHash.verifyStatic({ manifest: ${JSON.stringify(path.join(assets.dir, 'none.json'))}, root: ${JSON.stringify(assets.dir)} }).catch((error) => error);`);
    expect(has(loaded, /\/src\/build\.js$/)).toBe(true);
  });
});
