import fs from 'node:fs';
import path from 'node:path';
import { normalizeOptions, parseReference } from '../src/index';
import { lookedForPath, resolveFile } from '../src/resolve';
import { makeFixture, type Fixture } from './helpers/fixture';
import { codeOf } from './helpers/errors';


describe('parseReference()', () => {
  it.each([
    ['js/app.js', { path: 'js/app.js', query: undefined, fragment: undefined }],
    ['/js/app.js', { path: 'js/app.js', query: undefined, fragment: undefined }],
    ['./js//./app.js', { path: 'js/app.js', query: undefined, fragment: undefined }],
    ['js/', { path: 'js', query: undefined, fragment: undefined }],
    ['fonts/f.woff?#iefix', { path: 'fonts/f.woff', query: '', fragment: 'iefix' }],
    ['a.css?x=1#top', { path: 'a.css', query: 'x=1', fragment: 'top' }],
    ['a.css#top?x=1', { path: 'a.css', query: undefined, fragment: 'top?x=1' }],
    ['a.css?x=../../etc', { path: 'a.css', query: 'x=../../etc', fragment: undefined }],
    ['a b é.css', { path: 'a b é.css', query: undefined, fragment: undefined }],
    ['...hidden', { path: '...hidden', query: undefined, fragment: undefined }],
    ['a..b/c..', { path: 'a..b/c..', query: undefined, fragment: undefined }],
    ['dir/a:b.css', { path: 'dir/a:b.css', query: undefined, fragment: undefined }],
    ['100%.txt', { path: '100%.txt', query: undefined, fragment: undefined }],
    ['%20x.txt', { path: '%20x.txt', query: undefined, fragment: undefined }],
    ['café/ｆｕｌｌ.css', { path: 'café/ｆｕｌｌ.css', query: undefined, fragment: undefined }],
  ])('%j is accepted as %j', (reference, parsed) => {
    expect(parseReference(reference)).toEqual(parsed);
  });

  it.each([
    ['..', 'a ".." segment'], ['../x', ''], ['a/../../x', ''], ['a/..', ''], ['.. ', 'trailing space Windows strips'],
    ['...', 'dots Windows strips'], ['..  ./x', ''],
    ['%2e%2e/x', 'encoded dots'], ['%2E%2E/x', ''], ['.%2e/x', ''], ['a%2fb', 'encoded slash'], ['a%2Fb', ''], ['a%5cb', 'encoded backslash'],
    ['a%00b', 'encoded NUL'], ['%252e%252e/x', 'double-encoded'], ['%252f', ''], ['%c0%ae%c0%ae/x', 'overlong UTF-8'], ['%C1%9C', ''],
    ['a\\b', 'backslash'], ['..\\..\\x', ''], ['a\0b', 'NUL'], ['a\tb', 'control'], ['a\u007fb', 'DEL'],
    ['//evil.com/x', 'protocol-relative'], ['http://evil.com/x', 'scheme'], ['HTTPS:x', ''], ['data:text/plain,x', ''],
    ['file:///etc/passwd', ''], ['javascript:alert(1)', ''], ['C:\\Windows', 'drive'], ['c:/x', ''], ['/c:/x', 'drive after slash'],
    ['\uFF0E\uFF0E/x', 'fullwidth dots'], ['\u2025/x', 'two dot leader'], ['\uFE52\uFE52/x', 'small full stops'],
    ['a\uFF0Fb', 'fullwidth solidus'], ['a\uFF3Cb', 'fullwidth backslash'], ['a\uFE68b', 'small reverse solidus'],
    ['a\u2215b', 'division slash'], ['a\u2044b', 'fraction slash'], ['a\u29F8b', 'big solidus'], ['a\u2216b', 'set minus'],
    ['\uD800x', 'lone surrogate'],
  ])('%j is ERR_STATIC_UNSAFE_PATH (%s)', (reference) => {
    expect(codeOf(() => parseReference(reference))).toBe('ERR_STATIC_UNSAFE_PATH');
  });

  it.each([[''], [undefined], [null], [1], [{}]])('%p is ERR_STATIC_INVALID_REFERENCE', (reference) => {
    expect(codeOf(() => parseReference(reference))).toBe('ERR_STATIC_INVALID_REFERENCE');
  });

  it('checks only the path: "?" and "#" parts may hold anything a URL may', () => {
    expect(parseReference('a.css?next=..%2f..%2f#..\\')).toEqual({ path: 'a.css', query: 'next=..%2f..%2f', fragment: '..\\' });
  });
});

