import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildManifest,
  createStaticHasher,
  listReferences,
  readManifest,
  serializeManifest,
  StaticHashError,
  writeManifest,
  type StaticHasher,
  type StaticHasherOptions,
} from '../src/index';

const temps: string[] = [];
const hashers: StaticHasher[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-manifest-'));
  temps.push(dir);
  return dir;
}

function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
}

async function hasherOf(options: StaticHasherOptions): Promise<StaticHasher> {
  const hasher = await createStaticHasher(options);
  hashers.push(hasher);
  return hasher;
}

function recordingLogger(): { warn(message: string): void; messages: string[] } {
  const messages: string[] = [];
  return { messages, warn: (message: string) => messages.push(message) };
}

async function expectManifestError(promise: Promise<unknown>, ...fragments: string[]): Promise<StaticHashError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(StaticHashError);
  expect((error as StaticHashError).code).toBe('ERR_STATIC_MANIFEST');
  for (const fragment of fragments) expect((error as StaticHashError).message).toContain(fragment);
  return error as StaticHashError;
}

const TREE = {
  'js/app.js': 'console.log("app");\n',
  'js/vendor/lib.min.js': 'var lib = 1;'.repeat(5000),
  'css/site.css': 'body { background: url(../img/a%20b%20é.png) }\n@import "print.css";\n',
  'css/print.css': 'a { color: black }\n',
  'img/a b é.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]),
  'fonts/f.woff2': Buffer.alloc(3 * 1024 * 1024 + 17, 7), // larger than one 1 MiB read chunk
  'LICENSE': 'MIT\n',
  '.well-known/security.txt': 'Contact: x\n',
  'empty.txt': '',
  ['__proto__']: 'a file with an awkward name', // computed key: an own property, not the prototype
  'constructor.js': 'another',
};

