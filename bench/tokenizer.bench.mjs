// The hand-written CSS tokenizer against @csstools/css-tokenizer, the reference implementation of
// CSS Syntax 3 (`npm run bench tokenizer`), on 1 MiB of real-world CSS: the stylesheets found in the
// repository's fixtures, the demo and node_modules, repeated. Figures in ms per MiB, each beside a
// floor measured in the same run (one charCodeAt pass over the text), runs alternating.
//   1. our tokenizer alone, every token (CssTokenizer.next() to the end), as @csstools produces every token
//   2. our tokenizer plus the reference rules (scanStylesheet(), what the hasher runs)
//   3. @csstools/css-tokenizer tokenize() (tokens only)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tokenize } from '@csstools/css-tokenizer';
import { CssTokenizer } from '../dist/esm/src/css-tokenizer.js';
import { scanStylesheet } from '../dist/esm/src/index.js';
import { median, report } from './report.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MIB = 1024 * 1024;

/** Every .css file under `dir` (symlinks not followed), sorted. */
function cssFiles(dir) {
  const found = [];
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop();
    let entries;
    try {
      entries = fs.readdirSync(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile() && entry.name.endsWith('.css')) found.push(full);
    }
  }
  return found.sort();
}

const files = ['test/fixtures', 'examples', 'node_modules'].flatMap((dir) => cssFiles(path.join(repo, dir)));
const corpus = files.map((file) => fs.readFileSync(file, 'utf8')).join('\n');
let text = corpus;
while (text.length < MIB) text += `\n${corpus}`;
text = text.slice(0, MIB);
const mib = Buffer.byteLength(text) / MIB;

function ours() {
  const tokens = new CssTokenizer(text, false);
  let count = 0;
  while (tokens.next() !== 'eof') count++;
  return count;
}
const oursWithRules = () => scanStylesheet(text).length; // significant tokens only (whitespace and plain delims skipped)
const theirs = () => tokenize({ css: text }).length;
function floor() {
  let sum = 0;
  for (let index = 0; index < text.length; index++) sum += text.charCodeAt(index);
  return sum;
}

function time(fn) {
  const started = process.hrtime.bigint();
  const result = fn();
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result === 0) throw new Error('nothing tokenized');
  return elapsed / mib;
}

const subjects = { ours, oursWithRules, theirs, floor };
const times = { ours: [], oursWithRules: [], theirs: [], floor: [] };
const names = Object.keys(subjects);
for (let warm = 0; warm < 5; warm++) for (const name of names) subjects[name](); // warm up each
for (let round = 0; round < 15; round++) {
  // A different one goes first each round, so none always gets the warmest CPU share.
  for (let offset = 0; offset < names.length; offset++) {
    const name = names[(round + offset) % names.length];
    times[name].push(time(subjects[name]));
  }
}
console.log(`(corpus: ${files.length} stylesheets, ${(Buffer.byteLength(corpus) / 1024).toFixed(0)} KiB, repeated to ${mib.toFixed(1)} MiB; ${ours()} tokens; median of 15)`);
const f = median(times.floor);
const unit = 'ms';
report({ name: 'our tokenizer, every token (CssTokenizer), ms per MiB', value: median(times.ours), floor: f, floorName: 'one charCodeAt pass', unit });
report({ name: 'our tokenizer + reference rules (scanStylesheet), ms per MiB', value: median(times.oursWithRules), floor: f, floorName: 'one charCodeAt pass', unit });
report({ name: '@csstools/css-tokenizer tokenize(), ms per MiB', value: median(times.theirs), floor: f, floorName: 'one charCodeAt pass', unit });
report({ name: '@csstools/css-tokenizer vs ours', value: median(times.theirs), floor: median(times.ours), floorName: 'our tokenizer', unit });
