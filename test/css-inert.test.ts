// The tokenizer's native skip over runs that hold no reference (CssTokenizer.skipInert, issue #20):
// every place where a skipped run borders something that matters. test/css-differential.test.ts
// checks the same against @csstools/css-tokenizer on real and random CSS.
import { scanStylesheet } from '../dist/cjs/src/index.js';

const urls = (text: string) => scanStylesheet(text).map(({ url, kind, start, end }) => ({ url, kind, text: text.slice(start, end) }));

describe('references next to skipped runs', () => {
  it.each([
    ['a{b:c} d{background:url(x.png)}', [{ url: 'x.png', kind: 'url', text: 'x.png' }]],
    ['a{b:c}URL( "x.png" )', [{ url: 'x.png', kind: 'url', text: 'x.png' }]],
    ['@import   "a.css";b{c:d}', [{ url: 'a.css', kind: 'import', text: 'a.css' }]],
    ['@import url(a.css) screen, print;', [{ url: 'a.css', kind: 'url', text: 'a.css' }]],
    ['a{b:image-set( "a.png" 1x, "b.png" 2x )}', [{ url: 'a.png', kind: 'image-set', text: 'a.png' }, { url: 'b.png', kind: 'image-set', text: 'b.png' }]],
    ['a{b:-WEBKIT-Image-Set("a.png" 1x)}', [{ url: 'a.png', kind: 'image-set', text: 'a.png' }]],
    ['a{b:u\\72l(a.png)}', [{ url: 'a.png', kind: 'url', text: 'a.png' }]],
    ['a{b:var(--x, url(y.png))}', [{ url: 'y.png', kind: 'url', text: 'y.png' }]],
    ['a{b:c}\n/*# sourceMappingURL=a.css.map */', [{ url: 'a.css.map', kind: 'source-map', text: 'a.css.map' }]],
    // The escape makes "a{b" one ident; url() after the ':' is still a reference.
    ['a\\{b:url(x.png)', [{ url: 'x.png', kind: 'url', text: 'x.png' }]],
  ])('%s', (text, expected) => {
    expect(urls(text)).toEqual(expected);
  });

  it.each([
    'a{b:10url(x.png)}', 'a{b:#url(x.png)}', 'a{b:-url(x.png)}', 'a{b:xurl(x.png)}', 'a{content:"url(x.png)"}',
    "a{content:'a;b url(x.png)'}", 'a{/* url(x.png) */}', 'a{b:c}@import-x "a.css";', '@import; "a.css"', 'a{b:c(url)(x.png)}',
    '<!-- a{b:c} --> d{e:f}',
  ])('no reference in %s', (text) => {
    expect(urls(text)).toEqual([]);
  });
});