afterEach(async () => {
  for (const hasher of hashers.splice(0)) await hasher.close();
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('buildManifest() and createStaticHasher({ manifest })', () => {
  it('gives, for every file, the URL and hash live hashing gives (default options)', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, TREE);
    const { manifest, files, skipped } = await buildManifest({ root });
    expect(files).toBe(Object.keys(TREE).length);
    expect(skipped).toEqual([]);
    const out = path.join(dir, 'static-manifest.json');
    writeManifest(out, manifest);

    const live = await hasherOf({ root });
    const fromManifest = await hasherOf({ root, manifest: out });
    for (const reference of Object.keys(TREE)) {
      expect(fromManifest.hash(reference)).toBe(live.hash(reference));
      expect(fromManifest.url(reference)).toBe(live.url(reference));
      expect(fromManifest.url(`/${reference}?x=1#top`)).toBe(live.url(`/${reference}?x=1#top`));
    }
    expect(manifest.files['img/a b é.png']).toBe(live.hash('img/a b é.png'));
    expect(Object.hasOwn(JSON.parse(fs.readFileSync(out, 'utf8')).files, '__proto__')).toBe(true);
  });

  it('is what warm() caches: the same files, each already cached by a warmed hasher, and the files warm() leaves out are the ones skipped', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, { ...TREE, 'what?.js': 'unnameable', 'linked/target.txt': 'target' });
    writeTree(dir, { 'outside.txt': 'outside the root' });
    fs.symlinkSync(path.join(root, 'linked/target.txt'), path.join(root, 'inside-link.txt'));
    fs.symlinkSync(path.join(dir, 'outside.txt'), path.join(root, 'outside-link.txt'));
    const { manifest, files, skipped } = await buildManifest({ root, integrity: true });
    const live = await hasherOf({ root });
    const warmed = await live.warm();
    expect(warmed.files).toBe(files);
    const missesAfterWarm = live.stats().misses;
    for (const [reference, hash] of Object.entries(manifest.files)) {
      expect(live.hash(reference)).toBe(hash);
      expect(live.integrity(reference)).toBe(manifest.integrity![reference]);
    }
    // Every hash came from what warm() cached: not one file was hashed again.
    expect(live.stats().misses).toBe(missesAfterWarm);
    expect(manifest.files['inside-link.txt']).toBe(live.hash('linked/target.txt'));
    expect(skipped.map((file) => path.basename(file)).sort()).toEqual(['outside-link.txt', 'what?.js']);
    expect(Object.keys(manifest.files).length + skipped.length).toBe(listReferences(live.options.roots).files.length + 1);
  });

  it('records integrity values equal to the live hasher\'s integrity() for every file', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, TREE);
    const { manifest } = await buildManifest({ root, integrity: true });
    const live = await hasherOf({ root });
    expect(Object.keys(manifest.integrity!).sort()).toEqual(Object.keys(TREE).sort());
    for (const reference of Object.keys(TREE)) expect(manifest.integrity![reference]).toBe(live.integrity(reference));
  });

  it('resolves symlinked files as the hasher does: inside the root hashed, pointing outside left out', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, { 'real/app.js': 'app' });
    writeTree(dir, { 'secret.txt': 'outside' });
    fs.symlinkSync(path.join(root, 'real/app.js'), path.join(root, 'alias.js'));
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'escape.txt'));
    fs.symlinkSync(path.join(root, 'real'), path.join(root, 'linked-dir'));
    const { manifest, skipped } = await buildManifest({ root, integrity: true });
    const live = await hasherOf({ root });
    expect(Object.keys(manifest.files)).toEqual(['alias.js', 'real/app.js']);
    expect(manifest.files['alias.js']).toBe(live.hash('alias.js'));
    expect(manifest.integrity!['alias.js']).toBe(live.integrity('alias.js'));
    expect(skipped).toEqual([path.join(root, 'escape.txt')]);
  });

  it('round-trips with non-default URL options and prefixed roots, resolving shadowed files like the hasher', async () => {
    const dir = tempDir();
    writeTree(path.join(dir, 'a'), { 'shared.js': 'from a', 'only-a.css': 'a{}' });
    writeTree(path.join(dir, 'b'), { 'shared.js': 'from b', 'only-b.txt': 'b' });
    writeTree(path.join(dir, 'vendor'), { 'x/dist.js': 'vendor' });
    const options: StaticHasherOptions = {
      roots: [{ dir: path.join(dir, 'a') }, { dir: path.join(dir, 'b') }, { dir: path.join(dir, 'vendor'), prefix: 'vendor/' }],
      baseUrl: 'https://cdn.example.com/assets',
      hashLength: 8,
      urlStyle: 'filename',
      param: '',
    };
    const { manifest } = await buildManifest(options);
    expect(Object.keys(manifest.files)).toEqual(['only-a.css', 'only-b.txt', 'shared.js', 'vendor/x/dist.js']);
    expect(manifest.options).toEqual({ hashLength: 8, baseUrl: 'https://cdn.example.com/assets/', urlStyle: 'filename', param: '', css: true });
    const out = path.join(dir, 'm.json');
    writeManifest(out, manifest);

    const live = await hasherOf(options);
    const fromManifest = await hasherOf({ ...options, manifest: out });
    for (const reference of Object.keys(manifest.files)) {
      expect(fromManifest.url(reference)).toBe(live.url(reference));
    }
    expect(fromManifest.url('shared.js')).toMatch(/^https:\/\/cdn\.example\.com\/assets\/shared\.[0-9a-f]{8}\.js$/);
    expect(live.hash('shared.js')).toBe(manifest.files['shared.js']);
  });

  it('reads no file at runtime: files altered, deleted, even the root removed, URLs still come from the manifest', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, TREE);
    const out = path.join(dir, 'static-manifest.json');
    writeManifest(out, (await buildManifest({ root })).manifest);
    const fromManifest = await hasherOf({ root, manifest: out, onMissing: 'throw' });
    const expected = Object.fromEntries(Object.keys(TREE).map((reference) => [reference, fromManifest.url(reference)]));

    fs.writeFileSync(path.join(root, 'js/app.js'), 'changed after the build');
    fromManifest.invalidate();
    expect(fromManifest.url('js/app.js')).toBe(expected['js/app.js']);

    fs.rmSync(root, { recursive: true });
    fromManifest.invalidate();
    for (const reference of Object.keys(TREE)) {
      expect(fromManifest.url(reference)).toBe(expected[reference]);
      expect(fromManifest.hash(reference)).toBe(expected[reference]!.match(/v=([0-9a-f]{12})/)![1]);
    }
    // A freshly created hasher without the manifest would now fail: the root is gone.
    await expect(createStaticHasher({ root })).rejects.toMatchObject({ code: 'ERR_STATIC_INVALID_OPTION' });
  });

  it('applies onMissing to a reference the manifest lacks, without looking at the disk', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, { 'a.js': 'a' });
    const out = path.join(dir, 'm.json');
    writeManifest(out, (await buildManifest({ root })).manifest);
    writeTree(root, { 'added-later.js': 'b' }); // on disk, not in the manifest

    const logger = recordingLogger();
    const warn = await hasherOf({ root, manifest: out, logger });
    expect(warn.url('added-later.js')).toBe('/static/added-later.js');
    expect(warn.hash('added-later.js')).toBeUndefined();
    expect(logger.messages).toHaveLength(1);
    expect(logger.messages[0]).toContain(`not in the manifest ${out}`);

    const strict = await hasherOf({ root, manifest: { path: out }, onMissing: 'throw' });
    expect(() => strict.url('added-later.js')).toThrow(expect.objectContaining({ code: 'ERR_STATIC_NOT_FOUND' }));

    const ignore = await hasherOf({ root, manifest: out, onMissing: 'ignore', logger });
    expect(ignore.url('added-later.js')).toBe('/static/added-later.js');
    expect(logger.messages).toHaveLength(1);
  });

  it("hashes a reference the manifest lacks live with fallback: 'live'", async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, { 'a.js': 'a' });
    const out = path.join(dir, 'm.json');
    writeManifest(out, (await buildManifest({ root })).manifest);
    writeTree(root, { 'added-later.js': 'b' });

    const live = await hasherOf({ root });
    const hasher = await hasherOf({ root, manifest: { path: out, fallback: 'live' }, onMissing: 'throw' });
    expect(hasher.url('added-later.js')).toBe(live.url('added-later.js'));
    expect(hasher.url('a.js')).toBe(live.url('a.js'));
    expect(() => hasher.url('nowhere.js')).toThrow(expect.objectContaining({ code: 'ERR_STATIC_NOT_FOUND' }));
    // Listed files still come from the manifest, even once changed on disk.
    fs.writeFileSync(path.join(root, 'a.js'), 'changed');
    hasher.invalidate();
    expect(hasher.url('a.js')).toBe(live.url('a.js'));
  });

  it('finds nothing for keys that exist on every object ("constructor", "__proto__")', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, { 'a.js': 'a' });
    const out = path.join(dir, 'm.json');
    writeManifest(out, (await buildManifest({ root })).manifest);
    const hasher = await hasherOf({ root, manifest: out, onMissing: 'ignore' });
    expect(hasher.url('constructor')).toBe('/static/constructor');
    expect(hasher.url('__proto__')).toBe('/static/__proto__');
    expect(hasher.url('toString')).toBe('/static/toString');
  });

  it('gives the same bytes when the same tree is built twice (sorted keys)', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, TREE);
    const first = serializeManifest((await buildManifest({ root, integrity: true })).manifest);
    const second = serializeManifest((await buildManifest({ root, integrity: true })).manifest);
    expect(second).toBe(first);
    const keys = Object.keys(JSON.parse(first).files);
    expect(keys).toEqual([...keys].sort());
  });

  it('leaves out, and lists, files no reference can name', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, { 'ok.js': 'x', 'what?.js': 'y', 'c#.txt': 'z' });
    const { manifest, skipped } = await buildManifest({ root });
    expect(Object.keys(manifest.files)).toEqual(['ok.js']);
    expect(skipped.map((file) => path.basename(file)).sort()).toEqual(['c#.txt', 'what?.js']);
  });
});

