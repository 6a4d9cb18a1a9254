import fs from 'node:fs';
import path from 'node:path';
import xxhash from 'xxhash-wasm';
import { createStaticHasher, StaticHashError, StaticHasher, type StaticHasherOptions } from '../src/index';
import { makeFixture, recordingLogger, type Fixture } from './helpers/fixture';

type XXHashApi = Awaited<ReturnType<typeof xxhash>>;

let xx: XXHashApi;
let fixture: Fixture;
const open: StaticHasher[] = [];

/** A hasher over the fixture (unless options say otherwise), closed after the test. */
async function hasherFor(options: StaticHasherOptions = {}): Promise<StaticHasher> {
  const hasher = await createStaticHasher({ root: options.roots ? undefined : fixture.dir, logger: recordingLogger(), ...options });
  open.push(hasher);
  return hasher;
}

/** The hash the hasher must produce for `content`: xxHash64 of the raw bytes, computed independently. */
function expectedHash(content: string | Uint8Array, length = 12): string {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  return xx.h64Raw(bytes).toString(16).padStart(16, '0').slice(0, length);
}

function thrown(action: () => unknown): StaticHashError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(StaticHashError);
    return error as StaticHashError;
  }
  throw new Error('expected a StaticHashError, nothing was thrown');
}

beforeAll(async () => {
  xx = await xxhash();
});

beforeEach(() => {
  fixture = makeFixture({
    'js/app.js': 'console.log("app");',
    'css/site.css': 'body { color: red }',
    'LICENSE': 'MIT',
  });
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((hasher) => hasher.close()));
  fixture.cleanup();
});

describe('url()', () => {
  it('appends the first 12 hex characters of the xxHash64 of the file as ?v=', async () => {
    const hasher = await hasherFor();
    expect(hasher.url('js/app.js')).toBe(`/static/js/app.js?v=${expectedHash('console.log("app");')}`);
  });

  it('drops one leading slash: "/js/app.js" and "js/app.js" give the same URL', async () => {
    const hasher = await hasherFor();
    expect(hasher.url('/js/app.js')).toBe(hasher.url('js/app.js'));
  });

  it('canonicalises "." and empty segments', async () => {
    const hasher = await hasherFor();
    expect(hasher.url('./js//./app.js')).toBe(hasher.url('js/app.js'));
  });

  it('uses baseUrl, adding a missing trailing slash, absolute URLs included', async () => {
    const cdn = await hasherFor({ baseUrl: 'https://cdn.example.com/assets' });
    expect(cdn.url('LICENSE')).toBe(`https://cdn.example.com/assets/LICENSE?v=${expectedHash('MIT')}`);
    const protocolRelative = await hasherFor({ baseUrl: '//cdn.example.com/a/' });
    expect(protocolRelative.url('LICENSE')).toBe(`//cdn.example.com/a/LICENSE?v=${expectedHash('MIT')}`);
  });

  it('keeps a query and fragment written in the reference and merges the version into the query', async () => {
    fixture.write('fonts/f.woff', 'font');
    fixture.write('a.css', 'a');
    const hasher = await hasherFor();
    expect(hasher.url('fonts/f.woff?#iefix')).toBe(`/static/fonts/f.woff?v=${expectedHash('font')}#iefix`);
    expect(hasher.url('a.css?x=1#top')).toBe(`/static/a.css?x=1&v=${expectedHash('a')}#top`);
    expect(hasher.url('a.css#top')).toBe(`/static/a.css?v=${expectedHash('a')}#top`);
    expect(hasher.url('a.css?x=1&y=2')).toBe(`/static/a.css?x=1&y=2&v=${expectedHash('a')}`);
  });

  it('percent-encodes each path segment: spaces, non-ASCII and reserved characters', async () => {
    fixture.write('a b é.css', 'x');
    fixture.write("dir one/it's (1)*!.png", 'y');
    fixture.write('100%.txt', 'z');
    fixture.write('½.png', 'h');
    const hasher = await hasherFor();
    expect(hasher.url('a b é.css')).toBe(`/static/a%20b%20%C3%A9.css?v=${expectedHash('x')}`);
    expect(hasher.url("dir one/it's (1)*!.png")).toBe(`/static/dir%20one/it%27s%20%281%29%2A%21.png?v=${expectedHash('y')}`);
    // A reference is a file path, not a URL: '%' is a literal character and is encoded as such.
    expect(hasher.url('100%.txt')).toBe(`/static/100%25.txt?v=${expectedHash('z')}`);
    // Not a slash look-alike: '½' folds to '1⁄2' under NFKC, but the reference itself has no U+2044.
    expect(hasher.url('½.png')).toBe(`/static/%C2%BD.png?v=${expectedHash('h')}`);
  });

  it('encodes characters in the query and fragment that could break out of an attribute', async () => {
    fixture.write('a.css', 'a');
    const hasher = await hasherFor();
    expect(hasher.url('a.css?q="><x>#a b')).toBe(`/static/a.css?q=%22%3E%3Cx%3E&v=${expectedHash('a')}#a%20b`);
  });

  it('rejects a reference that is not a non-empty string with ERR_STATIC_INVALID_REFERENCE', async () => {
    const hasher = await hasherFor();
    for (const bad of ['', undefined, null, 42, {}, ['js/app.js']]) {
      const error = thrown(() => hasher.url(bad as unknown as string));
      expect(error.code).toBe('ERR_STATIC_INVALID_REFERENCE');
      expect(error.status).toBe(400);
    }
  });

  it('gives two different binary files two different URLs', async () => {
    // Both decode to the same text (U+FFFD) as UTF-8: hashing decoded text would make them collide.
    fixture.write('a.bin', Buffer.from([0xff, 0x00, 0x01]));
    fixture.write('b.bin', Buffer.from([0xfe, 0x00, 0x01]));
    const hasher = await hasherFor();
    expect(hasher.hash('a.bin')).toBe(expectedHash(Buffer.from([0xff, 0x00, 0x01])));
    expect(hasher.url('a.bin')).not.toBe(hasher.url('b.bin').replace('b.bin', 'a.bin'));
  });
});

