import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStaticHasher, StaticHashError, type StaticHasher, type StaticHasherOptions } from '../src/index';

const temps: string[] = [];
const hashers: StaticHasher[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-version-'));
  temps.push(dir);
  return dir;
}

async function hasherOf(options: StaticHasherOptions): Promise<StaticHasher> {
  const hasher = await createStaticHasher(options);
  hashers.push(hasher);
  return hasher;
}

// Git must not find a repository above the temp dir, nor read the user's config.
const gitEnv = { ...process.env, GIT_CEILING_DIRECTORIES: os.tmpdir(), GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
}

function gitRepo(): { repo: string; root: string } {
  const repo = tempDir();
  git(repo, 'init', '-q');
  git(repo, 'config', 'user.email', 'test@example.com');
  git(repo, 'config', 'user.name', 'static-hash test');
  const root = path.join(repo, 'public');
  fs.mkdirSync(path.join(root, 'js'), { recursive: true });
  fs.writeFileSync(path.join(root, 'js/app.js'), 'one');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'first');
  return { repo, root };
}

afterEach(async () => {
  for (const hasher of hashers.splice(0)) await hasher.close();
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('version: a release version', () => {
  it('appends ?v=<version>, merged with a query and before a fragment', async () => {
    const root = tempDir();
    const hasher = await hasherOf({ root, version: '1.4.2' });
    expect(hasher.url('js/app.js')).toBe('/static/js/app.js?v=1.4.2');
    expect(hasher.url('/a.css?x=1#top')).toBe('/static/a.css?x=1&v=1.4.2#top');
    expect(hasher.hash('js/app.js')).toBe('1.4.2');
  });

  it('goes into the file name with urlStyle filename, and honours param', async () => {
    const root = tempDir();
    expect((await hasherOf({ root, version: 'r42', urlStyle: 'filename' })).url('js/app.js')).toBe('/static/js/app.r42.js');
    expect((await hasherOf({ root, version: 'r42', param: 'rel' })).url('js/app.js')).toBe('/static/js/app.js?rel=r42');
  });

  it('reads no file: URLs are the same whether the files exist, change or not', async () => {
    const root = tempDir();
    const messages: string[] = [];
    const hasher = await hasherOf({ root, version: '7', onMissing: 'throw', logger: { warn: (m) => messages.push(m) } });
    expect(hasher.url('never/written.js')).toBe('/static/never/written.js?v=7');
    fs.writeFileSync(path.join(root, 'a.js'), 'a');
    hasher.invalidate();
    expect(hasher.url('a.js')).toBe('/static/a.js?v=7');
    expect(messages).toEqual([]);
  });

  it('still refuses unsafe references', async () => {
    const hasher = await hasherOf({ root: tempDir(), version: '1.0.0' });
    expect(() => hasher.url('../secret')).toThrow(expect.objectContaining({ code: 'ERR_STATIC_UNSAFE_PATH' }));
  });

  it('leaves per-file hashes on when the variable is unset (version: process.env.X)', async () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'a.js'), 'a');
    const hasher = await hasherOf({ root, version: process.env.STATIC_HASH_TEST_UNSET_VERSION });
    expect(hasher.url('a.js')).toMatch(/^\/static\/a\.js\?v=[0-9a-f]{12}$/);
  });

  it.each([
    ['empty', ''],
    ['a space', '1.0 beta'],
    ['a plus (a space in a query)', '1.0.0+build'],
    ['a slash', 'release/1'],
    ['a non-ASCII letter', 'vé'],
    ['too long', 'x'.repeat(129)],
    ['a number', 1],
  ])('rejects a version with %s', async (_name, version) => {
    await expect(createStaticHasher({ root: tempDir(), version: version as string })).rejects.toMatchObject({
      code: 'ERR_STATIC_INVALID_OPTION', option: 'version',
    });
  });
});

describe("version: 'git'", () => {
  it('uses the commit checked out in the root, read once at startup', async () => {
    const { repo, root } = gitRepo();
    const head = git(repo, 'rev-parse', 'HEAD');
    const hasher = await hasherOf({ root, version: 'git' });
    expect(hasher.url('js/app.js')).toBe(`/static/js/app.js?v=${head.slice(0, 12)}`);
    expect((await hasherOf({ root, version: 'git', hashLength: 7 })).hash('js/app.js')).toBe(head.slice(0, 7));

    fs.writeFileSync(path.join(root, 'js/app.js'), 'two');
    git(repo, 'commit', '-q', '-am', 'second');
    const next = git(repo, 'rev-parse', 'HEAD');
    expect(next).not.toBe(head);
    hasher.invalidate();
    expect(hasher.url('js/app.js')).toBe(`/static/js/app.js?v=${head.slice(0, 12)}`);
    expect((await hasherOf({ root, version: 'git' })).url('js/app.js')).toBe(`/static/js/app.js?v=${next.slice(0, 12)}`);
  });

  it('fails clearly outside a git checkout', async () => {
    const root = tempDir();
    const previous = process.env.GIT_CEILING_DIRECTORIES;
    process.env.GIT_CEILING_DIRECTORIES = os.tmpdir();
    try {
      const error = await createStaticHasher({ root, version: 'git' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StaticHashError);
      expect(error).toMatchObject({ code: 'ERR_STATIC_INVALID_OPTION', option: 'version' });
      expect((error as Error).message).toContain('not a git repository');
      expect((error as Error).message).toContain(root);
    } finally {
      if (previous === undefined) delete process.env.GIT_CEILING_DIRECTORIES;
      else process.env.GIT_CEILING_DIRECTORIES = previous;
    }
  });

  it('fails clearly in a repository without commits', async () => {
    const repo = tempDir();
    git(repo, 'init', '-q');
    await expect(createStaticHasher({ root: repo, version: 'git' })).rejects.toMatchObject({ code: 'ERR_STATIC_INVALID_OPTION', option: 'version' });
  });
});
