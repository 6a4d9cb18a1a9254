// Property: whatever reference a template (or an attacker reaching a template) passes, no file
// outside the roots is ever hashed, resolved or read, and the only thing ever thrown is a
// StaticHashError. Thousands of generated hostile references are thrown at url(), hash(),
// resolve() and read() of hashers over a fixture whose roots hold symlinks pointing outside.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { createStaticHasher, StaticHashError, type StaticHasher } from '../src/index';
import { makeFixture, recordingLogger, type Fixture } from './helpers/fixture';

let fixture: Fixture;
let hashers: StaticHasher[] = [];
/** Real paths of the roots: every resolved file must be inside one of them. */
let realRoots: string[] = [];
/** Hashes (16 hex) of every file inside the roots: the only hashes that may ever appear. */
const insideHashes = new Set<string>();
/** Hashes (16 hex) of files outside the roots: none may ever appear, not even as a prefix. */
const outsideHashes = new Set<string>();
/** How many generated references did resolve (inside): the generator must reach real files too. */
let resolvedInside = 0;
const SECRET = `TOP SECRET ${process.pid} ${Date.now()}`;

/** Every name in the fixture, so generated references often hit real entries and symlinks. */
const NAMES = [
  'secret.txt', 'secrets', 'key.pem', 'root', 'root2', 'root-evil', 'evil.txt', 'link-out', 'abs-out', 'dir-out',
  'dir-out2', 'inner-link', 'inner-dir', 'public.txt', 'css', 'site.css', 'vendor', 'up', 'v.js', 'a b.css',
];
const HOSTILE = [
  '..', '.', '...', '.. ', '..\u0020.', '%2e%2e', '%2E%2e', '.%2e', '%2e.', '%2e', '%252e%252e', '%25252e', '%2f', '%2F', '%5c', '%5C',
  '%00', '%252f', '%255c', '%c0%ae', '%c0%af', '%c1%9c', '%e0%80%ae', '%u002e', '\\', '\0', '/', '//', '///', 'C:', 'c:', 'C:\\', 'C:/',
  '\\\\server\\share', 'http:', 'https://evil.com', 'file:', 'file:///', 'data:', 'javascript:', '\uFF0E', '\uFF0E\uFF0E',
  '\u2215', '\u2025', '\u2024', '\uFE52', '\uFF0F', '\uFF3C', '\uFE68', '\u2044', '\u29F8', '\u2216', '\u3002', '\uFF61', '?', '#', '?#',
  ' ', '~', '%', '%25', 'é', '\uD800', '\uDC00', '\n', '\r', '\t', '\u007f', '\u200b', '\u202e', '\uFEFF', 'con', 'aux', '::$DATA',
];

const token = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 3, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 6 }) },
);
const separator = fc.constantFrom('/', '/', '/', '', '\\', '%2f', '%5c', '\u2215', '\uFF0F', '//');

/** References built from hostile tokens and fixture names joined by separators and their disguises. */
const builtReference = fc
  .tuple(fc.constantFrom('', '', '/', '//', '\\', './', '../'), fc.array(fc.tuple(token, separator), { minLength: 1, maxLength: 8 }))
  .map(([start, parts]) => start + parts.map(([text, sep]) => text + sep).join('').slice(0, 200));