describe('hash()', () => {
  it('equals the xxHash64 of the raw bytes, lower-case hex, hashLength characters', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 131) % 256));
    fixture.write('img/logo.png', bytes);
    for (const hashLength of [4, 8, 12, 16]) {
      const hasher = await hasherFor({ hashLength });
      const hash = hasher.hash('img/logo.png');
      expect(hash).toMatch(new RegExp(`^[0-9a-f]{${hashLength}}$`));
      expect(hash).toBe(expectedHash(bytes, hashLength));
    }
  });

  it('hashes a file larger than 1 MiB in chunks to the same value as h64Raw over the whole buffer', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 12345);
    for (let index = 0; index < big.length; index++) big[index] = (index * 7919) >>> 3;
    fixture.write('big.bin', big);
    const hasher = await hasherFor({ hashLength: 16 });
    expect(hasher.hash('big.bin')).toBe(expectedHash(big, 16));
  });

  it('returns undefined for a missing file under onMissing "warn" and "ignore"', async () => {
    expect((await hasherFor({ onMissing: 'warn' })).hash('nope.js')).toBeUndefined();
    expect((await hasherFor({ onMissing: 'ignore' })).hash('nope.js')).toBeUndefined();
  });
});

describe('urlStyle: "filename"', () => {
  it('puts the hash before the last extension, or at the end without one', async () => {
    fixture.write('archive.tar.gz', 'gz');
    fixture.write('.env', 'E');
    fixture.write('v1.2/readme', 'R');
    const hasher = await hasherFor({ urlStyle: 'filename' });
    expect(hasher.url('js/app.js')).toBe(`/static/js/app.${expectedHash('console.log("app");')}.js`);
    expect(hasher.url('LICENSE')).toBe(`/static/LICENSE.${expectedHash('MIT')}`);
    expect(hasher.url('archive.tar.gz')).toBe(`/static/archive.tar.${expectedHash('gz')}.gz`);
    expect(hasher.url('.env')).toBe(`/static/.env.${expectedHash('E')}`);
    expect(hasher.url('v1.2/readme')).toBe(`/static/v1.2/readme.${expectedHash('R')}`);
  });

  it('keeps the reference query and fragment as they are', async () => {
    const hasher = await hasherFor({ urlStyle: 'filename' });
    expect(hasher.url('css/site.css?x=1#top')).toBe(`/static/css/site.${expectedHash('body { color: red }')}.css?x=1#top`);
  });
});

