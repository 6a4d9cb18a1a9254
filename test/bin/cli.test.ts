import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStaticHasher, type StaticHasher } from '../../src/index';

// The built CLI, as npm installs it (`npm test` builds dist/ first; run `npm run build` when developing).
const CLI = path.resolve(__dirname, '../../dist/cjs/bin/static-hash.js');

const temps: string[] = [];
const hashers: StaticHasher[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-cli-'));
  temps.push(dir);
  return dir;
}

/** A deterministic tree: `count` files over nested directories, sizes varying around `size` bytes. */
function generateTree(root: string, count: number, size: number, seed = 1): string[] {
  let state = seed;
  const next = (): number => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `d${i % 7}/e${i % 13}/file-${i}.${['js', 'css', 'png', 'txt'][i % 4]}`;
    const bytes = Buffer.alloc(size / 2 + (next() % size));
    for (let j = 0; j < bytes.length; j++) bytes[j] = j % 4 === 0 ? next() & 0xff : bytes[j - 1]! ^ (j * 7);
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), bytes);
    names.push(name);
  }
  return names;
}

function run(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
}

async function hasherOf(options: Parameters<typeof createStaticHasher>[0]): Promise<StaticHasher> {
  const hasher = await createStaticHasher(options);
  hashers.push(hasher);
  return hasher;
}

beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test builds it)`);
});

afterEach(async () => {
  for (const hasher of hashers.splice(0)) await hasher.close();
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('static-hash manifest --out writes only a regular file or a new path (issue #13)', () => {
  /** The identity and content of what is at `target`, to prove it untouched. */
  function snapshot(target: string): string {
    const stats = fs.lstatSync(target);
    const content = stats.isSymbolicLink() ? `-> ${fs.readlinkSync(target)}` : stats.isFile() ? fs.readFileSync(target, 'utf8') : '';
    return JSON.stringify({ ino: stats.ino, mode: stats.mode, rdev: stats.rdev, size: stats.size, content });
  }

  function site(): string {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'public'));
    fs.writeFileSync(path.join(dir, 'public/app.js'), 'app');
    return dir;
  }

  const targets: Array<[string, RegExp, (dir: string) => string]> = [
    ['a symlink to a file', /it is a symbolic link, not a regular file; left untouched/, (dir) => {
      fs.writeFileSync(path.join(dir, 'elsewhere.json'), 'precious');
      fs.symlinkSync('elsewhere.json', path.join(dir, 'm.json'));
      return 'm.json';
    }],
    ['a dangling symlink', /it is a symbolic link/, (dir) => {
      fs.symlinkSync('nowhere.json', path.join(dir, 'm.json'));
      return 'm.json';
    }],
    ['a FIFO', /it is a FIFO \(named pipe\), not a regular file; left untouched/, (dir) => {
      expect(spawnSync('mkfifo', [path.join(dir, 'm.json')]).status).toBe(0);
      return 'm.json';
    }],
    ['a directory', /it is a directory, not a regular file; left untouched/, (dir) => {
      fs.mkdirSync(path.join(dir, 'm.json'));
      return 'm.json';
    }],
  ];
  // A device node needs root (mknod); the test machine runs as root, as the issue's report did.
  if (process.getuid?.() === 0) {
    targets.push(['a character device node', /it is a character device, not a regular file; left untouched/, (dir) => {
      expect(spawnSync('mknod', [path.join(dir, 'm.json'), 'c', '1', '3']).status).toBe(0);
      return 'm.json';
    }]);
  }

  it.each(targets)('refuses %s: exit 1, a message naming it, the target untouched', (_kind, message, make) => {
    const dir = site();
    const out = make(dir);
    const before = snapshot(path.join(dir, out));
    const result = run(['manifest', '--root', 'public', '--out', out], dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`static-hash manifest: cannot write the manifest ${path.join(fs.realpathSync(dir), out)}`);
    expect(result.stderr).toMatch(message);
    expect(snapshot(path.join(dir, out))).toBe(before);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('replaces a regular file it finds there, and writes a new path', () => {
    const dir = site();
    fs.writeFileSync(path.join(dir, 'm.json'), 'old manifest');
    expect(run(['manifest', '--root', 'public', '--out', 'm.json'], dir).status).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'm.json'), 'utf8')).files['app.js']).toMatch(/^[0-9a-f]{12}$/);
    expect(run(['manifest', '--root', 'public', '--out', 'new.json'], dir).status).toBe(0);
    expect(fs.lstatSync(path.join(dir, 'new.json')).isFile()).toBe(true);
  });

  it('under a file: "cannot write the manifest" with the real cause, not the cleanup\'s ENOTDIR', () => {
    const dir = site();
    fs.writeFileSync(path.join(dir, 'somefile'), 'a file, not a directory');
    const result = run(['manifest', '--root', 'public', '--out', 'somefile/m.json'], dir);
    expect(result.status).toBe(1);
    const real = fs.realpathSync(dir);
    expect(result.stderr).toBe(`static-hash manifest: cannot write the manifest ${path.join(real, 'somefile/m.json')}: ${path.join(real, 'somefile')} is not a directory\n`);
    expect(fs.readFileSync(path.join(dir, 'somefile'), 'utf8')).toBe('a file, not a directory');
  });

  it('in a directory that does not exist: says which', () => {
    const dir = site();
    const result = run(['manifest', '--root', 'public', '--out', 'missing/m.json'], dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`cannot write the manifest ${path.join(fs.realpathSync(dir), 'missing/m.json')}: directory ${path.join(fs.realpathSync(dir), 'missing')} does not exist`);
  });
});

describe('static-hash manifest', () => {
  it('hashes every file of a generated tree into a manifest equal to live hashing, quietly when not on a terminal', async () => {
    const dir = tempDir();
    const names = generateTree(path.join(dir, 'public'), 300, 4096);
    const result = run(['manifest', '--root', 'public', '--out', 'static-manifest.json'], dir);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(new RegExp(`^static-hash: wrote ${path.join(dir, 'static-manifest.json').replace(/[/.]/g, '\\$&')}: 300 files in \\d+\\.\\d\\d s\\n$`));
    expect(result.stdout).not.toContain('\r');

    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'static-manifest.json'), 'utf8'));
    expect(manifest.format).toBe(1);
    expect(manifest.options).toEqual({ hashLength: 12, baseUrl: '/static/', urlStyle: 'query', param: 'v', css: true });
    expect(manifest.integrity).toBeUndefined();
    const live = await hasherOf({ root: path.join(dir, 'public') });
    expect(Object.keys(manifest.files).sort()).toEqual([...names].sort());
    for (const name of names) expect(manifest.files[name]).toBe(live.hash(name));
  });

  it('records sha384 integrity values with --integrity, as node:crypto computes them', () => {
    const dir = tempDir();
    const names = generateTree(path.join(dir, 'public'), 40, 2048);
    expect(run(['manifest', '--root', 'public', '--integrity', '--quiet'], dir).status).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'static-manifest.json'), 'utf8'));
    for (const name of names) {
      const digest = createHash('sha384').update(fs.readFileSync(path.join(dir, 'public', name))).digest('base64');
      expect(manifest.integrity[name]).toBe(`sha384-${digest}`);
    }
  });

  it('writes the same manifest with --threads 1 and --threads 3 (the pool), and refuses --threads 0', () => {
    const dir = tempDir();
    generateTree(path.join(dir, 'public'), 5600, 256); // 4,200 plain files (not .css): the pool's POOL_MIN_FILES is 4,096
    expect(run(['manifest', '--root', 'public', '--out', 'one.json', '--threads', '1', '--integrity', '--quiet'], dir).status).toBe(0);
    expect(run(['manifest', '--root', 'public', '--out', 'three.json', '--threads', '3', '--integrity', '--quiet'], dir).status).toBe(0);
    const one = fs.readFileSync(path.join(dir, 'one.json'), 'utf8');
    expect(Object.keys(JSON.parse(one).files)).toHaveLength(5600);
    expect(fs.readFileSync(path.join(dir, 'three.json'), 'utf8')).toBe(one);
    const bad = run(['manifest', '--threads', '0'], dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--threads must be an integer from 1 to 256; got "0"');
  });

  it('records what each JavaScript module imports, and a hasher serves the import map from it', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'public/js'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'public/js/main.js'), "import './util.js';\nconst later = () => import('./lazy.mjs');\n");
    fs.writeFileSync(path.join(dir, 'public/js/util.js'), 'export const util = 1;\n');
    fs.writeFileSync(path.join(dir, 'public/js/lazy.mjs'), 'export {};\n');
    expect(run(['manifest', '--root', 'public', '--quiet'], dir).status).toBe(0);
    const file = path.join(dir, 'static-manifest.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(manifest.modules).toEqual({ 'js/main.js': { imports: [{ specifier: './util.js' }, { specifier: './lazy.mjs', dynamic: true }], computed: 0 } });
    const root = path.join(dir, 'public');
    const live = await hasherOf({ root });
    expect((await hasherOf({ root, manifest: file })).importMap('js/main.js')).toEqual(live.importMap('js/main.js'));
  });

  it('prints nothing with --quiet', () => {
    const dir = tempDir();
    generateTree(path.join(dir, 'public'), 5, 100);
    const result = run(['manifest', '--quiet'], dir);
    expect(result).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(fs.existsSync(path.join(dir, 'static-manifest.json'))).toBe(true);
  });

  it('records the URL-shaping options, and a hasher with the same options loads the manifest', async () => {
    const dir = tempDir();
    generateTree(path.join(dir, 'assets'), 10, 100);
    generateTree(path.join(dir, 'vendor'), 3, 100, 9);
    const args = ['manifest', '--root', 'assets', '--root', 'lib/=vendor', '--out', 'out/m.json',
      '--base-url', 'https://cdn.example.com/a', '--hash-length', '8', '--url-style', 'filename', '--param', 'h'];
    fs.mkdirSync(path.join(dir, 'out'));
    expect(run(args, dir).status).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'out/m.json'), 'utf8'));
    expect(manifest.options).toEqual({ hashLength: 8, baseUrl: 'https://cdn.example.com/a/', urlStyle: 'filename', param: 'h', css: true });
    expect(manifest.files['lib/d0/e0/file-0.js']).toMatch(/^[0-9a-f]{8}$/);

    const options = {
      roots: [{ dir: path.join(dir, 'assets') }, { dir: path.join(dir, 'vendor'), prefix: 'lib/' }],
      baseUrl: 'https://cdn.example.com/a', hashLength: 8, urlStyle: 'filename' as const, param: 'h',
    };
    const fromManifest = await hasherOf({ ...options, manifest: path.join(dir, 'out/m.json'), onMissing: 'throw' });
    const live = await hasherOf(options);
    expect(fromManifest.url('lib/d0/e0/file-0.js')).toBe(live.url('lib/d0/e0/file-0.js'));
    expect(fromManifest.url('d1/e1/file-1.css')).toMatch(/^https:\/\/cdn\.example\.com\/a\/d1\/e1\/file-1\.[0-9a-f]{8}\.css$/);
  });

  it('records css: false with --no-css, which only a hasher with css: false accepts', async () => {
    const dir = tempDir();
    generateTree(path.join(dir, 'public'), 10, 100);
    fs.writeFileSync(path.join(dir, 'public/site.css'), 'body { background: url(d0/e0/file-0.js) }');
    expect(run(['manifest', '--quiet', '--no-css'], dir).status).toBe(0);
    const file = path.join(dir, 'static-manifest.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(manifest.options.css).toBe(false);
    const root = path.join(dir, 'public');
    const live = await hasherOf({ root, css: false });
    expect(manifest.files['site.css']).toBe(live.hash('site.css'));
    expect((await hasherOf({ root, css: false, manifest: file })).url('site.css')).toBe(live.url('site.css'));
    await expect(hasherOf({ root, manifest: file })).rejects.toMatchObject({ code: 'ERR_STATIC_MANIFEST' });
  });

  it('shows a progress bar on a terminal, and none with --quiet', () => {
    const dir = tempDir();
    generateTree(path.join(dir, 'public'), 200, 1024);
    // script(1) runs the CLI on a pseudo-terminal, as in an interactive shell.
    const onTerminal = (extra: string): string => spawnSync('script', ['-qec', `"${process.execPath}" "${CLI}" manifest ${extra}`, '/dev/null'], {
      cwd: dir, encoding: 'utf8',
    }).stdout;
    const shown = onTerminal('');
    expect(shown).toMatch(/\r\[#{30}\] 200\/200 files/);
    expect(shown).toContain('static-hash: wrote');
    expect(onTerminal('--quiet')).toBe('');
  });

  it('writes atomically: killed at any point, the target is the previous complete manifest, never a part', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    generateTree(root, 1500, 8192);
    const target = path.join(dir, 'static-manifest.json');
    expect(run(['manifest', '--integrity', '--quiet'], dir).status).toBe(0);
    const previous = fs.readFileSync(target, 'utf8');
    // Change every file so a completed run would write a different manifest: this one.
    generateTree(root, 1500, 8192, 77);
    expect(run(['manifest', '--integrity', '--quiet'], dir).status).toBe(0);
    const next = fs.readFileSync(target, 'utf8');
    expect(next).not.toBe(previous);
    fs.writeFileSync(target, previous);

    let killedBeforeRename = 0;
    let completed = 0;
    for (let attempt = 0; attempt < 12; attempt++) {
      const child = spawn(process.execPath, [CLI, 'manifest', '--integrity', '--quiet'], { cwd: dir, stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      // Half the attempts kill as soon as the temporary file appears (mid-write), the others at
      // growing delays (mid-hashing); a late kill may find the run already finished.
      const deadline = Date.now() + 20 * attempt;
      while (child.exitCode === null) {
        if (attempt % 2 === 0 && fs.readdirSync(dir).some((name) => name.endsWith('.tmp'))) {
          break;
        }
        if (attempt % 2 === 1 && Date.now() >= deadline) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      child.kill('SIGKILL');
      const code = await exited;
      const text = fs.readFileSync(target, 'utf8');
      expect(() => JSON.parse(text)).not.toThrow();
      if (text === previous) {
        killedBeforeRename++;
        expect(code).not.toBe(0); // a run that finished must have replaced it
      } else {
        // Replaced only by the whole new manifest: by a run that finished, or one killed after its
        // rename (between the rename and the exit: still complete, which is what atomic means).
        expect(text).toBe(next);
        completed++;
        fs.writeFileSync(target, previous);
      }
    }
    expect(killedBeforeRename).toBeGreaterThan(0);
    expect(killedBeforeRename + completed).toBe(12);
    // Whatever the killed runs left behind, the next run writes a complete manifest and sweeps it.
    expect(run(['manifest', '--integrity', '--quiet'], dir).status).toBe(0);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(fs.readFileSync(target, 'utf8')).files).not.toEqual(JSON.parse(previous).files);
  });

  it('with no previous manifest, a killed run leaves none rather than a part of one', async () => {
    const dir = tempDir();
    generateTree(path.join(dir, 'public'), 800, 8192);
    const child = spawn(process.execPath, [CLI, 'manifest', '--integrity'], { cwd: dir, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    while (child.exitCode === null && !fs.readdirSync(dir).some((name) => name.endsWith('.tmp'))) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    child.kill('SIGKILL');
    await exited;
    const target = path.join(dir, 'static-manifest.json');
    if (fs.existsSync(target)) expect(() => JSON.parse(fs.readFileSync(target, 'utf8'))).not.toThrow();
  });
});

describe('static-hash url', () => {
  it('prints one URL per reference, as the hasher gives it', async () => {
    const dir = tempDir();
    const names = generateTree(path.join(dir, 'public'), 3, 100);
    const result = run(['url', names[0]!, `/${names[1]}?x=1#top`, '--root', 'public'], dir);
    expect(result.status).toBe(0);
    const live = await hasherOf({ root: path.join(dir, 'public') });
    expect(result.stdout).toBe(`${live.url(names[0]!)}\n${live.url(`/${names[1]}?x=1#top`)}\n`);
    expect(result.stderr).toBe('');
  });

  it('prints URLs from a manifest, and with a release version', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'public/js'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'public/js/app.js'), 'one');
    expect(run(['manifest', '--quiet'], dir).status).toBe(0);
    const fromFile = run(['url', 'js/app.js'], dir).stdout;
    fs.writeFileSync(path.join(dir, 'public/js/app.js'), 'two');
    expect(run(['url', 'js/app.js', '--manifest', 'static-manifest.json'], dir).stdout).toBe(fromFile);
    expect(run(['url', 'js/app.js'], dir).stdout).not.toBe(fromFile);
    expect(run(['url', 'js/app.js', '--version', '3.1.0', '--url-style', 'filename'], dir).stdout).toBe('/static/js/app.3.1.0.js\n');
  });

  it('exits 1 naming the reference when the file is missing', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'public'));
    const result = run(['url', 'js/nope.js'], dir);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`static-hash url: file not found: "js/nope.js" (looked for ${path.join(dir, 'public/js/nope.js')})\n`);
  });

  it('exits 1 with ERR_STATIC_MANIFEST text for a manifest built with other options', () => {
    const dir = tempDir();
    generateTree(path.join(dir, 'public'), 2, 100);
    expect(run(['manifest', '--quiet', '--hash-length', '8'], dir).status).toBe(0);
    const result = run(['url', 'd0/e0/file-0.js', '--manifest', 'static-manifest.json'], dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('hashLength is 8 in the manifest but 12 in the hasher');
  });
});