describe('manifest errors at startup (ERR_STATIC_MANIFEST)', () => {
  async function built(options: StaticHasherOptions = {}): Promise<{ root: string; out: string }> {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, { 'a.js': 'a', 'b.css': 'b{}' });
    const out = path.join(dir, 'static-manifest.json');
    writeManifest(out, (await buildManifest({ root, ...options })).manifest);
    return { root, out };
  }

  it.each([
    ['hashLength', { hashLength: 8 }, 'hashLength is 12 in the manifest but 8 in the hasher'],
    ['baseUrl', { baseUrl: '/assets/' }, 'baseUrl is "/static/" in the manifest but "/assets/" in the hasher'],
    ['urlStyle', { urlStyle: 'filename' as const }, 'urlStyle is "query" in the manifest but "filename" in the hasher'],
    ['param', { param: 'h' }, 'param is "v" in the manifest but "h" in the hasher'],
  ])('names the file and the mismatch when %s differs', async (_name, options, mismatch) => {
    const { root, out } = await built();
    await expectManifestError(createStaticHasher({ root, manifest: out, ...options }), out, mismatch);
  });

  it('names every mismatch at once', async () => {
    const { root, out } = await built({ hashLength: 10, param: 'h' });
    const error = await expectManifestError(createStaticHasher({ root, manifest: out }), 'hashLength is 10', 'param is "h"');
    expect(error.file).toBe(out);
  });

  it('checks the recorded css option against the hasher (stylesheet rewriting, on by default)', async () => {
    const { root, out } = await built();
    const data = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(data.options.css).toBe(true);
    data.options.css = false;
    fs.writeFileSync(out, JSON.stringify(data));
    await expectManifestError(createStaticHasher({ root, manifest: out }), out, 'css is false in the manifest but true in the hasher');
  });

  it('refuses a truncated manifest', async () => {
    const { root, out } = await built();
    const text = fs.readFileSync(out, 'utf8');
    fs.writeFileSync(out, text.slice(0, Math.floor(text.length / 2)));
    await expectManifestError(createStaticHasher({ root, manifest: out }), out, 'not JSON');
  });

  it.each([
    ['not an object', '[]', 'expected a JSON object'],
    ['another format', '{"format":2}', '"format": 1'],
    ['no options', '{"format":1,"files":{}}', '"options"'],
    ['a bad hashLength', '{"format":1,"options":{"hashLength":40,"baseUrl":"/static/","urlStyle":"query","param":"v","css":true},"files":{}}', 'hashLength'],
    ['a hash of the wrong length', '{"format":1,"options":{"hashLength":12,"baseUrl":"/static/","urlStyle":"query","param":"v","css":true},"files":{"a.js":"abc"}}', 'files["a.js"]'],
    ['a bad integrity value', '{"format":1,"options":{"hashLength":12,"baseUrl":"/static/","urlStyle":"query","param":"v","css":true},"files":{"a.js":"0123456789ab"},"integrity":{"a.js":"md5-x"}}', 'integrity["a.js"]'],
  ])('refuses %s', async (_name, text, fragment) => {
    const dir = tempDir();
    const out = path.join(dir, 'm.json');
    fs.writeFileSync(out, text);
    await expectManifestError(createStaticHasher({ root: dir, manifest: out }), out, fragment);
  });

  it('refuses a manifest that does not exist, naming it', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'missing.json');
    await expectManifestError(createStaticHasher({ root: dir, manifest: out }), `cannot read manifest ${out}`);
    await expectManifestError(readManifest(out), out);
  });

  it.each([
    ['a number', { manifest: 42 }, 'manifest'],
    ['an empty path', { manifest: '' }, 'manifest'],
    ['an unknown key', { manifest: { path: 'm.json', fallbak: 'live' } }, 'fallbak'],
    ['a bad fallback', { manifest: { path: 'm.json', fallback: 'disk' } }, 'manifest.fallback'],
    ['manifest with version', { manifest: 'm.json', version: '1.0.0' }, 'version'],
  ])('rejects %s as ERR_STATIC_INVALID_OPTION', async (_name, options, option) => {
    const dir = tempDir();
    await expect(createStaticHasher({ root: dir, ...(options as StaticHasherOptions) })).rejects.toMatchObject({
      code: 'ERR_STATIC_INVALID_OPTION', option: expect.stringContaining(option),
    });
  });
});