describe('param', () => {
  it('names the query parameter', async () => {
    const hasher = await hasherFor({ param: 'ver' });
    expect(hasher.url('LICENSE')).toBe(`/static/LICENSE?ver=${expectedHash('MIT')}`);
  });

  it('"" puts the bare hash in the query', async () => {
    fixture.write('app.js', 'A');
    const hasher = await hasherFor({ param: '' });
    expect(hasher.url('app.js')).toBe(`/static/app.js?${expectedHash('A')}`);
    expect(hasher.url('app.js?x=1')).toBe(`/static/app.js?x=1&${expectedHash('A')}`);
  });
});

describe('invalidate()', () => {
  it('without it, an edited file keeps its cached URL', async () => {
    const hasher = await hasherFor();
    const before = hasher.url('js/app.js');
    fixture.write('js/app.js', 'changed');
    expect(hasher.url('js/app.js')).toBe(before);
    expect(hasher.hash('js/app.js')).toBe(expectedHash('console.log("app");'));
  });

  it('after a content change, gives a new URL with the new content hash', async () => {
    const hasher = await hasherFor();
    const before = hasher.url('js/app.js');
    fixture.write('js/app.js', 'changed');
    hasher.invalidate();
    const after = hasher.url('js/app.js');
    expect(after).not.toBe(before);
    expect(after).toBe(`/static/js/app.js?v=${expectedHash('changed')}`);
  });

  it('returns the new generation, one more than the last', async () => {
    const hasher = await hasherFor();
    expect(hasher.generation).toBe(0);
    expect(hasher.invalidate()).toBe(1);
    expect(hasher.invalidate()).toBe(2);
    expect(hasher.generation).toBe(2);
    expect(hasher.stats().generation).toBe(2);
  });

  it('two invalidations in the same millisecond give two generations, and no stale hash survives', async () => {
    const hasher = await hasherFor();
    // Retry until both calls land in one millisecond (almost always the first try): that is the
    // case a timestamp generation gets wrong.
    for (let attempt = 0; attempt < 1000; attempt++) {
      const started = Date.now();
      fixture.write('js/app.js', `first ${attempt}`);
      const first = hasher.invalidate();
      const firstUrl = hasher.url('js/app.js');
      fixture.write('js/app.js', `second ${attempt}`);
      const second = hasher.invalidate();
      const secondUrl = hasher.url('js/app.js');
      if (Date.now() !== started) continue;
      expect(second).toBe(first + 1);
      expect(firstUrl).toBe(`/static/js/app.js?v=${expectedHash(`first ${attempt}`)}`);
      expect(secondUrl).toBe(`/static/js/app.js?v=${expectedHash(`second ${attempt}`)}`);
      return;
    }
    throw new Error('never managed two invalidations within one millisecond');
  });

  it('re-warns about a missing file once in the new generation', async () => {
    const logger = recordingLogger();
    const hasher = await hasherFor({ logger });
    hasher.url('missing.js');
    hasher.url('missing.js');
    expect(logger.warnings).toHaveLength(1);
    hasher.invalidate();
    hasher.url('missing.js');
    expect(logger.warnings).toHaveLength(2);
  });

  it('picks up a file created after it was first reported missing', async () => {
    const hasher = await hasherFor({ onMissing: 'ignore' });
    expect(hasher.url('late.js')).toBe('/static/late.js');
    fixture.write('late.js', 'late');
    expect(hasher.url('late.js')).toBe('/static/late.js');
    hasher.invalidate();
    expect(hasher.url('late.js')).toBe(`/static/late.js?v=${expectedHash('late')}`);
  });

  it('a result computed while the generation moved is not cached under the new generation', async () => {
    // The logger runs inside the lookup: it creates the file and invalidates, as a watcher reacting
    // to a save mid-lookup would. The "missing" answer belongs to the old generation only.
    let hasher!: StaticHasher;
    const logger = {
      warn: () => {
        fixture.write('racy.js', 'now here');
        hasher.invalidate();
      },
    };
    hasher = await hasherFor({ logger });
    expect(hasher.url('racy.js')).toBe('/static/racy.js');
    expect(hasher.url('racy.js')).toBe(`/static/racy.js?v=${expectedHash('now here')}`);
  });

  it('rejects unknown or mistyped options with ERR_STATIC_INVALID_OPTION', async () => {
    const hasher = await hasherFor();
    const typo = thrown(() => hasher.invalidate({ nocahce: true } as never));
    expect(typo.code).toBe('ERR_STATIC_INVALID_OPTION');
    expect(typo.message).toContain('did you mean "nocache"');
    expect(thrown(() => hasher.invalidate({ nocache: 'yes' } as never)).option).toBe('nocache');
    expect(thrown(() => hasher.invalidate(null as never)).code).toBe('ERR_STATIC_INVALID_OPTION');
    expect(hasher.generation).toBe(0);
  });
});

