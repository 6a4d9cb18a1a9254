import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildManifest, createStaticHasher, writeManifest, type StaticHasher, type StaticHasherOptions } from '../src/index';

const temps: string[] = [];
const hashers: StaticHasher[] = [];

function tempRoot(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-integrity-'));
  temps.push(dir);
  const root = path.join(dir, 'public');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  return root;
}

async function hasherOf(options: StaticHasherOptions): Promise<StaticHasher> {
  const hasher = await createStaticHasher(options);
  hashers.push(hasher);
  return hasher;
}

/** The SRI value browsers compute: base64 of the sha384 digest of the bytes received. */
function sri(bytes: Buffer | string): string {
  return `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
}

afterEach(async () => {
  for (const hasher of hashers.splice(0)) await hasher.close();
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('integrity()', () => {
  const big = Buffer.alloc(2 * 1024 * 1024 + 5);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;

  it('is sha384 of the file bytes, in SRI form, as node:crypto computes it', async () => {
    const root = tempRoot({ 'js/app.js': 'console.log(1);\n', 'img/x.bin': big, 'empty.txt': '' });
    const hasher = await hasherOf({ root });
    expect(hasher.integrity('js/app.js')).toBe(sri('console.log(1);\n'));
    expect(hasher.integrity('/img/x.bin?v=1#f')).toBe(sri(big));
    expect(hasher.integrity('empty.txt')).toBe(sri(''));
    expect(hasher.integrity('js/app.js')).toMatch(/^sha384-[A-Za-z0-9+/]{64}$/);
  });

  it('covers exactly the bytes read() returns (the bytes the URL hash covers)', async () => {
    const root = tempRoot({ 'css/site.css': 'body { background: url(a.png) }\n', 'a.png': 'png' });
    const hasher = await hasherOf({ root });
    const bytes = await hasher.read('css/site.css');
    expect(hasher.integrity('css/site.css')).toBe(sri(bytes!));
  });

  it('is cached per generation: a change shows after invalidate(), not before', async () => {
    const root = tempRoot({ 'a.js': 'one' });
    const hasher = await hasherOf({ root });
    expect(hasher.integrity('a.js')).toBe(sri('one'));
    fs.writeFileSync(path.join(root, 'a.js'), 'two');
    expect(hasher.integrity('a.js')).toBe(sri('one'));
    hasher.invalidate();
    expect(hasher.integrity('a.js')).toBe(sri('two'));
    hasher.invalidate({ nocache: true });
    fs.writeFileSync(path.join(root, 'a.js'), 'three');
    expect(hasher.integrity('a.js')).toBe(sri('three'));
  });

  it('follows onMissing for a missing file', async () => {
    const root = tempRoot({ 'a.js': 'a' });
    const messages: string[] = [];
    const warn = await hasherOf({ root, logger: { warn: (message) => messages.push(message) } });
    expect(warn.integrity('nope.js')).toBeUndefined();
    expect(messages).toHaveLength(1);
    const strict = await hasherOf({ root, onMissing: 'throw' });
    expect(() => strict.integrity('nope.js')).toThrow(expect.objectContaining({ code: 'ERR_STATIC_NOT_FOUND' }));
    expect(() => strict.integrity('../etc/passwd')).toThrow(expect.objectContaining({ code: 'ERR_STATIC_UNSAFE_PATH' }));
  });

  it('comes from a manifest built with integrity, reading no file', async () => {
    const root = tempRoot({ 'a.js': 'a', 'b/c.css': 'c{}' });
    const out = path.join(path.dirname(root), 'm.json');
    writeManifest(out, (await buildManifest({ root, integrity: true })).manifest);
    const hasher = await hasherOf({ root, manifest: out, onMissing: 'throw' });
    fs.rmSync(root, { recursive: true });
    expect(hasher.integrity('a.js')).toBe(sri('a'));
    expect(hasher.integrity('b/c.css')).toBe(sri('c{}'));
  });

  it('is computed from the file when the manifest has no integrity values', async () => {
    const root = tempRoot({ 'a.js': 'a' });
    const out = path.join(path.dirname(root), 'm.json');
    writeManifest(out, (await buildManifest({ root })).manifest);
    const hasher = await hasherOf({ root, manifest: out });
    expect(hasher.integrity('a.js')).toBe(sri('a'));
  });

  it('is computed from the file under a version strategy', async () => {
    const root = tempRoot({ 'a.js': 'a' });
    const hasher = await hasherOf({ root, version: '2.0.0' });
    expect(hasher.url('a.js')).toBe('/static/a.js?v=2.0.0');
    expect(hasher.integrity('a.js')).toBe(sri('a'));
  });
});
