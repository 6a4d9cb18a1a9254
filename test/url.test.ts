import { encodePath, encodeQueryPart, encodeSegment, formatUrl, insertHashInFilename, type UrlParts } from '../src/url';

const base: UrlParts = {
  baseUrl: '/static/', encodedPath: 'js/app.js', hash: 'H', query: undefined, fragment: undefined, urlStyle: 'query', param: 'v',
};

describe('encodeSegment()', () => {
  it.each([
    ['a b é.css', 'a%20b%20%C3%A9.css'],
    ["it's(1)*!.png", 'it%27s%281%29%2A%21.png'],
    ['100%.txt', '100%25.txt'],
    ['q?.js', 'q%3F.js'],
    ['h#.js', 'h%23.js'],
    ['"<>`.js', '%22%3C%3E%60.js'],
    ['plain-name_1.2~x.js', 'plain-name_1.2~x.js'],
    ['日本.png', '%E6%97%A5%E6%9C%AC.png'],
    ['😀.svg', '%F0%9F%98%80.svg'],
  ])('%j -> %j', (segment, encoded) => {
    expect(encodeSegment(segment)).toBe(encoded);
  });
});

describe('encodePath()', () => {
  it('encodes each segment and keeps the slashes between them', () => {
    expect(encodePath('a b/é/c.css')).toBe('a%20b/%C3%A9/c.css');
  });
});

describe('encodeQueryPart()', () => {
  it('keeps separators and valid escapes, encodes what could break an attribute or url()', () => {
    expect(encodeQueryPart('x=1&y=a/b?c:d@e')).toBe('x=1&y=a/b?c:d@e');
    expect(encodeQueryPart('a%20b')).toBe('a%20b');
    expect(encodeQueryPart('100%')).toBe('100%25');
    expect(encodeQueryPart(`"'<> ()`)).toBe('%22%27%3C%3E%20%28%29');
    expect(encodeQueryPart('é')).toBe('%C3%A9');
  });
});

describe('insertHashInFilename()', () => {
  it.each([
    ['js/app.js', 'js/app.H.js'],
    ['LICENSE', 'LICENSE.H'],
    ['.env', '.env.H'],
    ['dir/.htaccess', 'dir/.htaccess.H'],
    ['a.tar.gz', 'a.tar.H.gz'],
    ['v1.2/readme', 'v1.2/readme.H'],
    ['name.', 'name.H.'],
  ])('%j -> %j', (path, expected) => {
    expect(insertHashInFilename(path, 'H')).toBe(expected);
  });
});

describe('formatUrl()', () => {
  it('query style: ?v=H, after an existing query, before the fragment', () => {
    expect(formatUrl(base)).toBe('/static/js/app.js?v=H');
    expect(formatUrl({ ...base, query: 'x=1', fragment: 'top' })).toBe('/static/js/app.js?x=1&v=H#top');
    expect(formatUrl({ ...base, query: '', fragment: 'iefix' })).toBe('/static/js/app.js?v=H#iefix');
    expect(formatUrl({ ...base, fragment: '' })).toBe('/static/js/app.js?v=H#');
  });

  it('param "" gives a bare hash', () => {
    expect(formatUrl({ ...base, param: '' })).toBe('/static/js/app.js?H');
    expect(formatUrl({ ...base, param: '', query: 'x' })).toBe('/static/js/app.js?x&H');
  });

  it('filename style leaves the query alone', () => {
    expect(formatUrl({ ...base, urlStyle: 'filename', query: 'x=1', fragment: 'f' })).toBe('/static/js/app.H.js?x=1#f');
  });

  it('without a hash adds no version and no dangling "?"', () => {
    expect(formatUrl({ ...base, hash: undefined })).toBe('/static/js/app.js');
    expect(formatUrl({ ...base, hash: undefined, urlStyle: 'filename' })).toBe('/static/js/app.js');
    // The reference's own (empty) query is the author's and is kept as written.
    expect(formatUrl({ ...base, hash: undefined, query: '', fragment: 'iefix' })).toBe('/static/js/app.js?#iefix');
  });
});