describe('invalidate({ nocache })', () => {
  it('true hashes afresh on every lookup until false turns caching back on', async () => {
    const hasher = await hasherFor();
    hasher.url('js/app.js');
    hasher.invalidate({ nocache: true });
    expect(hasher.stats().bypass).toBe(true);
    fixture.write('js/app.js', 'one');
    expect(hasher.url('js/app.js')).toBe(`/static/js/app.js?v=${expectedHash('one')}`);
    fixture.write('js/app.js', 'two');
    expect(hasher.url('js/app.js')).toBe(`/static/js/app.js?v=${expectedHash('two')}`);
    // Nothing is read from or stored in the cache meanwhile (entries: the orphan from generation 0).
    const { hits, misses, entries } = hasher.stats();
    hasher.url('js/app.js');
    expect(hasher.stats()).toMatchObject({ hits, misses: misses + 1, entries });

    hasher.invalidate({ nocache: false });
    expect(hasher.stats().bypass).toBe(false);
    const cached = hasher.url('js/app.js');
    fixture.write('js/app.js', 'three');
    expect(hasher.url('js/app.js')).toBe(cached);
    expect(cached).toBe(`/static/js/app.js?v=${expectedHash('two')}`);
  });

  it('a plain invalidate() leaves nocache as it was', async () => {
    const hasher = await hasherFor();
    hasher.invalidate({ nocache: true });
    hasher.invalidate();
    expect(hasher.stats().bypass).toBe(true);
  });
});

describe('cache', () => {
  it('answers repeated lookups from the cache: hits grow, misses do not', async () => {
    const hasher = await hasherFor();
    hasher.url('js/app.js');
    expect(hasher.stats()).toMatchObject({ hits: 0, misses: 1, entries: 1 });
    hasher.url('js/app.js');
    hasher.url('js/app.js');
    hasher.hash('js/app.js');
    expect(hasher.stats()).toMatchObject({ hits: 3, misses: 1, entries: 1 });
  });

  it('shares one hash entry between references to the same file', async () => {
    const hasher = await hasherFor();
    hasher.url('js/app.js');
    hasher.url('/js/app.js?x=1');
    expect(hasher.stats()).toMatchObject({ misses: 1, entries: 1 });
  });

  it('10,000 distinct references with maxEntries 100 never evict the generation: caching still works', async () => {
    for (let index = 0; index < 10_000; index++) fixture.write(`many/f${index}.txt`, String(index));
    const hasher = await hasherFor({ cache: { maxEntries: 100 } });
    const first = hasher.url('js/app.js');
    for (let index = 0; index < 10_000; index++) {
      expect(hasher.url(`many/f${index}.txt`)).toBe(`/static/many/f${index}.txt?v=${expectedHash(String(index))}`);
    }
    const afterFlood = hasher.stats();
    expect(afterFlood.generation).toBe(0);
    expect(afterFlood.entries).toBeLessThanOrEqual(100);
    expect(afterFlood.bypass).toBe(false);

    // The Django bug: with the generation key evicted, every lookup hashed afresh from then on.
    // Here the next lookup of app.js may hash once (its entry aged out), then it is cached again.
    expect(hasher.url('js/app.js')).toBe(first);
    fixture.write('js/app.js', 'edited without invalidate()');
    const { hits, misses } = hasher.stats();
    expect(hasher.url('js/app.js')).toBe(first);
    expect(hasher.url('js/app.js')).toBe(first);
    expect(hasher.stats()).toMatchObject({ hits: hits + 2, misses, generation: 0 });
    hasher.invalidate();
    expect(hasher.url('js/app.js')).toBe(`/static/js/app.js?v=${expectedHash('edited without invalidate()')}`);
  });
});

