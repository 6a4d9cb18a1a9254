// The site the `static-hash build` tests build: stylesheets that reference images, fonts (?#iefix,
// #id), other stylesheets (@import, a cycle) and a source map, plus text and binary files.
import { randomBytes } from 'node:crypto';
import { makeFixture, type Fixture } from './fixture';

// Enough text that the compressed siblings pay for themselves.
const filler = (name: string): string => Array.from({ length: 80 }, (_, i) => `.${name}-${i} { margin: ${i}px; color: #${(i * 4099).toString(16).padStart(6, '0').slice(0, 6)}; }`).join('\n');

/** A site whose stylesheets reference images, fonts (?#iefix, #id), other stylesheets (@import, a cycle) and source maps. */
export function buildSite(): Fixture {
  const fixture = makeFixture({
    'public/css/site.css': `@import "base.css";
@import url("cycle-a.css");
@font-face { font-family: F; src: url("../fonts/f.eot?#iefix") format("embedded-opentype"), url(../fonts/f.svg#f) format("svg"), url('../fonts/f.woff2') format("woff2"); }
body { background: url(../img/bg.png) no-repeat; }
${filler('site')}
/*# sourceMappingURL=site.css.map */
`,
    'public/css/base.css': `.dot { background-image: url(/static/img/dot.png); }\n${filler('base')}\n`,
    'public/css/cycle-a.css': `@import "cycle-b.css";\n.a { background: url(../img/bg.png); }\n${filler('a')}\n`,
    'public/css/cycle-b.css': `@import "cycle-a.css";\n.b { content: "b"; }\n${filler('b')}\n`,
    'public/css/site.css.map': JSON.stringify({ version: 3, file: 'site.css', sources: ['site.scss'], names: [], mappings: 'AAAA;'.repeat(400) }),
    'public/js/app.js': `export function main() {\n${Array.from({ length: 200 }, (_, i) => `  console.log("line ${i}");`).join('\n')}\n}\n`,
    'public/fonts/f.svg': `<svg xmlns="http://www.w3.org/2000/svg"><defs><font id="f">${'<glyph unicode="a" d="M0 0h10v10z"/>'.repeat(60)}</font></defs></svg>\n`,
  });
  fixture.write('public/img/bg.png', randomBytes(4096));
  fixture.write('public/img/dot.png', randomBytes(512));
  fixture.write('public/fonts/f.eot', randomBytes(2048));
  fixture.write('public/fonts/f.woff2', randomBytes(2048));
  return fixture;
}

