import { StaticHashError, type StaticHashErrorCode } from '../src/index';
import { describeValue } from '../src/errors';

describe('StaticHashError', () => {
  it.each<[StaticHashErrorCode, number | undefined]>([
    ['ERR_STATIC_INVALID_OPTION', undefined],
    ['ERR_STATIC_INVALID_REFERENCE', 400],
    ['ERR_STATIC_UNSAFE_PATH', 400],
    ['ERR_STATIC_NOT_FOUND', 404],
    ['ERR_STATIC_NOT_A_FILE', 404],
    ['ERR_STATIC_IO', 500],
    ['ERR_STATIC_MANIFEST', undefined],
    ['ERR_STATIC_WORKER', undefined],
  ])('%s maps to HTTP status %s', (code, status) => {
    const error = new StaticHashError(code, 'message');
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'StaticHashError', code, status, message: 'message' });
  });

  it('carries the reference, file, option, value and cause', () => {
    const cause = new Error('EACCES');
    const error = new StaticHashError('ERR_STATIC_IO', 'm', { reference: 'a.js', file: '/x/a.js', option: 'o', value: 3, cause });
    expect(error).toMatchObject({ reference: 'a.js', file: '/x/a.js', option: 'o', value: 3, cause });
  });
});

describe('describeValue()', () => {
  it.each([
    ['a"b', '"a\\"b"'],
    [null, 'null'],
    [undefined, 'undefined'],
    [42, 'number 42'],
    [() => {}, 'a function'],
    [[1], 'an array'],
    [{}, 'an object'],
  ])('%p -> %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });

  it('cuts long values', () => {
    expect(describeValue('x'.repeat(500))).toHaveLength(120);
  });
});