describe('onMissing', () => {
  it('"warn" (the default) returns the plain URL, no dangling "?", and warns once per reference per generation', async () => {
    const logger = recordingLogger();
    const hasher = await hasherFor({ logger });
    expect(hasher.url('missing.js')).toBe('/static/missing.js');
    expect(hasher.url('missing.js')).toBe('/static/missing.js');
    expect(hasher.url('/missing.js')).toBe('/static/missing.js');
    expect(hasher.hash('missing.js')).toBeUndefined();
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain('"missing.js"');
    expect(logger.warnings[0]).toContain(fixture.path('missing.js'));
    hasher.url('other.js');
    expect(logger.warnings).toHaveLength(2);
  });

  it('"warn" keeps the reference query and fragment without adding a version', async () => {
    const hasher = await hasherFor();
    expect(hasher.url('missing.css?x=1#top')).toBe('/static/missing.css?x=1#top');
  });

  it('"warn" goes to console.warn when no logger is given', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const hasher = await createStaticHasher({ root: fixture.dir });
      open.push(hasher);
      hasher.url('missing.js');
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('"throw" raises ERR_STATIC_NOT_FOUND (status 404) naming the reference and where it looked', async () => {
    const hasher = await hasherFor({ onMissing: 'throw' });
    const error = thrown(() => hasher.url('missing.js'));
    expect(error).toMatchObject({ code: 'ERR_STATIC_NOT_FOUND', status: 404, reference: 'missing.js', file: fixture.path('missing.js') });
    expect(thrown(() => hasher.hash('missing.js')).code).toBe('ERR_STATIC_NOT_FOUND');
    // The answer is not cached as a URL: it keeps throwing.
    expect(thrown(() => hasher.url('missing.js')).code).toBe('ERR_STATIC_NOT_FOUND');
  });

  it('"ignore" returns the plain URL silently', async () => {
    const logger = recordingLogger();
    const hasher = await hasherFor({ onMissing: 'ignore', logger });
    expect(hasher.url('missing.js')).toBe('/static/missing.js');
    expect(logger.warnings).toEqual([]);
  });
});

describe('non-files', () => {
  it('a reference to a directory is ERR_STATIC_NOT_A_FILE (status 404), whatever onMissing says', async () => {
    for (const onMissing of ['warn', 'throw', 'ignore'] as const) {
      const hasher = await hasherFor({ onMissing });
      expect(thrown(() => hasher.url('js'))).toMatchObject({ code: 'ERR_STATIC_NOT_A_FILE', status: 404, reference: 'js' });
      expect(thrown(() => hasher.url('js/')).code).toBe('ERR_STATIC_NOT_A_FILE');
      expect(thrown(() => hasher.url('/')).code).toBe('ERR_STATIC_NOT_A_FILE');
    }
  });

  it('a FIFO is ERR_STATIC_NOT_A_FILE at once rather than blocking the render', async () => {
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [fixture.path('pipe')]);
    const hasher = await hasherFor();
    expect(thrown(() => hasher.url('pipe')).code).toBe('ERR_STATIC_NOT_A_FILE');
    await expect(hasher.read('pipe')).rejects.toMatchObject({ code: 'ERR_STATIC_NOT_A_FILE' });
  });
});

describe('symlinks', () => {
  let outside: Fixture;
  beforeEach(() => {
    outside = makeFixture({ 'secret.txt': 'secret', 'dir/inner.txt': 'inner' });
  });
  afterEach(() => outside.cleanup());

  it('a symlink pointing out of the root is refused with ERR_STATIC_UNSAFE_PATH (status 400)', async () => {
    fs.symlinkSync(outside.path('secret.txt'), fixture.path('link.txt'));
    fs.symlinkSync(outside.path('dir'), fixture.path('linkdir'));
    fs.symlinkSync('../../etc/passwd', fixture.path('relative-out'));
    const hasher = await hasherFor();
    expect(thrown(() => hasher.url('link.txt'))).toMatchObject({ code: 'ERR_STATIC_UNSAFE_PATH', status: 400 });
    expect(thrown(() => hasher.url('linkdir/inner.txt')).code).toBe('ERR_STATIC_UNSAFE_PATH');
    expect(thrown(() => hasher.url('relative-out')).code).toBe('ERR_STATIC_UNSAFE_PATH');
    expect(() => hasher.resolve('link.txt')).toThrow(StaticHashError);
    await expect(hasher.read('link.txt')).rejects.toMatchObject({ code: 'ERR_STATIC_UNSAFE_PATH' });
  });

  it('a symlink to a file or directory inside the root is followed', async () => {
    fs.symlinkSync('js/app.js', fixture.path('app-link.js'));
    fs.symlinkSync(fixture.path('css'), fixture.path('styles'));
    const hasher = await hasherFor();
    expect(hasher.hash('app-link.js')).toBe(expectedHash('console.log("app");'));
    expect(hasher.url('styles/site.css')).toBe(`/static/styles/site.css?v=${expectedHash('body { color: red }')}`);
    expect(hasher.resolve('app-link.js')?.file).toBe(fs.realpathSync(fixture.path('js/app.js')));
  });

  it('a root that is itself a symlink works, and files must stay inside its real path', async () => {
    const link = `${fixture.dir}-link`;
    fs.symlinkSync(fixture.dir, link);
    try {
      const hasher = await hasherFor({ root: link });
      expect(hasher.hash('LICENSE')).toBe(expectedHash('MIT'));
    } finally {
      fs.unlinkSync(link);
    }
  });

  it('a dangling symlink is a missing file', async () => {
    fs.symlinkSync(fixture.path('gone.js'), fixture.path('dangling.js'));
    const hasher = await hasherFor({ onMissing: 'throw' });
    expect(thrown(() => hasher.url('dangling.js')).code).toBe('ERR_STATIC_NOT_FOUND');
  });
});

