// The package as users get it: the BUILT output (dist/, which `npm test` builds first) loaded through
// the package's `exports` with require and with import, and the `npm pack` tarball installed into a
// scratch project next to nunjucks and handlebars with plain `npm install`.
import { execFile, execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import xxhash from 'xxhash-wasm';
import { makeFixture, type Fixture } from './helpers/fixture';

const repo = path.resolve(__dirname, '..');
const packageJson = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Record<string, Record<string, string>>>;
};

let assets: Fixture;
let expectedUrl: string;

/** Runs node with a script in `cwd` (killed after 2 minutes: a hang fails the test) and parses the JSON it prints last. */
function runNode(cwd: string, args: string[], script: string): Record<string, unknown> {
  const output = execFileSync(process.execPath, [...args, '-e', script], { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 120_000 });
  return JSON.parse(output.trim().split('\n').pop()!) as Record<string, unknown>;
}

/** The environment without the npm_* variables of an enclosing `npm test`, as a user's shell would be. */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_') || keep.has(key.toLowerCase())));
}

// Both scripts create a hasher over the assets, check the error class, and list which of the
// template/HTTP/Redis libraries the import loaded (none may be: the core stands alone).
const cjsScript = (root: string) => `
const staticHash = require('static-hash');
staticHash.createStaticHasher({ root: ${JSON.stringify(root)} }).then(async (hasher) => {
  let code;
  try { hasher.url('../x'); } catch (error) { code = error instanceof staticHash.StaticHashError && error.code; }
  const loaded = Object.keys(require.cache).filter((file) => /node_modules[\\\\/](nunjucks|handlebars|express|redis|@redis)[\\\\/]/.test(file));
  const url = hasher.url('js/app.js');
  await hasher.close();
  console.log(JSON.stringify({ url, code, loaded, resolved: require.resolve('static-hash') }));
});`;

const esmScript = (root: string) => `
import { createStaticHasher, StaticHashError } from 'static-hash';
const hasher = await createStaticHasher({ root: ${JSON.stringify(root)} });
let code;
try { hasher.url('../x'); } catch (error) { code = error instanceof StaticHashError && error.code; }
const url = hasher.url('js/app.js');
await hasher.close();
console.log(JSON.stringify({ url, code, resolved: import.meta.resolve('static-hash') }));`;

beforeAll(async () => {
  if (!fs.existsSync(path.join(repo, 'dist/cjs/src/index.js')) || !fs.existsSync(path.join(repo, 'dist/esm/src/index.js'))) {
    // `npm test` builds first; a bare `npx jest` on a fresh clone builds here.
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repo, stdio: 'inherit' });
  }
  assets = makeFixture({ 'js/app.js': 'console.log("packaged");' });
  const xx = await xxhash();
  expectedUrl = `/static/js/app.js?v=${xx.h64Raw(Buffer.from('console.log("packaged");')).toString(16).padStart(16, '0').slice(0, 12)}`;
});

afterAll(() => assets.cleanup());

