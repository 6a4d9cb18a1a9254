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

// ---------------------------------------------------------------------------------------------------
// static_importmap: a page's tag for a 20-module graph, against a global returning the same markup
// as a constant (marked safe once, so neither pays for escaping). Graphs and tags cached: steady state.

const GRAPH_MODULES = 20;
for (let index = 0; index < GRAPH_MODULES; index++) {
  // A small DAG: each module imports the next two, as a real app's modules import a few others.
  const imports = [index + 1, index + 2].filter((next) => next < GRAPH_MODULES).map((next) => `import './graph-${next}.js';\n`).join('');
  fs.writeFileSync(path.join(root, 'js', `graph-${index}.js`), `${imports}export const value = ${index};\n`);
}
const mapTag = '{% static_importmap "js/graph-0.js" %}';
const mapEnv = new nunjucks.Environment(null, { autoescape: true });
registerNunjucks(mapEnv, hasher);
const tagHtml = mapEnv.renderString(mapTag, {});
if ((tagHtml.match(/modulepreload/g) ?? []).length !== GRAPH_MODULES) throw new Error('the graph does not have 20 modules');
const safeTag = mapEnv.getFilter('safe')(tagHtml);
mapEnv.addGlobal('constantTag', () => safeTag);
const mapHandlebars = Handlebars.create();
registerHandlebars(mapHandlebars, hasher);
const safeHandlebarsTag = new mapHandlebars.SafeString(tagHtml);
mapHandlebars.registerHelper('constantTag', () => safeHandlebarsTag);
const tagPage = (tag) => `<!doctype html><html><head><title>page</title>\n${tag}\n</head><body><p>body</p></body></html>\n`;
const tagCases = {
  nunjucks: { floor: nunjucks.compile(tagPage('{{ constantTag() }}'), mapEnv), tag: nunjucks.compile(tagPage(mapTag), mapEnv) },
  handlebars: { floor: mapHandlebars.compile(tagPage('{{constantTag}}')), tag: mapHandlebars.compile(tagPage('{{static_importmap "js/graph-0.js"}}')) },
};
for (const [engine, cases] of Object.entries(tagCases)) {
  if (render[engine](cases.tag) !== render[engine](cases.floor)) throw new Error(`${engine} static_importmap renders something else than the constant`);
}

/** Median ns per render over interleaved rounds. */
function measureRenders(cases, renderOne) {
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (const template of Object.values(cases)) for (let index = 0; index < 2000; index++) renderOne(template);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, template] of Object.entries(cases)) {
      const start = process.hrtime.bigint();
      for (let index = 0; index < RENDERS_PER_ROUND * 10; index++) renderOne(template);
      samples[name].push(Number(process.hrtime.bigint() - start) / (RENDERS_PER_ROUND * 10));
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

console.log(`\nstatic_importmap for a ${GRAPH_MODULES}-module graph, one tag per page, ${ROUNDS} rounds of ${RENDERS_PER_ROUND * 10} renders, medians; graph and tag cached`);
const nunjucksTag = measureRenders(tagCases.nunjucks, render.nunjucks);
report({ name: 'nunjucks {% static_importmap %} per render', value: nunjucksTag.tag, floor: nunjucksTag.floor, floorName: 'Nunjucks global returning the same markup as a constant', unit: 'ns', target: TARGET });
const handlebarsTag = measureRenders(tagCases.handlebars, render.handlebars);
report({ name: 'handlebars {{static_importmap}} per render', value: handlebarsTag.tag, floor: handlebarsTag.floor, floorName: 'Handlebars helper returning the same markup as a constant', unit: 'ns', target: TARGET });

// ---------------------------------------------------------------------------------------------------
// Cold: the first import map of a new generation for a 200-module graph (every file resolved, read,
// hashed and lexed), against reading and hashing the same 200 files through the hasher (the work any
// versioned URL needs, and the floor for a graph that must also read every import).

const COLD_MODULES = 200;
const coldRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-bench-modules-'));
const filler = '// '.padEnd(1500, 'x') + '\n';
const coldFiles = [];
for (let index = 0; index < COLD_MODULES; index++) {
  const imports = [2 * index + 1, 2 * index + 2].filter((next) => next < COLD_MODULES).map((next) => `import { value as v${next} } from './m${next}.js';\n`).join('');
  const name = `js/m${index}.js`;
  fs.mkdirSync(path.dirname(path.join(coldRoot, name)), { recursive: true });
  fs.writeFileSync(path.join(coldRoot, name), `${imports}${filler}export const value = ${index};\n`);
  coldFiles.push(name);
}
const coldHasher = await createStaticHasher({ root: coldRoot });
if (coldHasher.moduleGraph('js/m0.js').modules.length !== COLD_MODULES) throw new Error('the cold graph does not have 200 modules');
const coldSamples = { graph: [], hashing: [] };
for (let round = 0; round < ROUNDS; round++) {
  coldHasher.invalidate();
  let start = process.hrtime.bigint();
  for (const name of coldFiles) coldHasher.hash(name);
  coldSamples.hashing.push(Number(process.hrtime.bigint() - start) / 1e6);
  coldHasher.invalidate();
  start = process.hrtime.bigint();
  coldHasher.importMap('js/m0.js');
  coldSamples.graph.push(Number(process.hrtime.bigint() - start) / 1e6);
}
console.log(`\ncold import map of a ${COLD_MODULES}-module graph (~1.5 KiB each), ${ROUNDS} rounds, medians`);
report({ name: `importMap() of a fresh generation, ${COLD_MODULES} modules`, value: median(coldSamples.graph), floor: median(coldSamples.hashing), floorName: `hasher.hash() of the same ${COLD_MODULES} files in a fresh generation`, unit: 'ms' });
await coldHasher.close();
fs.rmSync(coldRoot, { recursive: true, force: true });

await hasher.close();
fs.rmSync(root, { recursive: true, force: true });