describe('resolveFile()', () => {
  let fixture: Fixture;
  let outside: Fixture;
  beforeEach(() => {
    fixture = makeFixture({ 'public/a.js': 'a', 'public/sub/b.js': 'b', 'vendor/v.js': 'v' });
    outside = makeFixture({ 'secret.txt': 's' });
  });
  afterEach(() => {
    fixture.cleanup();
    outside.cleanup();
  });

  const rootsOf = (roots: Array<{ dir: string; prefix?: string }>) => normalizeOptions({ roots }).roots;

  it('returns the real path of the file and its root', () => {
    const roots = rootsOf([{ dir: fixture.path('public') }]);
    const resolved = resolveFile('sub/b.js', roots, 'sub/b.js');
    expect(resolved).toEqual({ file: fs.realpathSync(fixture.path('public/sub/b.js')), root: roots[0] });
  });

  it('returns undefined when no root has the file, or a file stands where a directory should', () => {
    const roots = rootsOf([{ dir: fixture.path('public') }]);
    expect(resolveFile('nope.js', roots, 'nope.js')).toBeUndefined();
    expect(resolveFile('a.js/x', roots, 'a.js/x')).toBeUndefined();
  });

  it('tries matching prefixes longest first, then falls back', () => {
    const roots = rootsOf([{ dir: fixture.path('public') }, { dir: fixture.path('vendor'), prefix: 'lib/' }]);
    expect(resolveFile('lib/v.js', roots, 'lib/v.js')?.file).toBe(fs.realpathSync(fixture.path('vendor/v.js')));
    fs.mkdirSync(fixture.path('public/lib'));
    fixture.write('public/lib/only-public.js', 'p');
    expect(resolveFile('lib/only-public.js', roots, 'x')?.file).toBe(fs.realpathSync(fixture.path('public/lib/only-public.js')));
  });

  it('refuses a file whose real path leaves the root, even through a symlinked directory', () => {
    fs.symlinkSync(outside.path('secret.txt'), fixture.path('public/s.txt'));
    fs.symlinkSync(outside.dir, fixture.path('public/out'));
    // A sibling whose name merely starts like the root must not pass a string-prefix check.
    fs.mkdirSync(fixture.path('public-evil'));
    fixture.write('public-evil/x.txt', 'x');
    fs.symlinkSync(fixture.path('public-evil/x.txt'), fixture.path('public/sibling.txt'));
    const roots = rootsOf([{ dir: fixture.path('public') }]);
    expect(codeOf(() => resolveFile('s.txt', roots, 's.txt'))).toBe('ERR_STATIC_UNSAFE_PATH');
    expect(codeOf(() => resolveFile('out/secret.txt', roots, 'out/secret.txt'))).toBe('ERR_STATIC_UNSAFE_PATH');
    expect(codeOf(() => resolveFile('sibling.txt', roots, 'sibling.txt'))).toBe('ERR_STATIC_UNSAFE_PATH');
  });

  it('a symlink loop is a missing file, not a crash', () => {
    fs.symlinkSync(fixture.path('public/loop2'), fixture.path('public/loop1'));
    fs.symlinkSync(fixture.path('public/loop1'), fixture.path('public/loop2'));
    const roots = rootsOf([{ dir: fixture.path('public') }]);
    expect(resolveFile('loop1', roots, 'loop1')).toBeUndefined();
  });

  it('an over-long name is a missing file', () => {
    const roots = rootsOf([{ dir: fixture.path('public') }]);
    expect(resolveFile('x'.repeat(300), roots, 'long')).toBeUndefined();
  });
});

describe('lookedForPath()', () => {
  it('names where a missing reference was looked for first', () => {
    const fixture = makeFixture({ 'a/x': '', 'b/y': '' });
    try {
      const roots = normalizeOptions({ roots: [{ dir: fixture.path('a') }, { dir: fixture.path('b'), prefix: 'lib/' }] }).roots;
      expect(lookedForPath('lib/z.js', roots)).toBe(path.join(fixture.path('b'), 'z.js'));
      expect(lookedForPath('z.js', roots)).toBe(path.join(fixture.path('a'), 'z.js'));
    } finally {
      fixture.cleanup();
    }
  });
});
