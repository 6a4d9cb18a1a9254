import fs from 'node:fs';
import xxhash from 'xxhash-wasm';
import { CHUNK_SIZE, digestBytes, digestFile, loadDigester } from '../src/digest';
import { StaticHashError } from '../src/index';
import { makeFixture, type Fixture } from './helpers/fixture';

type XXHashApi = Awaited<ReturnType<typeof xxhash>>;
let xx: XXHashApi;
let fixture: Fixture;

/** Independent reference: h64Raw over the whole buffer, as 16 hex characters. */
function h64(bytes: Uint8Array): string {
  return xx.h64Raw(bytes).toString(16).padStart(16, '0');
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure reproduces. */
function bytesOf(length: number, seed = 1): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let state = seed;
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    buffer[index] = state & 0xff;
  }
  return buffer;
}

beforeAll(async () => {
  xx = await xxhash();
  await loadDigester();
});
beforeEach(() => {
  fixture = makeFixture();
});
afterEach(() => fixture.cleanup());

describe('digestFile()', () => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['just under 1 MiB', CHUNK_SIZE - 1],
    ['exactly 1 MiB', CHUNK_SIZE],
    ['1 MiB + 1', CHUNK_SIZE + 1],
    ['exactly 3 MiB', 3 * CHUNK_SIZE],
    ['5.5 MiB', 5.5 * CHUNK_SIZE],
  ])('%s: equals h64Raw over the whole file', (_name, length) => {
    const bytes = bytesOf(length, length + 1);
    const file = fixture.write('f.bin', bytes);
    expect(digestFile(file, 'f.bin')).toBe(h64(bytes));
  });

  it('hashes raw bytes: two binary files that decode to the same text differ', () => {
    const a = Buffer.from([0x80, 0x81, 0x82]);
    const b = Buffer.from([0xc0, 0xc1, 0xf5]);
    expect(a.toString('utf8')).toBe(b.toString('utf8'));
    expect(digestFile(fixture.write('a', a), 'a')).not.toBe(digestFile(fixture.write('b', b), 'b'));
    expect(digestFile(fixture.path('a'), 'a')).toBe(h64(a));
  });

  it('writes 16 lower-case hex characters, keeping leading zeros', () => {
    // Find content whose digest starts with a zero nibble (1 in 16), so padding is exercised.
    let content = '';
    for (let index = 0; ; index++) {
      content = `content ${index}`;
      if (xx.h64Raw(Buffer.from(content)) < 2n ** 60n) break;
    }
    const hash = digestFile(fixture.write('z.txt', content), 'z.txt');
    expect(hash).toMatch(/^0[0-9a-f]{15}$/);
    expect(hash).toBe(h64(Buffer.from(content)));
  });

  it('gives different hashes for files differing only in their last byte past the first chunk', () => {
    const bytes = bytesOf(2 * CHUNK_SIZE + 10, 9);
    const first = digestFile(fixture.write('a.bin', bytes), 'a.bin');
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    expect(digestFile(fixture.write('b.bin', bytes), 'b.bin')).not.toBe(first);
  });

  it('returns undefined for a file that does not exist', () => {
    expect(digestFile(fixture.path('gone'), 'gone')).toBeUndefined();
  });

  it('refuses a directory with ERR_STATIC_NOT_A_FILE', () => {
    fs.mkdirSync(fixture.path('dir'));
    expect(() => digestFile(fixture.path('dir'), 'dir')).toThrow(expect.objectContaining({ code: 'ERR_STATIC_NOT_A_FILE' }));
  });

  it('refuses a symlink swapped in after resolution (ERR_STATIC_UNSAFE_PATH), never following it', () => {
    fixture.write('target', 'x');
    fs.symlinkSync(fixture.path('target'), fixture.path('link'));
    let error: unknown;
    try {
      digestFile(fixture.path('link'), 'link');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StaticHashError);
    expect((error as StaticHashError).code).toBe('ERR_STATIC_UNSAFE_PATH');
  });
});

describe('digestBytes()', () => {
  it('equals h64Raw of the bytes', () => {
    const bytes = bytesOf(1000);
    expect(digestBytes(bytes)).toBe(h64(bytes));
  });
});
