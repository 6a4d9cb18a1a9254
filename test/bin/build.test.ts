import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import serveStaticFiles from 'serve-static';
import { IMMUTABLE_CACHE_CONTROL, serveStatic } from '../../adapters/express';
import { BUILD_RECORD, createStaticHasher, type StaticHasher } from '../../src/index';
import { makeFixture, type Fixture } from '../helpers/fixture';
import { buildSite } from '../helpers/build-site';
import { checkServed, get, xxh64 } from '../helpers/served-output';

// The built CLI, as npm installs it (`npm test` builds dist/ first; run `npm run build` when developing).
const CLI = path.resolve(__dirname, '../../dist/cjs/bin/static-hash.js');

const fixtures: Fixture[] = [];
const hashers: StaticHasher[] = [];
const servers: http.Server[] = [];

function run(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
}

async function hasherOf(options: Parameters<typeof createStaticHasher>[0]): Promise<StaticHasher> {
  const hasher = await createStaticHasher(options);
  hashers.push(hasher);
  return hasher;
}

/** A plain static server that knows nothing of static-hash: serve-static with no options, mounted at /static. */
async function plainServer(dir: string): Promise<string> {
  const app = express();
  app.use('/static', serveStaticFiles(dir));
  const server = http.createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Every file under `dir` (relative, '/'-separated) with its identity: mtime and inode change when a file is rewritten. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (sub: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const relative = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(relative);
      else {
        const stat = fs.statSync(path.join(dir, relative));
        files.set(relative, `${stat.mtimeMs}:${stat.ino}:${stat.size}`);
      }
    }
  };
  walk('');
  return files;
}

function changedBetween(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after].filter(([name, identity]) => before.get(name) !== identity).map(([name]) => name).sort();
}

function site(): Fixture {
  const fixture = buildSite();
  fixtures.push(fixture);
  return fixture;
}

const readOutput = (out: string) => (relative: string): Buffer | undefined => {
  const file = path.join(out, relative);
  return fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file) : undefined;
};

beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test builds it)`);
});

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  for (const hasher of hashers.splice(0)) await hasher.close();
  for (const fixture of fixtures.splice(0)) fixture.cleanup();
});

describe.each(['query', 'filename'] as const)('static-hash build --url-style %s', (style) => {
  it('writes what every URL names: a plain static server then serves exactly the versioned bytes', async () => {
    const fixture = site();
    const result = run(['build', '--root', 'public', '--out', 'dist/static', '--url-style', style, '--integrity'], fixture.dir);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^static-hash: built 11 files into .*dist\/static: \d+ written, 0 unchanged, 0 removed; manifest .*static-manifest\.json in \d+\.\d\d s\n$/);

    const out = fixture.path('dist/static');
    const manifestFile = path.join(out, 'static-manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    const references = Object.keys(manifest.files).sort();
    expect(references).toHaveLength(11);
    const fromManifest = await hasherOf({ root: out, manifest: manifestFile, urlStyle: style, onMissing: 'throw' });
    const live = await hasherOf({ root: fixture.path('public'), urlStyle: style });
    const origin = await plainServer(out);

    const checked = await checkServed({ origin, hasher: fromManifest, live, references, style, readOutput: readOutput(out) });
    console.log(`build --url-style ${style}: checked ${checked.urls} URLs, ${checked.stylesheetReferences} references inside served stylesheets, `
      + `${checked.siblings} compressed siblings, cycle members ${checked.cycleMembers.join(', ')}`);
    // The 11 files, plus fonts/f.eot?#iefix and fonts/f.svg#f as site.css writes them.
    expect(checked.urls).toBe(13);
    expect(checked.stylesheetReferences).toBeGreaterThanOrEqual(11);
    expect(checked.cycleMembers.sort()).toEqual(['css/cycle-a.css', 'css/cycle-b.css']);
    // Text files got both siblings; incompressible images and fonts none.
    expect(checked.siblings).toBeGreaterThanOrEqual(2 * 6);
    expect(fs.existsSync(path.join(out, 'img/bg.png.gz'))).toBe(false);
    // The URLs are the live hasher's: the output is what the source tree's pages link to.
    for (const reference of references) expect(fromManifest.url(reference)).toBe(live.url(reference));
    if (style === 'filename') {
      // Pages link hashed names; the plain names are there too, with the same bytes.
      for (const reference of references) {
        const hashed = new URL(live.url(reference), origin).pathname.replace(/^\/static\//, '');
        expect(fs.readFileSync(path.join(out, decodeURIComponent(hashed)))).toEqual(fs.readFileSync(path.join(out, reference)));
      }
    }
    const { stdout } = run(['verify', '--root', 'dist/static'], fixture.dir);
    expect(stdout).toMatch(/^static-hash verify: \d+ files match /);
  });

  it('a hasher whose root is the output serves the built stylesheets as they are: no second version, no hash of a hash', async () => {
    const fixture = site();
    expect(run(['build', '--root', 'public', '--out', 'out', '--url-style', style, '--quiet'], fixture.dir).status).toBe(0);
    const out = fixture.path('out');
    const live = await hasherOf({ root: fixture.path('public'), urlStyle: style });
    // Without a manifest: the built stylesheets are read and rewritten again, and come out unchanged.
    const overOutput = await hasherOf({ root: out, urlStyle: style });
    // With the build's manifest, through static-hash/express.
    const fromManifest = await hasherOf({ root: out, urlStyle: style, manifest: path.join(out, 'static-manifest.json') });
    const app = express();
    app.use('/static', serveStatic(fromManifest));
    const server = http.createServer(app);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let stylesheets = 0;
    for (const reference of ['css/site.css', 'css/base.css', 'css/cycle-a.css', 'css/cycle-b.css']) {
      const onDisk = fs.readFileSync(path.join(out, reference));
      expect(onDisk.toString()).not.toMatch(/v=[0-9a-f]{12}&v=|\.[0-9a-f]{12}\.[0-9a-f]{12}\./);
      expect(overOutput.hash(reference)).toBe(live.hash(reference));
      expect((await overOutput.read(reference))!.equals(onDisk)).toBe(true);
      expect((await fromManifest.read(reference))!.equals(onDisk)).toBe(true);
      expect(fromManifest.integrity(reference)).toBe(live.integrity(reference));
      const response = await get(new URL(fromManifest.url(reference), origin).href);
      expect(response.status).toBe(200);
      expect(response.headers['cache-control']).toBe(IMMUTABLE_CACHE_CONTROL);
      expect(response.body.equals(onDisk)).toBe(true);
      stylesheets++;
    }
    expect(stylesheets).toBe(4);
  });
});

describe('static-hash build: reruns', () => {
  it('writes nothing on an unchanged tree; after one image changes, only it, the stylesheets that reach it and the manifest', async () => {
    const fixture = site();
    const args = ['build', '--root', 'public', '--out', 'dist', '--url-style', 'filename', '--quiet'];
    expect(run(args, fixture.dir).status).toBe(0);
    const out = fixture.path('dist');
    const first = snapshot(out);

    const again = run(['build', '--root', 'public', '--out', 'dist', '--url-style', 'filename'], fixture.dir);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/: 0 written, \d+ unchanged, 0 removed; manifest .* \(unchanged\) in /);
    expect(changedBetween(first, snapshot(out))).toEqual([]);

    // img/dot.png is referenced by base.css, which site.css imports; the cycle and the rest do not reach it.
    fixture.write('public/img/dot.png', randomBytes(600));
    expect(run(args, fixture.dir).status).toBe(0);
    const changed = changedBetween(first, snapshot(out));
    const live = await hasherOf({ root: fixture.path('public'), urlStyle: 'filename' });
    const named = (reference: string): string[] => {
      const hashed = decodeURIComponent(live.url(reference).replace(/^\/static\//, ''));
      return [reference, hashed].flatMap((name) => [name, `${name}.br`, `${name}.gz`]).filter((name) => fs.existsSync(path.join(out, name)));
    };
    const expected = [...named('img/dot.png'), ...named('css/base.css'), ...named('css/site.css'), 'static-manifest.json', BUILD_RECORD].sort();
    console.log(`rerun after one image changed rewrote ${changed.length} of ${snapshot(out).size} files: ${changed.join(', ')}`);
    expect(changed).toEqual(expected);
    expect(changed).toEqual(expect.arrayContaining(['img/dot.png', 'css/base.css', 'css/base.css.br', 'css/site.css', 'css/site.css.gz']));
  });

  it('verify exits 1 listing every changed or missing file, 0 on the built tree', () => {
    const fixture = site();
    expect(run(['build', '--root', 'public', '--out', 'dist', '--url-style', 'filename', '--quiet'], fixture.dir).status).toBe(0);
    expect(run(['verify', '--root', 'dist', '--quiet'], fixture.dir)).toMatchObject({ status: 0, stdout: '' });
    fs.appendFileSync(fixture.path('dist/css/cycle-a.css'), '/* edited on the server */');
    fs.rmSync(fixture.path('dist/img/bg.png'));
    fs.writeFileSync(fixture.path('dist/js/app.js.gz'), 'not gzip');
    const drifted = run(['verify', '--manifest', 'dist/static-manifest.json', '--root', 'dist'], fixture.dir);
    expect(drifted.status).toBe(1);
    expect(drifted.stdout.split('\n').filter(Boolean).sort()).toEqual(['changed: css/cycle-a.css', 'changed: js/app.js.gz', 'missing: img/bg.png']);
    expect(drifted.stderr).toMatch(/^static-hash verify: 3 of \d+ files do not match /);
  });
});

describe('static-hash build --keep', () => {
  const versions = (out: string): string[] => fs.readdirSync(path.join(out, 'js')).filter((name) => /^app\.[0-9a-f]{12}\.js$/.test(name)).sort();

  it('keeps the previous builds\' hashed copies as documented, then removes them; never a file it did not write', async () => {
    const fixture = site();
    const out = fixture.path('dist');
    const build = (...extra: string[]): SpawnSyncReturns<string> => {
      const result = run(['build', '--root', 'public', '--out', 'dist', '--url-style', 'filename', '--no-compress', ...extra], fixture.dir);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      return result;
    };
    const hashOf = async (): Promise<string> => (await xxh64(fs.readFileSync(fixture.path('public/js/app.js')))).slice(0, 12);
    const v1 = await hashOf();
    build('--keep', '1', '--keep-age', '0');
    // Files someone else put there, one looking just like a hashed copy: never removed.
    fs.writeFileSync(path.join(out, 'js/app.0123456789ab.js'), 'deployed by hand');
    fs.writeFileSync(path.join(out, 'robots.txt'), 'User-agent: *');

    fixture.write('public/js/app.js', 'export const version = 2;\n');
    const v2 = await hashOf();
    build('--keep', '1', '--keep-age', '0');
    // Build 2 with --keep 1: build 1's copy stays (pages rendered before the deploy still name it).
    expect(versions(out)).toEqual(['app.0123456789ab.js', `app.${v1}.js`, `app.${v2}.js`].sort());

    fixture.write('public/js/app.js', 'export const version = 3;\n');
    const v3 = await hashOf();
    // The age rule alone keeps v1 (written less than an hour ago), whatever --keep says.
    build('--keep', '0');
    expect(versions(out)).toEqual(['app.0123456789ab.js', `app.${v1}.js`, `app.${v2}.js`, `app.${v3}.js`].sort());

    fixture.write('public/js/app.js', 'export const version = 4;\n');
    const v4 = await hashOf();
    const fourth = build('--keep', '1', '--keep-age', '0');
    // Build 4 keeps its own files and build 3's; v1 and v2 are gone, the foreign files stay.
    expect(versions(out)).toEqual(['app.0123456789ab.js', `app.${v3}.js`, `app.${v4}.js`].sort());
    expect(fourth.stdout).toMatch(/, 2 removed;/);
    expect(fs.readFileSync(path.join(out, 'robots.txt'), 'utf8')).toBe('User-agent: *');
    expect(fs.readFileSync(path.join(out, 'js/app.0123456789ab.js'), 'utf8')).toBe('deployed by hand');

    // A copy this tool wrote but someone changed since is no longer its own: it stays.
    fs.appendFileSync(path.join(out, `js/app.${v3}.js`), '// patched on the server\n');
    fixture.write('public/js/app.js', 'export const version = 5;\n');
    const v5 = await hashOf();
    build('--keep', '0', '--keep-age', '0');
    expect(versions(out)).toEqual(['app.0123456789ab.js', `app.${v3}.js`, `app.${v5}.js`].sort());
    console.log(`--keep: 5 builds, hashed copies of app.js left: ${versions(out).join(', ')} (v4 ${v4} removed, v3 ${v3} changed by hand and kept)`);
  });

  it('refuses to replace a file it did not write, a symlink, or to build into a root', () => {
    const fixture = site();
    fixture.write('dist/js/app.js', 'someone else\'s');
    const foreign = run(['build', '--root', 'public', '--out', 'dist'], fixture.dir);
    expect(foreign.status).toBe(1);
    expect(foreign.stderr).toMatch(/^static-hash build: refusing to write .*dist\/js\/app\.js: a file this tool did not write/);
    expect(fs.readFileSync(fixture.path('dist/js/app.js'), 'utf8')).toBe('someone else\'s');

    fs.rmSync(fixture.path('dist'), { recursive: true });
    fixture.write('elsewhere/secret.txt', 'keep me');
    fs.mkdirSync(fixture.path('dist'));
    fs.symlinkSync(fixture.path('elsewhere'), fixture.path('dist/css'));
    const throughLink = run(['build', '--root', 'public', '--out', 'dist'], fixture.dir);
    expect(throughLink.status).toBe(1);
    expect(throughLink.stderr).toMatch(/dist\/css is a symlink/);
    expect(fs.readdirSync(fixture.path('elsewhere'))).toEqual(['secret.txt']);

    const overlapping = run(['build', '--root', 'public', '--out', 'public/built'], fixture.dir);
    expect(overlapping.status).toBe(2);
    expect(overlapping.stderr).toMatch(/option "out" must be a directory apart from the roots/);
    expect(fs.existsSync(fixture.path('public/built'))).toBe(false);
  });
});

describe('static-hash build: terminal and faults', () => {
  it('shows a progress bar on a terminal, and none with --quiet', () => {
    const fixture = site();
    // script(1) runs the CLI on a pseudo-terminal, as in an interactive shell.
    const onTerminal = (extra: string): string => spawnSync('script', ['-qec', `"${process.execPath}" "${CLI}" build --out dist ${extra}`, '/dev/null'], {
      cwd: fixture.dir, encoding: 'utf8', timeout: 60_000,
    }).stdout;
    const shown = onTerminal('');
    expect(shown).toMatch(/\r\[#{30}\] 11\/11 files/);
    expect(shown).toContain('static-hash: built 11 files');
    expect(onTerminal('--quiet')).toBe('');
  });

  it('killed at any point, leaves every output file whole (old or new, never a part), and the next build finishes the job', async () => {
    const fixture = site();
    for (let i = 0; i < 600; i++) fixture.write(`public/bulk/d${i % 12}/f${i}.txt`, `${i} `.repeat(2000 + (i % 7) * 500));
    const sources = new Map<string, Buffer>();
    for (let i = 0; i < 600; i++) sources.set(`bulk/d${i % 12}/f${i}.txt`, fs.readFileSync(fixture.path(`public/bulk/d${i % 12}/f${i}.txt`)));
    // Every version each file has had: a killed run leaves the one it wrote, or whatever an earlier run left.
    const versions = new Map<string, Buffer[]>();
    let killedMidway = 0;
    let wholeFiles = 0;
    for (const delay of [150, 300, 450, 600]) {
      const child = spawn(process.execPath, [CLI, 'build', '--out', 'dist', '--quiet'], { cwd: fixture.dir, stdio: 'ignore' });
      await new Promise((resolve) => setTimeout(resolve, delay));
      const exited = child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve(child.exitCode)
        : new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGKILL');
      if ((await exited) === null) killedMidway++;
      for (const [name, bytes] of sources) {
        const file = fixture.path(`dist/${name}`);
        if (!fs.existsSync(file)) continue;
        const found = fs.readFileSync(file);
        expect(found.equals(bytes) || (versions.get(name) ?? []).some((version) => version.equals(found))).toBe(true);
        wholeFiles++;
      }
      for (const [name, bytes] of sources) versions.set(name, [...(versions.get(name) ?? []), bytes]);
      // Change every bulk file, so the next (killed) run replaces files this one wrote.
      for (const [name, bytes] of sources) {
        const changed = Buffer.concat([bytes, Buffer.from(`${delay}`)]);
        fixture.write(`public/${name}`, changed);
        sources.set(name, changed);
      }
    }
    const finished = run(['build', '--out', 'dist'], fixture.dir);
    expect(finished.stderr).toBe('');
    expect(finished.status).toBe(0);
    for (const [name, bytes] of sources) expect(fs.readFileSync(fixture.path(`dist/${name}`)).equals(bytes)).toBe(true);
    const leftovers = (function walk(dir: string): string[] {
      return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(path.join(dir, entry.name))
        : /\.tmp$/.test(entry.name) ? [entry.name] : []));
    })(fixture.path('dist'));
    expect(leftovers).toEqual([]);
    expect(run(['verify', '--root', 'dist', '--quiet'], fixture.dir).status).toBe(0);
    console.log(`killed 4 builds (${killedMidway} before they finished); ${wholeFiles} output files found whole after the kills, none partial; the fifth build completed and verified`);
    expect(killedMidway).toBeGreaterThanOrEqual(1);
  }, 120_000);
});

