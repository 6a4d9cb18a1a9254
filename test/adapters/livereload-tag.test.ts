import Handlebars from 'handlebars';
import nunjucks from 'nunjucks';
import { createStaticHasher, type StaticHasher } from '../../src/index';
import { serveStatic } from '../../adapters/express';
import { registerStatic as registerNunjucks } from '../../adapters/nunjucks';
import { registerStatic as registerHandlebars, staticHelpers } from '../../adapters/handlebars';
import { makeFixture, type Fixture } from '../helpers/fixture';

let site: Fixture;
const hashers: StaticHasher[] = [];
beforeAll(() => {
  site = makeFixture({ 'css/site.css': 'body {}' });
});
afterAll(async () => {
  for (const hasher of hashers) await hasher.close();
  site.cleanup();
});

async function hasher(liveReload: boolean, options: { urlStyle?: 'query' | 'filename' } = {}): Promise<StaticHasher> {
  const made = await createStaticHasher({ root: site.dir, ...options });
  hashers.push(made);
  serveStatic(made, { liveReload });
  return made;
}

const TAG = '<script src="/static/__static-hash/live-reload.js" data-events="/static/__static-hash/live-reload" data-style="query" data-param="v" data-hash-length="12"></script>';

describe('static_livereload', () => {
  test('Nunjucks: the script tag when live reload is on, with an escaped nonce; nothing when off', async () => {
    const on = new nunjucks.Environment(null, { autoescape: true });
    registerNunjucks(on, await hasher(true));
    expect(on.renderString('{% static_livereload %}', {})).toBe(TAG);
    expect(on.renderString('{% static_livereload nonce=n %}', { n: 'a"b' })).toBe(TAG.replace('></script>', ' nonce="a&quot;b"></script>'));
    const off = new nunjucks.Environment(null, { autoescape: true });
    registerNunjucks(off, await hasher(false));
    expect(off.renderString('<p>{% static_livereload %}</p>', {})).toBe('<p></p>');
    expect(off.renderString('{% static_livereload nonce=n %}', { n: 'x' })).toBe('');
    // Without any serveStatic() at all: nothing.
    const bare = new nunjucks.Environment(null, { autoescape: true });
    const plain = await createStaticHasher({ root: site.dir });
    hashers.push(plain);
    registerNunjucks(bare, plain);
    expect(bare.renderString('{% static_livereload %}', {})).toBe('');
  });

  test('Nunjucks: a bad nonce or option names the template and line', async () => {
    const env = new nunjucks.Environment(null, { autoescape: true });
    registerNunjucks(env, await hasher(true));
    const failure = (template: string): string => {
      try {
        env.renderString(template, {});
      } catch (error) {
        return (error as Error).message;
      }
      return 'rendered';
    };
    expect(failure('<p>\n{% static_livereload nonce=5 %}')).toMatch(/Line 2[\s\S]*nonce must be a string/);
    expect(failure('<p>\n{% static_livereload src="x" %}')).toMatch(/Line 2[\s\S]*unknown option "src"/);
    expect(failure('{% static_livereload "x" %}')).toMatch(/takes no arguments/);
  });

  test('Handlebars: {{static_livereload}}, nonce=, << >> delimiters, staticHelpers(); nothing when off', async () => {
    const on = Handlebars.create();
    registerHandlebars(on, await hasher(true));
    expect(on.compile('{{static_livereload}}')({})).toBe(TAG);
    expect(on.compile('{{static_livereload nonce=n}}')({ n: 'r4nd' })).toBe(TAG.replace('></script>', ' nonce="r4nd"></script>'));
    const angle = Handlebars.create();
    registerHandlebars(angle, await hasher(true, { urlStyle: 'filename' }), { delimiters: ['<<', '>>'] });
    expect(angle.compile('<<static_livereload>>')({})).toBe(TAG.replace('data-style="query"', 'data-style="filename"'));
    const off = Handlebars.create();
    registerHandlebars(off, await hasher(false));
    expect(off.compile('[{{static_livereload}}]')({})).toBe('[]');
    const helpers = staticHelpers(await hasher(true));
    expect(Handlebars.create().compile('{{static_livereload}}')({}, { helpers })).toBe(TAG);
    expect(() => on.compile('{{static_livereload "x"}}', { srcName: 'page.hbs' } as never)({})).toThrow(/takes no arguments/);
    expect(() => on.compile('{{static_livereload nonce=5}}')({})).toThrow(/nonce must be a string/);
  });
});