describe('unsafe references', () => {
  it.each([
    '../secret.txt', 'js/../../x', '..', 'js/..', '%2e%2e/x', '%2E%2E%2Fx', 'a%2fb', 'a%5cb', '%252e%252e/x', '%c0%ae%c0%ae/x',
    'a\\b', '..\\x', 'a\0b', '/etc/passwd/../x', '//evil.com/x', 'http://evil.com/x', 'data:text/plain,x', 'C:\\x', 'c:/x',
    'javascript:alert(1)', '\uFF0E\uFF0E/x', 'a\u2215..\u2215b', 'a\uFF0F..\uFF0Fb', 'a\u2044b', '\uFE52\uFE52/x', '\u2025/x', '.. /x', '... /x', 'a\nb', 'a\u007fb', '\uD800',
  ])('%j is ERR_STATIC_UNSAFE_PATH, before touching the disk', async (reference) => {
    const hasher = await hasherFor({ onMissing: 'throw' });
    const error = thrown(() => hasher.url(reference));
    expect(error.code).toBe('ERR_STATIC_UNSAFE_PATH');
    expect(error.reference).toBe(reference);
    expect(hasher.stats().misses).toBe(0);
  });
});

describe('roots', () => {
  let vendor: Fixture;
  let vendorX: Fixture;
  beforeEach(() => {
    vendor = makeFixture({ 'x/a.js': 'vendor x/a', 'b.js': 'vendor b', 'only-vendor.js': 'ov' });
    vendorX = makeFixture({ 'a.js': 'vendorX a' });
    fixture.write('vendor/b.js', 'main vendor/b');
    fixture.write('vendor/x/fallback.js', 'main fallback');
  });
  afterEach(() => {
    vendor.cleanup();
    vendorX.cleanup();
  });

  it('looks a reference up under the longest matching prefix first, whatever order roots are given in', async () => {
    const hasher = await hasherFor({
      roots: [{ dir: fixture.dir }, { dir: vendor.dir, prefix: 'vendor/' }, { dir: vendorX.dir, prefix: 'vendor/x' }],
    });
    expect(hasher.url('vendor/x/a.js')).toBe(`/static/vendor/x/a.js?v=${expectedHash('vendorX a')}`);
    expect(hasher.url('vendor/b.js')).toBe(`/static/vendor/b.js?v=${expectedHash('vendor b')}`);
    expect(hasher.url('js/app.js')).toBe(`/static/js/app.js?v=${expectedHash('console.log("app");')}`);
    expect(hasher.resolve('vendor/x/a.js')?.file).toBe(fs.realpathSync(vendorX.path('a.js')));
    expect(hasher.options.roots.map((root) => root.prefix)).toEqual(['vendor/x/', 'vendor/', '']);
  });

  it('falls back to shorter prefixes when the longer one lacks the file', async () => {
    const hasher = await hasherFor({
      roots: [{ dir: vendorX.dir, prefix: '/vendor/x/' }, { dir: vendor.dir, prefix: 'vendor' }, { dir: fixture.dir }],
      onMissing: 'throw',
    });
    expect(hasher.hash('vendor/x/fallback.js')).toBe(expectedHash('main fallback'));
    expect(hasher.hash('vendor/only-vendor.js')).toBe(expectedHash('ov'));
  });

  it('a prefix matches whole segments only', async () => {
    fixture.write('vendorish/c.js', 'c');
    const hasher = await hasherFor({ roots: [{ dir: vendor.dir, prefix: 'vendor/' }, { dir: fixture.dir }], onMissing: 'throw' });
    expect(hasher.hash('vendorish/c.js')).toBe(expectedHash('c'));
  });

  it('with only prefixed roots, a reference outside every prefix is missing', async () => {
    const hasher = await hasherFor({ roots: [{ dir: vendor.dir, prefix: 'vendor/' }], onMissing: 'throw' });
    const error = thrown(() => hasher.url('b.js'));
    expect(error.code).toBe('ERR_STATIC_NOT_FOUND');
  });
});

