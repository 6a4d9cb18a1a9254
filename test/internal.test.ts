// src/internal.ts: what the adapters share. One escaper, one position format, one hasher check.
import { createStaticHasher, StaticHashError } from '../src/index';
import {
  baseUrlPath, checkHasher, escapeHtml, formatTemplatePosition, handlebarsPosition, invalidOption, isStaticHasher, isStylesheet, withTemplatePosition,
} from '../src/internal';
import { makeFixture } from './helpers/fixture';

describe('escapeHtml()', () => {
  it('escapes & < > " \' and the backtick, and returns other text as it is', () => {
    expect(escapeHtml('/a?x=1&y=<b>"c"\'d\'`e`')).toBe('/a?x=1&amp;y=&lt;b&gt;&quot;c&quot;&#39;d&#39;&#96;e&#96;');
    const plain = '/static/app.js?v=1';
    expect(escapeHtml(plain)).toBe(plain);
  });
});

describe('formatTemplatePosition()', () => {
  it('writes 1-based positions one way: name:line:column, or the line and column without a name', () => {
    expect(formatTemplatePosition({ template: 'views/home.njk', line: 12, column: 5 })).toBe(' (views/home.njk:12:5)');
    expect(formatTemplatePosition({ line: 12, column: 5 })).toBe(' (template line 12, column 5)');
    expect(formatTemplatePosition({ template: 'views/home.njk' })).toBe(' (views/home.njk)');
    expect(formatTemplatePosition({})).toBe('');
  });

  it("takes Handlebars' 0-based columns to 1-based", () => {
    expect(handlebarsPosition({ source: 'a.hbs', start: { line: 2, column: 0 } })).toEqual({ template: 'a.hbs', line: 2, column: 1 });
    expect(handlebarsPosition(undefined)).toEqual({ template: undefined, line: undefined, column: undefined });
  });

  it('adds the position to a StaticHashError, keeping its code and details; other errors pass unchanged', () => {
    const original = new StaticHashError('ERR_STATIC_NOT_FOUND', 'static: file not found: "x"', { reference: 'x', file: '/r/x' });
    const positioned = withTemplatePosition(original, { template: 't.njk', line: 1, column: 2 }) as StaticHashError;
    expect(positioned).toMatchObject({ code: 'ERR_STATIC_NOT_FOUND', reference: 'x', file: '/r/x', message: 'static: file not found: "x" (t.njk:1:2)' });
    expect(positioned.cause).toBe(original);
    const other = new TypeError('boom');
    expect(withTemplatePosition(other, { line: 1 })).toBe(other);
    expect(withTemplatePosition(original, {})).toBe(original);
  });
});

describe('hasher check', () => {
  it('accepts a hasher (and an object with its methods, as a second copy of the package makes), nothing else', async () => {
    const fixture = makeFixture({ 'a.js': 'a' });
    try {
      const hasher = await createStaticHasher({ root: fixture.dir });
      expect(isStaticHasher(hasher)).toBe(true);
      const lookalike = Object.fromEntries(['url', 'hash', 'integrity', 'read', 'resolve', 'invalidate'].map((name) => [name, () => undefined]));
      expect(isStaticHasher({ ...lookalike, options: {} })).toBe(true);
      expect(isStaticHasher(lookalike)).toBe(false);
      expect(isStaticHasher({ url: () => '' })).toBe(false);
      expect(isStaticHasher(null)).toBe(false);
      expect(() => checkHasher({}, 'static-hash/x', 'f(hasher): hasher')).toThrow(
        expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION', option: 'hasher', message: 'static-hash/x: f(hasher): hasher must be a StaticHasher from createStaticHasher(); got an object' }),
      );
      await hasher.close();
    } finally {
      fixture.cleanup();
    }
  });
});

describe('invalidOption(), baseUrlPath(), isStylesheet()', () => {
  it('say one thing one way', () => {
    expect(() => invalidOption('static-hash/x', 'mode', 'one of "a", "b"', 3)).toThrow(
      expect.objectContaining({ code: 'ERR_STATIC_INVALID_OPTION', option: 'mode', value: 3, message: 'static-hash/x: option "mode" must be one of "a", "b"; got number 3' }),
    );
    expect(baseUrlPath('/static/')).toBe('/static/');
    expect(baseUrlPath('https://cdn.example.com/assets/')).toBe('/assets/');
    expect(baseUrlPath('//cdn.example.com')).toBe('/');
    expect(['a.css', 'A.CSS', 'x/y.Css', '.css', 'a.scss', 'a.css.map'].map(isStylesheet)).toEqual([true, true, true, false, false, false]);
  });
});
