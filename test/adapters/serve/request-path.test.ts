// The serving core's pure request-path functions, alone: no server, no disk.
import { MALFORMED, decodeRequestPath, isHiddenPath, originForm, pathOfBaseUrl, removeFilenameVersion, versionInQuery } from '../../../adapters/serve/request-path';
import { acceptedQuality, chooseEncoding } from '../../../adapters/serve/negotiation';

describe('decodeRequestPath()', () => {
  it.each([
    ['js/app.js', 'js/app.js'],
    ['a%20b%20%C3%A9.txt', 'a b é.txt'],
    ['100%25.txt', '100%.txt'],
    ['%zz', MALFORMED],
    ['%c0%ae%c0%ae/secret', MALFORMED],
    ['..%2fsecret', MALFORMED],
    ['a%3Fb.js', undefined],
    ['a%23b.js', undefined],
    ['js/app.js#x', undefined],
  ])('%s', (raw, expected) => {
    expect(decodeRequestPath(raw)).toBe(expected);
  });
});

describe('originForm()', () => {
  it.each([
    ['/static/a.js?v=1', '/static/a.js?v=1'],
    ['http://example.com/static/a.js?v=1', '/static/a.js?v=1'],
    ['http://example.com', '/'],
    ['http://example.com?x', '/?x'],
    ['*', '*'],
  ])('%s', (url, expected) => {
    expect(originForm(url)).toBe(expected);
  });
});

describe('versionInQuery()', () => {
  it.each([
    ['v=abc', 'v', 'abc'],
    ['x=1&v=abc&utm=y', 'v', 'abc'],
    ['v=old&v=new', 'v', 'new'],
    ['x=1', 'v', undefined],
    ['abc', '', 'abc'],
    ['x=1&abc', '', 'abc'],
    ['x=1', '', undefined],
  ])('%s (param %j)', (query, param, expected) => {
    expect(versionInQuery(query, param)).toBe(expected);
  });
});

describe('removeFilenameVersion()', () => {
  it.each([
    ['js/app.1.4.2.js', { reference: 'js/app.js', hash: '1.4.2' }],
    ['LICENSE.1.4.2', { reference: 'LICENSE', hash: '1.4.2' }],
    ['js/app.1.4.1.js', undefined],
    ['js/.1.4.2', undefined],
  ])('%s', (reference, expected) => {
    expect(removeFilenameVersion(reference, '1.4.2')).toEqual(expected);
  });
});

describe('isHiddenPath()', () => {
  it.each([
    ['.env', true], ['.git/config', true], ['a/.b/c', true], ['.well-known/security.txt', false], ['a/.well-known/x', true], ['a.b/c', false],
  ])('%s', (canonical, expected) => {
    expect(isHiddenPath(canonical)).toBe(expected);
  });
});

describe('pathOfBaseUrl()', () => {
  it.each([
    ['/static/', '/static/'], ['/assets', '/assets/'], ['https://cdn.example.com/assets/', '/assets/'], ['https://cdn.example.com', '/'], ['//cdn.example.com/x/y/', '/x/y/'],
  ])('%s', (baseUrl, expected) => {
    expect(pathOfBaseUrl(baseUrl)).toBe(expected);
  });
});

describe('content negotiation', () => {
  it('reads qualities, x-gzip and the wildcard', () => {
    expect(acceptedQuality('gzip;q=0.5, br', 'gzip')).toBe(0.5);
    expect(acceptedQuality('x-gzip', 'gzip')).toBe(1);
    expect(acceptedQuality('*;q=0.2', 'br')).toBe(0.2);
    expect(acceptedQuality('identity', 'br')).toBe(0);
  });

  it('prefers the higher quality, then the order given', () => {
    const br = { encoding: 'br' as const };
    const gzip = { encoding: 'gzip' as const };
    expect(chooseEncoding('gzip, br', [br, gzip])).toBe(br);
    expect(chooseEncoding('gzip, br', [gzip, br])).toBe(gzip);
    expect(chooseEncoding('gzip;q=1, br;q=0.5', [br, gzip])).toBe(gzip);
    expect(chooseEncoding('br;q=0, gzip;q=0', [br, gzip])).toBeUndefined();
    expect(chooseEncoding(undefined, [br, gzip])).toBeUndefined();
  });
});