describe('warm()', () => {
  it('hashes every file under every root ahead of time, so later lookups are cache hits', async () => {
    const vendor = makeFixture({ 'lib.js': 'lib', 'sub/deep.js': 'deep' });
    try {
      fixture.write('odd?name.js', 'skipped: cannot be written as a reference');
      const hasher = await hasherFor({ roots: [{ dir: fixture.dir }, { dir: vendor.dir, prefix: 'vendor/' }] });
      const result = await hasher.warm();
      expect(result).toEqual({ files: 5, generation: 0 });
      const { misses } = hasher.stats();
      expect(misses).toBe(5);
      expect(hasher.url('vendor/sub/deep.js')).toBe(`/static/vendor/sub/deep.js?v=${expectedHash('deep')}`);
      expect(hasher.url('LICENSE')).toBe(`/static/LICENSE?v=${expectedHash('MIT')}`);
      expect(hasher.stats()).toMatchObject({ misses, hits: 2 });
    } finally {
      vendor.cleanup();
    }
  });

  it('stores for each reference the file url() would pick when roots overlap, even after evictions', async () => {
    // The vendor root is walked first (longest prefix); with 2 entries its x.js is evicted by the
    // sub/ files before the main root's own vendor/x.js comes up, which must not take its place.
    const vendor = makeFixture({ 'x.js': 'vendor x', 'sub/z.js': 'z', 'sub/w.js': 'w' });
    const main = makeFixture({ 'vendor/x.js': 'shadowed by the vendor root', 'vendor/y.js': 'only in the main root' });
    try {
      const hasher = await hasherFor({ roots: [{ dir: main.dir }, { dir: vendor.dir, prefix: 'vendor/' }], cache: { maxEntries: 2 } });
      await hasher.warm();
      expect(hasher.hash('vendor/x.js')).toBe(expectedHash('vendor x'));
      expect(hasher.url('vendor/x.js')).toBe(`/static/vendor/x.js?v=${expectedHash('vendor x')}`);
      expect(hasher.hash('vendor/y.js')).toBe(expectedHash('only in the main root'));
    } finally {
      vendor.cleanup();
      main.cleanup();
    }
  });

  it('skips symlinks that leave the root and does not descend into symlinked directories', async () => {
    const outside = makeFixture({ 'secret.txt': 'secret', 'd/f.txt': 'f' });
    try {
      fs.symlinkSync(outside.path('secret.txt'), fixture.path('out.txt'));
      fs.symlinkSync(outside.path('d'), fixture.path('outdir'));
      fs.symlinkSync(fixture.path('js'), fixture.path('loop'));
      fs.symlinkSync('LICENSE', fixture.path('license-link'));
      const hasher = await hasherFor();
      expect(await hasher.warm()).toEqual({ files: 4, generation: 0 });
    } finally {
      outside.cleanup();
    }
  });

  it('warms a large tree (yielding between batches) under the generation current when it started', async () => {
    for (let index = 0; index < 600; index++) fixture.write(`many/${index % 7}/f${index}.txt`, String(index));
    const hasher = await hasherFor();
    hasher.invalidate();
    expect(await hasher.warm()).toEqual({ files: 603, generation: 1 });
    expect(hasher.stats().entries).toBe(603);
  });
});