/** Real escapes out of the root, then disguised: encoded, double-encoded, look-alikes, backslashes. */
const ESCAPES = [
  '../secret.txt', '../../secret.txt', 'css/../../secret.txt', 'link-out', 'abs-out', 'dir-out/secret.txt', 'dir-out/secrets/key.pem',
  'dir-out2/key.pem', 'dir-out/root-evil/evil.txt', 'vendor/up', 'vendor/../secret.txt', 'inner-dir/../../secret.txt',
  'dir-out/root/../secret.txt', '../root-evil/evil.txt', `${'../'.repeat(20)}etc/passwd`,
];
const DISGUISES: Array<(text: string) => string> = [
  (text) => text,
  (text) => `/${text}`,
  (text) => encodeURIComponent(text),
  (text) => encodeURIComponent(encodeURIComponent(text)),
  (text) => text.replaceAll('.', '%2e'),
  (text) => text.replaceAll('.', '%252e'),
  (text) => text.replaceAll('/', '%2f'),
  (text) => text.replaceAll('/', '\\'),
  (text) => text.replaceAll('/', '%5c'),
  (text) => text.replaceAll('.', '\uFF0E'),
  (text) => text.replaceAll('..', '\u2025'),
  (text) => text.replaceAll('/', '\u2215'),
  (text) => text.replaceAll('/', '\uFF0F'),
  (text) => text.replaceAll('.', '%c0%ae'),
  (text) => text.replaceAll('..', '.. '),
  (text) => `${text}\0.png`,
  (text) => `${text}?v=1#x`,
  (text) => `C:\\${text}`,
  (text) => `file:///${text}`,
  (text) => `//localhost/${text}`,
];
const disguisedEscape = fc
  .tuple(fc.constantFrom(...ESCAPES), fc.array(fc.constantFrom(...DISGUISES), { minLength: 1, maxLength: 3 }))
  .map(([escape, disguises]) => disguises.reduce((text, disguise) => disguise(text), escape));

/** Files the roots do have, written in the harmless ways a template might: so the property is never vacuous. */
const legitimateReference = fc
  .tuple(
    fc.constantFrom('', '/', './', './/'),
    fc.constantFrom('public.txt', 'css/site.css', 'a b.css', 'inner-link', 'inner-dir/site.css', 'vendor/v.js'),
    fc.constantFrom('', '?v=1', '#top', '?#iefix', '?a=1&b=2#x'),
  )
  .map(([start, name, tail]) => start + name + tail);

