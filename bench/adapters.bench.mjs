// Template adapters: what a static reference costs in a rendered template, against the same template
// calling a plain global function / helper that returns a constant string, under the same autoescape
// setting (so both pay the engine's call and output machinery, and only the adapter's work differs).
// Hashes are cached first: this is the steady state of a running site.
//
// Run: npm run bench adapters
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Handlebars from 'handlebars';
import nunjucks from 'nunjucks';
import { createStaticHasher } from '../dist/esm/src/index.js';
import { registerStatic as registerNunjucks } from '../dist/esm/adapters/nunjucks.js';
import { registerStatic as registerHandlebars } from '../dist/esm/adapters/handlebars.js';
import { median, report } from './report.mjs';

const REFERENCES = 100;
const ROUNDS = 51;
const RENDERS_PER_ROUND = 300;
const TARGET = 1.5;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-bench-adapters-'));
const names = [];
for (let index = 0; index < REFERENCES; index++) {
  const name = `js/module-${index}.js`;
  fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
  fs.writeFileSync(path.join(root, name), `export const value = ${index};\n`);
  names.push(name);
}
const hasher = await createStaticHasher({ root });
// The floor returns a constant as long as a real URL, so both write the same number of bytes.
const constantUrl = hasher.url(names[0]);
const constant = () => constantUrl;

function page(reference) {
  return names.map((name) => `<script src="${reference(name)}"></script>\n`).join('');
}

// Nunjucks, autoescape on (its default in Express setups and ours).
const env = new nunjucks.Environment(null, { autoescape: true });
registerNunjucks(env, hasher);
env.addGlobal('constant', constant);
const nunjucksCases = {
  floor: nunjucks.compile(page((name) => `{{ constant("${name}") }}`), env),
  tag: nunjucks.compile(page((name) => `{% static "${name}" %}`), env),
  function: nunjucks.compile(page((name) => `{{ static("${name}") }}`), env),
  filter: nunjucks.compile(page((name) => `{{ "${name}" | static }}`), env),
};

// Handlebars, escaping on (its default).
const handlebars = Handlebars.create();
registerHandlebars(handlebars, hasher);
handlebars.registerHelper('constant', constant);
// What a naive helper does: return the plain URL and let Handlebars escape it (writing '=' as &#x3D;).
handlebars.registerHelper('plainUrl', (reference) => hasher.url(reference));
const angle = Handlebars.create();
registerHandlebars(angle, hasher, { delimiters: ['<<', '>>'] });
const handlebarsCases = {
  floor: handlebars.compile(page((name) => `{{constant "${name}"}}`)),
  helper: handlebars.compile(page((name) => `{{static "${name}"}}`)),
  angle: angle.compile(page((name) => `<<static "${name}">>`)),
  naive: handlebars.compile(page((name) => `{{plainUrl "${name}"}}`)),
};

const render = {
  nunjucks: (template) => template.render({}),
  handlebars: (template) => template({}),
};

// Check before timing: every case prints the same page (the floor prints one URL a hundred times).
const expected = page((name) => hasher.url(name));
for (const [name, template] of Object.entries(nunjucksCases)) {
  if (name !== 'floor' && render.nunjucks(template) !== expected) throw new Error(`nunjucks ${name} renders something else`);
}
for (const [name, template] of Object.entries(handlebarsCases)) {
  const html = render.handlebars(template);
  // Handlebars' own escaping writes '=' as '&#x3D;' for the naive helper and the floor; ours does not.
  if (name !== 'floor' && name !== 'naive' && html !== expected) throw new Error(`handlebars ${name} renders something else`);
}

/** Median ns per reference over interleaved rounds, so machine noise hits every case alike. */
function measure(cases, renderOne) {
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (const template of Object.values(cases)) for (let index = 0; index < 200; index++) renderOne(template);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, template] of Object.entries(cases)) {
      const start = process.hrtime.bigint();
      for (let index = 0; index < RENDERS_PER_ROUND; index++) renderOne(template);
      const elapsed = Number(process.hrtime.bigint() - start);
      samples[name].push(elapsed / RENDERS_PER_ROUND / REFERENCES);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

console.log(`${REFERENCES} references per template, ${ROUNDS} rounds of ${RENDERS_PER_ROUND} renders, medians; hashes cached`);

const nunjucksResult = measure(nunjucksCases, render.nunjucks);
const nunjucksFloor = 'Nunjucks {{ constant() }} global, autoescape on';
report({ name: 'nunjucks {% static %} per reference', value: nunjucksResult.tag, floor: nunjucksResult.floor, floorName: nunjucksFloor, unit: 'ns', target: TARGET });
report({ name: 'nunjucks {{ static() }} per reference', value: nunjucksResult.function, floor: nunjucksResult.floor, floorName: nunjucksFloor, unit: 'ns', target: TARGET });
report({ name: 'nunjucks {{ "x" | static }} per reference', value: nunjucksResult.filter, floor: nunjucksResult.floor, floorName: nunjucksFloor, unit: 'ns', target: TARGET });

const handlebarsResult = measure(handlebarsCases, render.handlebars);
const handlebarsFloor = 'Handlebars {{constant}} helper, escaping on';
report({ name: 'handlebars {{static}} per reference', value: handlebarsResult.helper, floor: handlebarsResult.floor, floorName: handlebarsFloor, unit: 'ns', target: TARGET });
report({ name: 'handlebars <<static>> per reference', value: handlebarsResult.angle, floor: handlebarsResult.floor, floorName: handlebarsFloor, unit: 'ns', target: TARGET });
report({ name: 'handlebars naive helper returning hasher.url() (for comparison)', value: handlebarsResult.naive, floor: handlebarsResult.floor, floorName: handlebarsFloor, unit: 'ns' });

await hasher.close();
fs.rmSync(root, { recursive: true, force: true });
