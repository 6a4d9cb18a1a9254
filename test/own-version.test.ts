import { withoutOwnVersion, type VersionedTarget } from '../src/own-version';
import { createStaticHasher } from '../src/index';
import { makeFixture, recordingLogger } from './helpers/fixture';

const target = (path: string, query?: string, fragment?: string): VersionedTarget => ({ kind: 'file', path, query, fragment });
const query = { urlStyle: 'query' as const, param: 'v', hashLength: 12 };
const filename = { urlStyle: 'filename' as const, param: 'v', hashLength: 12 };

describe('withoutOwnVersion()', () => {
  it('drops a version pair of exactly hashLength hex characters from the query, keeping the rest', () => {
    expect(withoutOwnVersion(target('img/a.png', 'v=3f9a1c0b7d2e'), query, () => true)).toEqual(target('img/a.png'));
    expect(withoutOwnVersion(target('img/a.png', 'x=1&v=3f9a1c0b7d2e', 'top'), query, () => true)).toEqual(target('img/a.png', 'x=1', 'top'));
    expect(withoutOwnVersion(target('img/a.png', '3f9a1c0b7d2e'), { ...query, param: '' }, () => true)).toEqual(target('img/a.png'));
  });

  it('leaves any other query as written: a hand-made ?v=2, another length, another parameter, upper case', () => {
    for (const written of ['v=2', 'v=3f9a1c0b7d', 'w=3f9a1c0b7d2e', 'v=3F9A1C0B7D2E', '', 'v=3f9a1c0b7d2e0']) {
      const unchanged = target('img/a.png', written);
      expect(withoutOwnVersion(unchanged, query, () => true)).toBe(unchanged);
    }
  });

  it('maps a hashed name back to its plain file only when that file exists', () => {
    expect(withoutOwnVersion(target('css/site.3f9a1c0b7d2e.css', undefined, 'x'), filename, (p) => p === 'css/site.css')).toEqual(target('css/site.css', undefined, 'x'));
    expect(withoutOwnVersion(target('LICENSE.3f9a1c0b7d2e'), filename, (p) => p === 'LICENSE')).toEqual(target('LICENSE'));
    const vendored = target('lib/chunk.3f9a1c0b7d2e.js');
    expect(withoutOwnVersion(vendored, filename, () => false)).toBe(vendored);
  });
});

describe('stylesheets whose references already carry a version', () => {
  it('get the current version instead of a second one; other queries are kept before it', async () => {
    const fixture = makeFixture({ 'img/a.png': 'png', 'css/built.css': 'a { background: url(/static/img/a.png?v=000000000000) } b { background: url(../img/a.png?v=2) }' });
    try {
      const logger = recordingLogger();
      const hasher = await createStaticHasher({ root: fixture.dir, logger });
      const hash = hasher.hash('img/a.png');
      const text = (await hasher.read('css/built.css'))!.toString();
      expect(text).toBe(`a { background: url(/static/img/a.png?v=${hash}) } b { background: url(/static/img/a.png?v=2&v=${hash}) }`);
      expect(logger.warnings).toEqual([]);
      await hasher.close();
    } finally {
      fixture.cleanup();
    }
  });
});