describe('the built output', () => {
  let scratch: Fixture;
  beforeAll(() => {
    // A project whose node_modules/static-hash is this repository, as `npm link` would make it.
    scratch = makeFixture({ 'package.json': JSON.stringify({ name: 'scratch', private: true }) });
    fs.mkdirSync(scratch.path('node_modules'));
    fs.symlinkSync(repo, scratch.path('node_modules/static-hash'), 'dir');
  });
  afterAll(() => scratch.cleanup());

  it('loads with require() through the "require" export (dist/cjs), and loads no template engine', () => {
    const result = runNode(scratch.dir, [], cjsScript(assets.dir));
    expect(result).toEqual({ url: expectedUrl, code: 'ERR_STATIC_UNSAFE_PATH', loaded: [], resolved: path.join(repo, 'dist/cjs/src/index.js') });
  });

  it('loads with import through the "import" export (dist/esm)', () => {
    const result = runNode(scratch.dir, ['--input-type=module'], esmScript(assets.dir));
    expect(result).toEqual({ url: expectedUrl, code: 'ERR_STATIC_UNSAFE_PATH', resolved: `file://${path.join(repo, 'dist/esm/src/index.js')}` });
  });

  it('ships types first in each exports branch of the core, and the files exist', () => {
    const core = packageJson.exports['.'] as Record<string, Record<string, string>>;
    for (const condition of ['import', 'require']) {
      expect(Object.keys(core[condition]!)[0]).toBe('types');
      for (const file of Object.values(core[condition]!)) expect(fs.existsSync(path.join(repo, file))).toBe(true);
    }
  });

  it('maps every subpath export in typesVersions, for "moduleResolution": "node"', () => {
    const typesVersions = (packageJson as unknown as { typesVersions: Record<string, Record<string, string[]>> }).typesVersions['*']!;
    const subpaths = Object.keys(packageJson.exports).filter((key) => key !== '.' && key !== './package.json').map((key) => key.slice(2));
    expect(Object.keys(typesVersions).sort()).toEqual(subpaths.sort());
    for (const subpath of subpaths) {
      const branch = packageJson.exports[`./${subpath}`] as Record<string, Record<string, string>>;
      expect(typesVersions[subpath]).toEqual([branch.require!.types]);
      expect(fs.existsSync(path.join(repo, typesVersions[subpath]![0]!))).toBe(true);
    }
  });

  it('keeps src/internal.ts out of reach: no export names it, and the public API lost what moved there', () => {
    const script = `
const staticHash = require('static-hash');
let internal;
try { require.resolve('static-hash/dist/cjs/src/internal.js'); internal = 'reachable'; } catch (error) { internal = error.code; }
console.log(JSON.stringify({ internal, describeValue: typeof staticHash.describeValue, rejectUnknownKeys: typeof staticHash.rejectUnknownKeys }));`;
    expect(runNode(scratch.dir, [], script)).toEqual({ internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED', describeValue: 'undefined', rejectUnknownKeys: 'undefined' });
    expect(Object.keys(packageJson.exports).filter((key) => key.includes('internal'))).toEqual([]);
  });

  it('marks each dist folder with the module type it was compiled for', () => {
    expect(JSON.parse(fs.readFileSync(path.join(repo, 'dist/esm/package.json'), 'utf8'))).toEqual({ type: 'module' });
    expect(JSON.parse(fs.readFileSync(path.join(repo, 'dist/cjs/package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  });
});

describe('npm pack, then npm install in a scratch project', () => {
  let work: string;
  let project: string;
  let packed: { filename: string; files: Array<{ path: string }> };

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-pack-'));
    const options: ExecFileSyncOptions = { cwd: repo, encoding: 'utf8', env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] };
    const output = execFileSync('npm', ['pack', '--json', '--pack-destination', work], options) as string;
    packed = (JSON.parse(output) as Array<typeof packed>)[0]!;

    project = path.join(work, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // Exactly what a user runs: no --force, no --legacy-peer-deps.
    execFileSync('npm', ['install', '--no-audit', '--no-fund', path.join(work, packed.filename), 'nunjucks@3.2.4', 'handlebars@4.7',
      // The Handlebars view engines whose instances registerStatic() must accept without casts.
      'hbs@4.3', '@types/hbs@4', 'express-handlebars@8',
      // The frameworks static-hash/fastify and static-hash/koa plug into (fastify-plugin comes with static-hash).
      'fastify@5', 'koa@3', '@types/koa@3'], {
      ...options, cwd: project,
    });
  }, 300_000);

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('packs the built code, types, README and docs, and no tests or sources', () => {
    const files = packed.files.map((file) => file.path);
    expect(files).toEqual(expect.arrayContaining([
      'package.json', 'README.md', 'dist/cjs/src/index.js', 'dist/cjs/src/index.d.ts', 'dist/cjs/package.json',
      'dist/esm/src/index.js', 'dist/esm/src/index.d.ts', 'dist/esm/package.json',
    ]));
    expect(files.filter((file) => /^(test|src|bench|scripts|\.ci)\//.test(file) || file.endsWith('.tgz'))).toEqual([]);
  });

  it('installs next to nunjucks and handlebars', () => {
    const installed = (name: string) => JSON.parse(fs.readFileSync(path.join(project, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
    expect(installed('static-hash').version).toBe(JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).version);
    expect(installed('nunjucks').version).toBe('3.2.4');
    expect(installed('handlebars').version).toMatch(/^4\.7\./);
    // A real copy, not a link back to this repository.
    expect(fs.lstatSync(path.join(project, 'node_modules/static-hash')).isSymbolicLink()).toBe(false);
  });

  it('imports with require() and renders through nunjucks and handlebars', () => {
    const script = `
const { createStaticHasher } = require('static-hash');
const nunjucks = require('nunjucks');
const Handlebars = require('handlebars');
createStaticHasher({ root: ${JSON.stringify(assets.dir)} }).then(async (hasher) => {
  const env = new nunjucks.Environment();
  env.addGlobal('static', (reference) => hasher.url(reference));
  const hbs = Handlebars.create();
  hbs.registerHelper('static', (reference) => hasher.url(reference));
  const result = {
    nunjucks: env.renderString('<script src="{{ static(\\'js/app.js\\') }}"></script>', {}),
    handlebars: hbs.compile('<script src="{{static "js/app.js"}}"></script>')({}),
    resolved: require.resolve('static-hash'),
  };
  await hasher.close();
  console.log(JSON.stringify(result));
});`;
    const escaped = expectedUrl.replaceAll('=', '&#x3D;');
    expect(runNode(project, [], script)).toEqual({
      nunjucks: `<script src="${expectedUrl}"></script>`,
      handlebars: `<script src="${escaped}"></script>`,
      resolved: path.join(fs.realpathSync(project), 'node_modules/static-hash/dist/cjs/src/index.js'),
    });
  });

  it('imports with import', () => {
    const result = runNode(project, ['--input-type=module'], esmScript(assets.dir));
    expect(result).toMatchObject({ url: expectedUrl, code: 'ERR_STATIC_UNSAFE_PATH' });
    expect(result.resolved).toMatch(/node_modules\/static-hash\/dist\/esm\/src\/index\.js$/);
  });
  it('lexes modules from the installed copy, with require() and import (under require(), es-module-lexer loads on first use)', () => {
    const body = (load: string) => `${load}
const hasher = await createStaticHasher({ root: ${JSON.stringify(assets.dir)} });
const map = hasher.importMap('js/app.js');
await hasher.close();
console.log(JSON.stringify({ lexed: lexModule("import a from './a.js'; export * from 'lit';"), scopes: Object.keys(map) }));`;
    const expected = { lexed: { imports: [{ specifier: './a.js' }, { specifier: 'lit' }], computed: 0 }, scopes: ['imports'] };
    expect(runNode(project, [], `(async () => {${body("const { createStaticHasher, lexModule } = require('static-hash');")}\n})();`)).toEqual(expected);
    expect(runNode(project, ['--input-type=module'], body("import { createStaticHasher, lexModule } from 'static-hash';"))).toEqual(expected);
  });

  it('loads static-hash/fastify and static-hash/koa from the tarball, with require() and import, and serves through them', () => {
    const root = JSON.stringify(assets.dir);
    const body = (load: string) => `
${load}
const hasher = await createStaticHasher({ root: ${root} });
const app = fastify();
await app.register(staticHashFastify, { hasher });
const reply = await app.inject({ url: hasher.url('js/app.js') });
const middleware = koaStatic(hasher);
await app.close();
await hasher.close();
console.log(JSON.stringify({ status: reply.statusCode, cacheControl: reply.headers['cache-control'], body: reply.body, koa: typeof middleware, decorated: app.staticHash === hasher }));`;
    const expected = { status: 200, cacheControl: 'public, max-age=31536000, immutable', body: 'console.log("packaged");', koa: 'function', decorated: true };
    const cjs = body(`const { createStaticHasher } = require('static-hash');
const staticHashFastify = require('static-hash/fastify').default;
const { serveStatic: koaStatic } = require('static-hash/koa');
const { fastify } = require('fastify');`);
    expect(runNode(project, [], `(async () => {${cjs}\n})();`)).toEqual(expected);
    const esm = body(`import { createStaticHasher } from 'static-hash';
import staticHashFastify from 'static-hash/fastify';
import { serveStatic as koaStatic } from 'static-hash/koa';
import { fastify } from 'fastify';`);
    expect(runNode(project, ['--input-type=module'], esm)).toEqual(expected);
  });

  it('starts the pool workers from the installed copy, ESM and CommonJS, and a pooled warm() agrees with one thread', async () => {
    const xx = await xxhash();
    // 4,200 small files: above the pool's POOL_MIN_FILES (4,096).
    const tree = makeFixture(Object.fromEntries(Array.from({ length: 4200 }, (_, index) => [`f/${index % 10}/file-${index}.txt`, `file ${index}`])));
    try {
      const script = (format: 'esm' | 'cjs') => `
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
const require = createRequire(import.meta.url);
const installed = path.dirname(require.resolve('static-hash/package.json'));
// No execArgv: this script runs under --input-type, which a worker refuses (the pool passes none either).
const worker = new Worker(path.join(installed, 'dist/${format}/src/pool-worker.js'), { execArgv: [] });
const file = ${JSON.stringify(path.join(tree.dir, 'f/0/file-0.txt'))};
const digest = await new Promise((resolve, reject) => {
  worker.on('error', reject);
  worker.on('message', (message) => {
    if (message !== 'ready') return resolve(message[0]);
    // The pool's protocol (src/pool.ts, PoolMessage): the run's files once, then a range of them.
    worker.postMessage({ files: [file], references: ['f/0/file-0.txt'], integrity: false });
    worker.postMessage([0, 1]);
  });
});
await worker.terminate();
const staticHash = ${format === 'esm' ? "await import('static-hash')" : "require('static-hash')"};
const urls = [];
for (const threads of [1, 2]) {
  const hasher = await staticHash.createStaticHasher({ root: ${JSON.stringify(tree.dir)}, threads });
  const { files } = await hasher.warm();
  urls.push([files, hasher.url('f/3/file-13.txt'), hasher.hash('f/0/file-0.txt')]);
}
console.log(JSON.stringify({ digest, urls }));`;
      for (const format of ['esm', 'cjs'] as const) {
        const result = runNode(project, ['--input-type=module'], script(format)) as { digest: string; urls: Array<[number, string, string]> };
        expect(result.digest).toBe(xx.h64Raw(Buffer.from('file 0')).toString(16).padStart(16, '0'));
        expect(result.urls[0]![0]).toBe(4200);
        expect(result.urls[1]).toEqual(result.urls[0]);
        expect(result.urls[0]![2]).toBe(result.digest.slice(0, 12));
      }
    } finally {
      tree.cleanup();
    }
  });

  it('keeps one StaticHashError identity across require() and import', () => {
    const script = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const cjs = require('static-hash');
const esm = await import('static-hash');
const hasher = await esm.createStaticHasher({ root: ${JSON.stringify(assets.dir)} });
let fromEsm;
try { hasher.url('../x'); } catch (error) { fromEsm = error; }
await hasher.close();
const fromCjs = new cjs.StaticHashError('ERR_STATIC_IO', 'made by the CommonJS build');
console.log(JSON.stringify({
  twoClasses: cjs.StaticHashError !== esm.StaticHashError,
  esmErrorIsCjs: fromEsm instanceof cjs.StaticHashError,
  esmErrorIsEsm: fromEsm instanceof esm.StaticHashError,
  cjsErrorIsEsm: fromCjs instanceof esm.StaticHashError,
  plainErrorIsEither: new Error('x') instanceof esm.StaticHashError || new Error('x') instanceof cjs.StaticHashError,
  isError: fromCjs instanceof Error,
}));`;
    expect(runNode(project, ['--input-type=module'], script)).toEqual({
      twoClasses: true, esmErrorIsCjs: true, esmErrorIsEsm: true, cjsErrorIsEsm: true, plainErrorIsEither: false, isError: true,
    });
  });

  // Every subpath, typed, as a user's TypeScript project sees the installed tarball.
  const consumer = `
import { createStaticHasher, StaticHashError, type StaticHasher, type StaticHasherOptions } from 'static-hash';
import { registerStatic as registerNunjucks } from 'static-hash/nunjucks';
import { registerStatic as registerHandlebars, staticHelpers, translateDelimiters } from 'static-hash/handlebars';
import * as hbs from 'hbs';
import { create as createExpressHandlebars } from 'express-handlebars';
import { serveStatic, IMMUTABLE_CACHE_CONTROL } from 'static-hash/express';
import { redisGenerationStore, type RedisGenerationStore } from 'static-hash/redis';
import staticHashPlugin from 'static-hash/eleventy';
import { fastify } from 'fastify';
import staticHashFastify, { type StaticHashFastifyOptions } from 'static-hash/fastify';
import type { Context, Next } from 'koa';
import { serveStatic as koaStatic, type KoaStaticMiddleware } from 'static-hash/koa';
const options: StaticHasherOptions = { root: 'public', hashLength: 8 };
export async function main(): Promise<string> {
  const hasher: StaticHasher = await createStaticHasher(options);
  const middleware = serveStatic(hasher, {});
  // The instances hbs and express-handlebars hand out, as their own types declare them: no casts.
  registerHandlebars(hbs, hasher);
  registerHandlebars(hbs.create(), hasher);
  const expressHandlebars = createExpressHandlebars({ helpers: { ...staticHelpers(hasher) } });
  registerHandlebars(expressHandlebars, hasher, { delimiters: ['<<', '>>'] });
  registerHandlebars(expressHandlebars.handlebars, hasher);
  const app = fastify();
  const pluginOptions: StaticHashFastifyOptions = { hasher, prefix: '/static/' };
  await app.register(staticHashFastify, pluginOptions);
  const decorated: StaticHasher = app.staticHash;
  const koaMiddleware: (ctx: Context, next: Next) => Promise<void> = koaStatic(hasher, { fallthrough: true });
  const typedKoa: KoaStaticMiddleware = koaMiddleware;
  const store: RedisGenerationStore | undefined = undefined as RedisGenerationStore | undefined;
  const error: unknown = new StaticHashError('ERR_STATIC_IO', 'x');
  const code: string = error instanceof StaticHashError ? error.code : '';
  return [typeof registerNunjucks, typeof registerHandlebars, translateDelimiters('<<x>>'), typeof middleware,
    IMMUTABLE_CACHE_CONTROL, typeof redisGenerationStore, typeof staticHashPlugin, String(store), code, hasher.url('js/app.js'),
    decorated.url('js/app.js'), typeof typedKoa].join();
}
`;
  const settings: Array<{ name: string; file: string; compilerOptions: Record<string, unknown> }> = [
    // esModuleInterop: Fastify's own types (pino's) need it under node10, as Fastify's TypeScript guide says;
    // without static-hash they fail the same way.
    { name: 'node (node10)', file: 'consumer.ts', compilerOptions: { module: 'commonjs', moduleResolution: 'node', esModuleInterop: true } },
    { name: 'node16, CommonJS', file: 'consumer.cts', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
    { name: 'node16, ESM', file: 'consumer.mts', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
    { name: 'nodenext, CommonJS', file: 'consumer.cts', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } },
    { name: 'nodenext, ESM', file: 'consumer.mts', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } },
    { name: 'bundler', file: 'consumer.ts', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' } },
  ];
  // The six compilations run at once (each is a separate tsc process), and each test reads its result.
  let compiled: Promise<Map<string, string>> | undefined;
  function compileAll(): Promise<Map<string, string>> {
    compiled ??= Promise.all(settings.map(async ({ name, file, compilerOptions }) => {
      const dir = path.join(project, `ts-${name.replace(/\W+/g, '-')}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, file), consumer);
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          ...compilerOptions, target: 'es2022', strict: true, noEmit: true, skipLibCheck: false,
          types: ['node'], typeRoots: [path.join(repo, 'node_modules/@types')],
        },
        files: [file],
      }));
      const output = await new Promise<string>((resolve) => {
        execFile(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf8', env: cleanEnv() },
          (error, stdout, stderr) => resolve(error ? `${stdout}${stderr}` || String(error) : ''));
      });
      return [name, output] as const;
    })).then((results) => new Map(results));
    return compiled;
  }
  it.each(settings)('compiles a TypeScript file using every subpath under moduleResolution $name', async ({ name }) => {
    expect((await compileAll()).get(name)).toBe('');
  }, 120_000);
});