describe('writeManifest()', () => {
  it('replaces the target in one rename and leaves no temporary file', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, { 'a.js': 'a' });
    const out = path.join(dir, 'static-manifest.json');
    fs.writeFileSync(out, 'previous');
    const { manifest } = await buildManifest({ root });
    writeManifest(out, manifest);
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toEqual(manifest);
    expect(fs.readdirSync(dir).sort()).toEqual(['public', 'static-manifest.json']);
  });

  it("removes temporary files left by killed runs (their process is gone), not a live process's", async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, { 'a.js': 'a' });
    const out = path.join(dir, 'm.json');
    // The pid of a process that has exited: its temporary file is a leftover. The parent (jest) is alive.
    const exited = spawnSync(process.execPath, ['-e', '']).pid!;
    fs.writeFileSync(path.join(dir, `.m.json.${exited}.0123abcd.tmp`), '{"trunc');
    fs.writeFileSync(path.join(dir, `.m.json.${process.ppid}.0123abcd.tmp`), '{"in progress');
    writeManifest(out, (await buildManifest({ root })).manifest);
    expect(fs.readdirSync(dir).sort()).toEqual([`.m.json.${process.ppid}.0123abcd.tmp`, 'm.json', 'public']);
  });

  it('fails with ERR_STATIC_IO when the directory does not exist', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'public');
    writeTree(root, { 'a.js': 'a' });
    const { manifest } = await buildManifest({ root });
    expect(() => writeManifest(path.join(dir, 'no/such/dir/m.json'), manifest)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_IO' }));
  });
});

describe('listReferences()', () => {
  it('lists every file once as a reference, prefixed per root, sorted', async () => {
    const dir = tempDir();
    writeTree(path.join(dir, 'a'), { 'x/y.js': '1', 'z.css': '2' });
    writeTree(path.join(dir, 'b'), { 'z.css': '3' });
    const hasher = await hasherOf({ roots: [{ dir: path.join(dir, 'a') }, { dir: path.join(dir, 'b'), prefix: 'b/' }] });
    expect(listReferences(hasher.options.roots).references).toEqual(['b/z.css', 'x/y.js', 'z.css']);
  });
});
