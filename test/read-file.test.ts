// Every reader of file contents goes through src/read-file.ts: hash (digest), read, integrity, the
// stylesheet hasher, warm() and the manifest build. Each is tried on real faults: a FIFO, a Unix
// socket, a directory, a symlink out of the root and an unreadable file, each swapped in where a
// regular file was. The readers run in a child process (test/helpers/read-probe.cjs, against the
// built package): a reader that blocked on a FIFO would otherwise hang this runner instead of failing
// it, and "unreadable" needs an unprivileged user, since root reads any file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SAFE_OPEN_FLAGS, readRegularFile, withRegularFile } from '../src/read-file';
import { StaticHashError } from '../src/index';
import { makeFixture, type Fixture } from './helpers/fixture';

const distIndex = path.resolve(__dirname, '../dist/cjs/src/index.js');
const probe = path.resolve(__dirname, 'helpers/read-probe.cjs');
const NOBODY = 65534;

interface ProbeResult {
  uid: number;
  sanity: string;
  outcomes: Record<string, string>;
}

/** Runs the probe for one fault; as `uid` when given. */
function runProbe(fault: string, uid?: number): ProbeResult {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-read-'));
  try {
    fs.chmodSync(base, 0o777);
    const child = spawnSync(process.execPath, [probe, distIndex, base, fault], {
      encoding: 'utf8',
      ...(uid === undefined ? {} : { uid, gid: uid }),
      // A guard against a hang (the bug this suite exists for), not a speed limit: the probe takes
      // well under a second when nothing blocks.
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    if (child.signal === 'SIGKILL') throw new Error(`the ${fault} probe hung (a reader blocked); stderr: ${child.stderr}`);
    const line = child.stdout.trim().split('\n').at(-1) ?? '';
    const result = JSON.parse(line) as ProbeResult & { crashed?: string };
    if (result.crashed) throw new Error(`the ${fault} probe crashed: ${result.crashed}`);
    return result;
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

/** What every reader must answer for a fault whose file is not a regular file of the root (code). */
function expectations(code: string): Record<string, string> {
  return {
    hash: code,
    read: code,
    integrity: code,
    'stylesheet hash': code,
    'stylesheet read': code,
    'stylesheet integrity': code,
    'stylesheet import': 'ok, warned',
    // 300 fillers, i.png and main.css are warmed; the two faults are not, and lookups see them.
    warm: `files 302; then ${code}, ${code}`,
    'manifest build --integrity': 'files: i.png main.css; skipped: x.css x.js',
    'manifest build': 'files: i.png main.css; skipped: x.css x.js',
  };
}

describe('every reader, on a fault swapped in for a file', () => {
  beforeAll(() => {
    if (!fs.existsSync(distIndex)) throw new Error('dist/ is missing: run npm run build (npm test does)');
  });

  it.each([
    ['fifo', 'ERR_STATIC_NOT_A_FILE'],
    ['socket', 'ERR_STATIC_NOT_A_FILE'],
    ['directory', 'ERR_STATIC_NOT_A_FILE'],
    ['symlink', 'ERR_STATIC_UNSAFE_PATH'],
  ])('a %s: every reader answers %s at once, none blocks or reads through it', (fault, code) => {
    const result = runProbe(fault);
    console.log(`read-file ${fault}: ${Object.keys(result.outcomes).length} readers checked`, result.outcomes);
    expect(result.outcomes).toEqual(expectations(code));
  });

  it('an unreadable file: every reader answers ERR_STATIC_IO (run as an unprivileged user)', () => {
    const result = runProbe('unreadable', NOBODY);
    console.log(`read-file unreadable (uid ${result.uid}, plain read: ${result.sanity}):`, result.outcomes);
    expect(result.uid).toBe(NOBODY);
    expect(result.sanity).toBe('EACCES');
    expect(result.outcomes).toEqual({
      ...expectations('ERR_STATIC_IO'),
      // The import of an unreadable stylesheet is left as written with a warning, like any other failure.
      'stylesheet import': 'ok, warned',
      // The build stops at a file it cannot read: a manifest missing it would serve it unversioned.
      'manifest build --integrity': 'ERR_STATIC_IO',
      'manifest build': 'ERR_STATIC_IO',
    });
  });
});

describe('src/read-file.ts', () => {
  let fixture: Fixture;
  beforeEach(() => {
    fixture = makeFixture({ 'a.txt': 'hello', 'dir/inner.txt': 'x' });
  });
  afterEach(() => fixture.cleanup());

  function codeOf(action: () => unknown): string | undefined {
    try {
      action();
    } catch (error) {
      expect(error).toBeInstanceOf(StaticHashError);
      return (error as StaticHashError).code;
    }
    return undefined;
  }

  it('opens with O_NOFOLLOW and O_NONBLOCK, read-only', () => {
    expect(SAFE_OPEN_FLAGS & fs.constants.O_NOFOLLOW).toBe(fs.constants.O_NOFOLLOW);
    expect(SAFE_OPEN_FLAGS & fs.constants.O_NONBLOCK).toBe(fs.constants.O_NONBLOCK);
    expect(SAFE_OPEN_FLAGS & (fs.constants.O_WRONLY | fs.constants.O_RDWR)).toBe(0);
  });

  it('reads a regular file, and gives undefined for one that vanished (or whose directory did)', () => {
    expect(readRegularFile(fixture.path('a.txt'), 'a.txt')?.toString()).toBe('hello');
    expect(readRegularFile(fixture.path('gone.txt'), 'gone.txt')).toBeUndefined();
    expect(readRegularFile(fixture.path('a.txt/x'), 'a.txt/x')).toBeUndefined();
  });

  it('hands the descriptor and its fstat to the caller and closes it after, even when the caller throws', () => {
    let seen: number | undefined;
    const size = withRegularFile(fixture.path('a.txt'), 'a.txt', (fd, stats) => {
      seen = fd;
      return stats.size;
    });
    expect(size).toBe(5);
    expect(() => fs.fstatSync(seen!)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => withRegularFile(fixture.path('a.txt'), 'a.txt', (fd) => {
      seen = fd;
      throw new Error('boom');
    })).toThrow(expect.objectContaining({ code: 'ERR_STATIC_IO' }));
    expect(() => fs.fstatSync(seen!)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('refuses a symlink rather than following it (ERR_STATIC_UNSAFE_PATH), a directory, FIFO and socket (ERR_STATIC_NOT_A_FILE)', async () => {
    fs.symlinkSync(fixture.path('a.txt'), fixture.path('link.txt'));
    spawnSync('mkfifo', [fixture.path('pipe')]);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(fixture.path('sock'), resolve));
    try {
      expect(codeOf(() => readRegularFile(fixture.path('link.txt'), 'link.txt'))).toBe('ERR_STATIC_UNSAFE_PATH');
      expect(codeOf(() => readRegularFile(fixture.path('dir'), 'dir'))).toBe('ERR_STATIC_NOT_A_FILE');
      expect(codeOf(() => readRegularFile(fixture.path('pipe'), 'pipe'))).toBe('ERR_STATIC_NOT_A_FILE');
      expect(codeOf(() => readRegularFile(fixture.path('sock'), 'sock'))).toBe('ERR_STATIC_NOT_A_FILE');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('names the reference and the file in its errors', () => {
    let error: StaticHashError | undefined;
    try {
      readRegularFile(fixture.path('dir'), 'dir');
    } catch (caught) {
      error = caught as StaticHashError;
    }
    expect(error).toMatchObject({ code: 'ERR_STATIC_NOT_A_FILE', reference: 'dir', file: fixture.path('dir') });
    expect(error!.message).toContain('"dir"');
  });
});