describe('--help and bad arguments', () => {
  it.each([
    [['--help'], 'Usage: static-hash <command>'],
    [['-h'], 'Usage: static-hash <command>'],
    [['help'], 'Usage: static-hash <command>'],
    [['manifest', '--help'], 'Usage: static-hash manifest'],
    [['manifest', '-h'], 'Usage: static-hash manifest'],
    [['url', '--help'], 'Usage: static-hash url'],
  ])('%j prints usage and exits 0', (args, heading) => {
    const result = run(args, tempDir());
    expect(result.status).toBe(0);
    expect(result.stdout.startsWith(heading)).toBe(true);
    expect(result.stderr).toBe('');
  });

  it('--version prints the version of the package the CLI belongs to', () => {
    const result = run(['--version'], tempDir());
    const { version } = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect([result.status, result.stdout, result.stderr]).toEqual([0, `${version}\n`, '']);
    // Within "url", --version stays the release-version option it always was.
    expect(run(['url', '--help'], tempDir()).stdout).toContain('--version <version>');
  });

  // An unknown flag: exit 2 and one line, naming the closest flag that command accepts.
  it.each([
    [['manifest', '--bogus'], 'static-hash manifest: unknown option "--bogus" (see "static-hash manifest --help")'],
    [['manifest', '--otu', 'm.json'], 'static-hash manifest: unknown option "--otu"; did you mean "--out"? (see "static-hash manifest --help")'],
    [['build', '--quite'], 'static-hash build: unknown option "--quite"; did you mean "--quiet"? (see "static-hash build --help")'],
    [['build', '--keep-ag=5'], 'static-hash build: unknown option "--keep-ag"; did you mean "--keep-age"? (see "static-hash build --help")'],
    [['verify', '--manfest', 'x'], 'static-hash verify: unknown option "--manfest"; did you mean "--manifest"? (see "static-hash verify --help")'],
    [['url', 'a.js', '--hash-lenght', '8'], 'static-hash url: unknown option "--hash-lenght"; did you mean "--hash-length"? (see "static-hash url --help")'],
    [['--verison'], 'static-hash: unknown option "--verison"; did you mean "--version"? (see "static-hash --help")'],
    [['url', 'a.js', '-x'], 'static-hash url: unknown option "-x" (see "static-hash url --help")'],
  ])('%j is one line naming the closest flag', (args, line) => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'public'));
    const result = run(args, dir);
    expect([result.status, result.stderr, result.stdout]).toEqual([2, `${line}\n`, '']);
  });

  it('lists in --help every flag, long and short, that each command accepts (and each listed flag is accepted)', () => {
    const expected: Record<string, string[]> = {
      manifest: ['--root', '-o', '--out', '--integrity', '--base-url', '--hash-length', '--url-style', '--param', '--no-css', '-q', '--quiet', '-h', '--help'],
      build: ['--root', '-o', '--out', '--manifest', '--integrity', '--base-url', '--hash-length', '--url-style', '--param', '--no-css',
        '--compress', '--no-compress', '--keep', '--keep-age', '-q', '--quiet', '-h', '--help'],
      verify: ['--manifest', '--root', '-q', '--quiet', '-h', '--help'],
      url: ['--root', '--manifest', '--version', '--base-url', '--hash-length', '--url-style', '--param', '--no-css', '-h', '--help'],
    };
    let checked = 0;
    for (const [command, flags] of Object.entries(expected)) {
      const help = run([command, '--help'], tempDir()).stdout;
      // The flags of the Options: section (the prose above it may mention other commands' flags).
      const options = help.slice(help.indexOf('\nOptions:\n'));
      const listed = [...options.matchAll(/^ {2}(-[a-z]), (--[a-z-]+)|^ {2}(--[a-z][a-z-]*)/gm)].flatMap((match) => [match[1], match[2], match[3]].filter((flag): flag is string => flag !== undefined));
      for (const flag of flags) expect([command, flag, help.includes(flag)]).toEqual([command, flag, true]);
      // Each flag the help names is one the command accepts (no unknown-option error for it).
      for (const flag of new Set(listed)) {
        const result = run([command, flag, '--help'], tempDir());
        expect([command, flag, result.stderr.includes('unknown option')]).toEqual([command, flag, false]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(30);
  });

  it('documents every option of each command in its --help', () => {
    const manifestHelp = run(['manifest', '--help'], tempDir()).stdout;
    for (const flag of ['--root', '--out', '--integrity', '--base-url', '--hash-length', '--url-style', '--param', '--no-css', '--quiet', '--help']) {
      expect(manifestHelp).toContain(flag);
    }
    const urlHelp = run(['url', '--help'], tempDir()).stdout;
    for (const flag of ['--root', '--manifest', '--version', '--base-url', '--hash-length', '--url-style', '--param', '--no-css', '--help']) {
      expect(urlHelp).toContain(flag);
    }
  });

  it.each([
    [[], 'Usage: static-hash <command>'],
    [['deploy'], 'unknown command "deploy" (expected "manifest", "build", "verify" or "url")'],
    [['build'], '--out <dir> is required'],
    [['build', '--out', 'dist', '--compress', 'lz4'], '--compress takes a list of br, gz, zstd; got "lz4"'],
    [['build', '--out', 'dist', '--keep', '-1'], "Option '--keep' argument is ambiguous"],
    [['build', '--out', 'dist', '--keep', 'two'], '--keep must be an integer of 0 or more; got "two"'],
    [['build', '--out', 'dist', '--compress', 'br', '--no-compress'], '--compress and --no-compress contradict each other'],
    [['verify'], '--root <dir> is required'],
    [['manifest', '--out'], "Option '-o, --out <value>' argument missing"],
    [['manifest', 'public'], 'unexpected argument "public"'],
    [['manifest', '--hash-length', 'twelve'], '--hash-length must be an integer from 4 to 16; got "twelve"'],
    [['manifest', '--hash-length', '40'], '--hash-length must be an integer from 4 to 16; got "40"'],
    [['manifest', '--url-style', 'path'], '--url-style must be "query" or "filename"; got "path"'],
    [['manifest', '--root', 'no-such-dir'], 'option "root" must be an existing directory'],
    [['manifest', '--base-url', 'static'], 'option "baseUrl" must be'],
    [['manifest', '--param', 'a b'], 'option "param" must be'],
    [['url'], 'expected at least one reference'],
    [['url', '../etc/passwd'], 'unsafe path "../etc/passwd"'],
    [['url', 'a.js', '--version', 'not ok'], 'option "version" must be'],
  ])('%j exits 2 with a clear message', (args, message) => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'public'));
    const result = run(args, dir);
    expect(result.status).toBe(2);
    expect(result.stderr + result.stdout).toContain(message);
    if (args.length > 0) expect(result.stderr).toMatch(/Run "static-hash( manifest| url| build| verify)? --help" for usage\.\n$/);
    expect(fs.existsSync(path.join(dir, 'static-manifest.json'))).toBe(false);
  });
});