describe('resolve()', () => {
  it('returns the canonical path, real file, hash and URL', async () => {
    const hasher = await hasherFor();
    expect(hasher.resolve('/js/app.js?x=1#y')).toEqual({
      path: 'js/app.js',
      file: fs.realpathSync(fixture.path('js/app.js')),
      hash: expectedHash('console.log("app");'),
      url: `/static/js/app.js?x=1&v=${expectedHash('console.log("app");')}#y`,
    });
  });

  it('returns undefined for a missing file whatever onMissing says, without warning', async () => {
    const logger = recordingLogger();
    expect((await hasherFor({ onMissing: 'throw' })).resolve('missing.js')).toBeUndefined();
    expect((await hasherFor({ logger })).resolve('missing.js')).toBeUndefined();
    expect(logger.warnings).toEqual([]);
  });

  it('shares the cache with url(): the hash stays until invalidate()', async () => {
    const hasher = await hasherFor();
    const before = hasher.resolve('LICENSE')!.hash;
    fixture.write('LICENSE', 'GPL');
    expect(hasher.resolve('LICENSE')!.hash).toBe(before);
    hasher.invalidate();
    expect(hasher.resolve('LICENSE')!.hash).toBe(expectedHash('GPL'));
  });

  it('throws for unsafe references and directories', async () => {
    const hasher = await hasherFor();
    expect(thrown(() => hasher.resolve('../x')).code).toBe('ERR_STATIC_UNSAFE_PATH');
    expect(thrown(() => hasher.resolve('js')).code).toBe('ERR_STATIC_NOT_A_FILE');
  });
});

describe('read()', () => {
  it('returns the raw bytes of the file', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    fixture.write('b.bin', bytes);
    const hasher = await hasherFor();
    expect(await hasher.read('/b.bin?x#y')).toEqual(bytes);
  });

  it('resolves to undefined for a missing file', async () => {
    const hasher = await hasherFor({ onMissing: 'throw' });
    expect(await hasher.read('missing.js')).toBeUndefined();
  });

  it('rejects unsafe references, directories and bad references with a StaticHashError', async () => {
    const hasher = await hasherFor();
    await expect(hasher.read('../x')).rejects.toMatchObject({ code: 'ERR_STATIC_UNSAFE_PATH' });
    await expect(hasher.read('css')).rejects.toMatchObject({ code: 'ERR_STATIC_NOT_A_FILE' });
    await expect(hasher.read(7 as never)).rejects.toMatchObject({ code: 'ERR_STATIC_INVALID_REFERENCE' });
  });
});

describe('stats()', () => {
  it('starts at zero with the watcher off', async () => {
    const hasher = await hasherFor();
    expect(hasher.stats()).toEqual({ generation: 0, entries: 0, hits: 0, misses: 0, bypass: false, watcher: 'off' });
  });

  it('reports the watcher as starting, watching after ready, closed after close()', async () => {
    const hasher = await hasherFor({ watch: true });
    expect(['starting', 'watching']).toContain(hasher.stats().watcher);
    await hasher.ready;
    expect(hasher.stats().watcher).toBe('watching');
    await hasher.close();
    expect(hasher.stats().watcher).toBe('closed');
  });

  it('returns a snapshot, not a live object', async () => {
    const hasher = await hasherFor();
    const snapshot = hasher.stats();
    hasher.url('LICENSE');
    expect(snapshot.misses).toBe(0);
  });
});

describe('close()', () => {
  it('is idempotent and lookups keep working after it', async () => {
    const hasher = await hasherFor();
    const url = hasher.url('LICENSE');
    await hasher.close();
    await expect(hasher.close()).resolves.toBeUndefined();
    expect(hasher.url('LICENSE')).toBe(url);
    expect(hasher.invalidate()).toBe(1);
  });

  it('closes a watching hasher so the process can exit, concurrently called twice', async () => {
    const hasher = await hasherFor({ watch: true });
    await hasher.ready;
    await Promise.all([hasher.close(), hasher.close()]);
    expect(hasher.stats().watcher).toBe('closed');
  });
});

describe('ready', () => {
  it('resolves at once without a watcher', async () => {
    const hasher = await hasherFor();
    await expect(hasher.ready).resolves.toBeUndefined();
  });
});

describe('createStaticHasher()', () => {
  it('freezes the normalised options it exposes', async () => {
    const hasher = await hasherFor();
    expect(Object.isFrozen(hasher.options)).toBe(true);
    expect(hasher.options.roots[0]!.realDir).toBe(fs.realpathSync(fixture.dir));
    expect(path.isAbsolute(hasher.options.roots[0]!.dir)).toBe(true);
  });

  it('rejects bad options before loading anything', async () => {
    await expect(createStaticHasher({ root: fixture.dir, hashLength: 3 })).rejects.toMatchObject({
      code: 'ERR_STATIC_INVALID_OPTION', option: 'hashLength',
    });
  });
});