const anyReference = fc.oneof(
  { weight: 5, arbitrary: builtReference },
  { weight: 1, arbitrary: legitimateReference },
  { weight: 3, arbitrary: disguisedEscape },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

function isInsideRoot(file: string): boolean {
  return realRoots.some((root) => file === root || file.startsWith(root + path.sep));
}

/** Calls `action`; anything thrown must be a StaticHashError. */
function settle<T>(action: () => T): T | undefined {
  try {
    return action();
  } catch (error) {
    if (!(error instanceof StaticHashError)) throw new Error(`threw a non-StaticHashError: ${String(error)}`, { cause: error });
    return undefined;
  }
}

function checkHash(hash: string | undefined, reference: string): void {
  if (hash === undefined) return;
  const known = [...insideHashes].some((inside) => inside.startsWith(hash));
  if (!known) throw new Error(`${JSON.stringify(reference)} gave a hash of no file inside the roots: ${hash}`);
}

function checkUrl(url: string | undefined, reference: string): void {
  if (url === undefined) return;
  for (const secret of outsideHashes) {
    if (url.includes(secret.slice(0, 8))) throw new Error(`${JSON.stringify(reference)} leaked an outside file's hash: ${url}`);
  }
}

async function checkReference(reference: string): Promise<void> {
  for (const hasher of hashers) {
    checkUrl(settle(() => hasher.url(reference)), reference);
    checkHash(settle(() => hasher.hash(reference)), reference);
    const resolved = settle(() => hasher.resolve(reference));
    if (resolved !== undefined) {
      if (!isInsideRoot(resolved.file)) throw new Error(`${JSON.stringify(reference)} resolved outside the roots: ${resolved.file}`);
      resolvedInside++;
      checkHash(resolved.hash, reference);
      checkUrl(resolved.url, reference);
    }
    let bytes: Buffer | undefined;
    try {
      bytes = await hasher.read(reference);
    } catch (error) {
      if (!(error instanceof StaticHashError)) throw new Error(`read() threw a non-StaticHashError: ${String(error)}`, { cause: error });
    }
    if (bytes !== undefined && bytes.includes(SECRET)) throw new Error(`${JSON.stringify(reference)} read a secret`);
  }
}

beforeAll(async () => {
  fixture = makeFixture({
    'secret.txt': SECRET,
    'secrets/key.pem': `${SECRET} key`,
    'root-evil/evil.txt': `${SECRET} sibling whose name starts like the root`,
    'root/public.txt': 'public',
    'root/css/site.css': 'body{}',
    'root/a b.css': 'spaced',
    'root2/v.js': 'vendor',
  });
  fs.symlinkSync('../secret.txt', fixture.path('root/link-out'));
  fs.symlinkSync(fixture.path('secret.txt'), fixture.path('root/abs-out'));
  fs.symlinkSync('..', fixture.path('root/dir-out'));
  fs.symlinkSync(fixture.path('secrets'), fixture.path('root/dir-out2'));
  fs.symlinkSync('public.txt', fixture.path('root/inner-link'));
  fs.symlinkSync('css', fixture.path('root/inner-dir'));
  fs.symlinkSync('../secret.txt', fixture.path('root2/up'));
  fs.symlinkSync('../root-evil/evil.txt', fixture.path('root/evil-link'));

  const xx = await xxhash();
  const hashOf = (file: string): string => xx.h64Raw(fs.readFileSync(file)).toString(16).padStart(16, '0');
  for (const file of ['public.txt', 'css/site.css', 'a b.css']) insideHashes.add(hashOf(fixture.path(`root/${file}`)));
  insideHashes.add(hashOf(fixture.path('root2/v.js')));
  for (const file of ['secret.txt', 'secrets/key.pem', 'root-evil/evil.txt']) outsideHashes.add(hashOf(fixture.path(file)));

  const roots = [{ dir: fixture.path('root') }, { dir: fixture.path('root2'), prefix: 'vendor/' }];
  realRoots = roots.map((root) => fs.realpathSync(root.dir));
  hashers = [
    await createStaticHasher({ roots, onMissing: 'ignore' }),
    await createStaticHasher({ roots, onMissing: 'throw', urlStyle: 'filename', hashLength: 8 }),
    await createStaticHasher({ roots, onMissing: 'warn', logger: recordingLogger(), param: '' }),
  ];
  // The same hashers under nocache take the uncached path on every call.
  hashers[2]!.invalidate({ nocache: true });
});

afterAll(async () => {
  await Promise.all(hashers.map((hasher) => hasher.close()));
  fixture.cleanup();
});

describe('hostile references', () => {
  it('the fixture is what the property relies on: escapes exist, legitimate files resolve', async () => {
    // Sanity: outside the resolver's checks, these symlinks really do reach the secret.
    expect(fs.readFileSync(fixture.path('root/link-out'), 'utf8')).toBe(SECRET);
    expect(fs.readFileSync(fixture.path('root/dir-out/secret.txt'), 'utf8')).toBe(SECRET);
    const [hasher] = hashers;
    expect(hasher!.resolve('inner-link')?.file).toBe(fs.realpathSync(fixture.path('root/public.txt')));
    expect(hasher!.resolve('vendor/v.js')?.file).toBe(fs.realpathSync(fixture.path('root2/v.js')));
    expect(hasher!.resolve('a b.css')).toBeDefined();
    expect(() => hasher!.url('link-out')).toThrow(StaticHashError);
    await checkReference('link-out');
  });

  it('never resolve, hash or read outside the roots, and throw only StaticHashError (generated references)', async () => {
    resolvedInside = 0;
    await fc.assert(fc.asyncProperty(anyReference, checkReference), { numRuns: 4000 });
    // Not vacuous: some generated references (through inner symlinks, '.', '//', prefixes) do resolve.
    expect(resolvedInside).toBeGreaterThan(0);
  });

  it('disguised real escapes are all refused or missing', async () => {
    await fc.assert(
      fc.asyncProperty(disguisedEscape, async (reference) => {
        await checkReference(reference);
        for (const hasher of hashers) {
          expect(settle(() => hasher.resolve(reference))).toBeUndefined();
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('any string at all: only StaticHashError is thrown', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 300 }), checkReference), { numRuns: 2000 });
  });

  it('non-string references are ERR_STATIC_INVALID_REFERENCE', () => {
    fc.assert(
      fc.property(fc.anything().filter((value) => typeof value !== 'string'), (value) => {
        for (const hasher of hashers) {
          expect(() => hasher.url(value as string)).toThrow(expect.objectContaining({ code: 'ERR_STATIC_INVALID_REFERENCE' }));
        }
      }),
      { numRuns: 500 },
    );
  });
});
