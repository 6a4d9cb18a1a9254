// Differential check of our stylesheet scanner against @csstools/css-tokenizer (the reference
// implementation of CSS Syntax 3) with the same reference rules applied to its tokens: on real-world
// stylesheets, random fragments of them, and generated CSS, both must find the same references.
// Runs as a child of test/css-differential.test.ts because @csstools/css-tokenizer v4 is ESM-only
// and Jest here runs CommonJS. Prints one JSON line: { checked, counts, seed } or { failure }.
import fs from 'node:fs';
import path from 'node:path';
import { tokenize } from '@csstools/css-tokenizer';
import fc from 'fast-check';

const [distIndex, repo, runsText, seedText] = process.argv.slice(2);
const { scanStylesheet } = await import(distIndex);
// The hasher's own path: the file's bytes, one character per byte (binary mode). Absent before the
// tokenizer had a module of its own; then only the text mode is compared.
const tokenizerModule = await import(new URL('css-tokenizer.js', `file://${distIndex}`).href).catch(() => undefined);
const referencesModule = await import(new URL('css-references.js', `file://${distIndex}`).href).catch(() => undefined);
const runs = Number(runsText);
const seed = seedText === undefined || seedText === '' ? Date.now() % 2_147_483_647 : Number(seedText);

const SOURCE_MAP = /^\/\*([#@][ \t]*sourceMappingURL=)(\S+)\s*\*\/$/;
const asciiLower = (text) => text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());

/**
 * Whether @csstools/css-tokenizer and browsers agree on every non-ASCII code point of `text`: it
 * follows the 2021 narrowing of "non-ASCII ident code point" to listed ranges, while Blink, Gecko,
 * WebKit and our tokenizer take every code point from U+0080 as a name code point (our tokenizer
 * reads the file's bytes, one character per byte, where only that rule can hold). Inputs with code
 * points where the two rules differ (e.g. '©' U+00A9, '×' U+00D7) are left out of the comparison.
 */
function agreesOnNonAscii(text) {
  for (const character of text) {
    const c = character.codePointAt(0);
    if (c < 0x80) continue;
    const listed = c === 0xb7 || c === 0x200c || c === 0x200d || c === 0x203f || c === 0x2040 || (c >= 0xc0 && c <= 0xd6) || (c >= 0xd8 && c <= 0xf6)
      || (c >= 0xf8 && c <= 0x37d) || (c >= 0x37f && c <= 0x1fff) || (c >= 0x2070 && c <= 0x218f) || (c >= 0x2c00 && c <= 0x2fef)
      || (c >= 0x3001 && c <= 0xd7ff) || (c >= 0xf900 && c <= 0xfdcf) || (c >= 0xfdf0 && c <= 0xfffd) || c >= 0x10000 || (c >= 0xd800 && c <= 0xdfff);
    if (!listed) return false;
  }
  return true;
}

/**
 * The references @csstools/css-tokenizer's tokens hold, by the rules src/css-references.ts states.
 * It is given the input preprocessed as CSS Syntax 3 §3.3 says (NUL and lone surrogates become
 * U+FFFD), which it leaves to its caller and browsers do.
 */
function referenceModel(text) {
  const found = [];
  const functions = [];
  let importPending = false;
  for (const [type, raw, , , data] of tokenize({ css: text.replaceAll('\0', '\ufffd').toWellFormed() })) {
    if (type === 'EOF-token') break;
    if (type === 'whitespace-token') continue;
    if (type === 'comment') {
      const match = SOURCE_MAP.exec(raw);
      if (match) found.push(['source-map', match[2]]);
      continue;
    }
    const inImport = importPending;
    importPending = false;
    if (type === 'string-token') {
      const context = inImport ? 'import' : functions.at(-1);
      const kind = context === 'import' ? 'import' : context === 'url' ? 'url'
        : context === 'image-set' || context === '-webkit-image-set' ? 'image-set' : undefined;
      if (kind !== undefined) found.push([kind, data.value]);
    } else if (type === 'url-token') {
      found.push(['url', data.value]);
    } else if (type === 'function-token') {
      functions.push(asciiLower(data.value));
    } else if (type === '(-token') {
      functions.push('');
    } else if (type === ')-token') {
      functions.pop();
    } else if (type === 'at-keyword-token') {
      importPending = asciiLower(data.value) === 'import';
    }
  }
  return found;
}

const ours = (text) => scanStylesheet(text).map(({ kind, url }) => [kind, url]);
const oursOnBytes = (text) => referencesModule.findReferences(new tokenizerModule.CssTokenizer(Buffer.from(text, 'utf8').toString('latin1'), true, true))
  .map(({ kind, url }) => [kind, url]);
// The hasher's path since issue #20: the bytes themselves (CssByteSkip, windows decoded where it stops).
const oursInBytes = (text) => referencesModule.findReferencesInBytes(Buffer.from(text, 'utf8')).map(({ kind, url }) => [kind, url]);

/** Every .css file under `dir`, sorted, symlinks not followed. */
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

const counts = { realFiles: 0, realReferences: 0, fragments: 0, generated: 0, generatedWithReferences: 0, arbitrary: 0 };
let failure;
let detail;
function check(text) {
  const expected = referenceModel(text);
  const actual = ours(text);
  const onBytes = tokenizerModule === undefined ? actual : oursOnBytes(text);
  const inBytes = referencesModule?.findReferencesInBytes === undefined ? onBytes : oursInBytes(text);
  if (JSON.stringify(actual) !== JSON.stringify(expected) || JSON.stringify(onBytes) !== JSON.stringify(expected) || JSON.stringify(inBytes) !== JSON.stringify(expected)) {
    throw new Error(detail = `references differ for ${JSON.stringify(text.length > 400 ? `${text.slice(0, 400)}…` : text)}:\n  ours:      ${JSON.stringify(actual)}\n  on bytes:  ${JSON.stringify(onBytes)}\n  in bytes:  ${JSON.stringify(inBytes)}\n  reference: ${JSON.stringify(expected)}`);
  }
  return expected.length;
}

try {
  // 1. Real-world stylesheets, whole.
  const corpus = ['test/fixtures', 'examples', 'node_modules'].flatMap((dir) => cssFiles(path.join(repo, dir)))
    .map((file) => fs.readFileSync(file, 'utf8'));
  for (const text of corpus) {
    counts.realFiles++;
    counts.realReferences += check(text);
  }

  // 2. Random fragments of them: cut anywhere, so tokens start and end mid-way.
  fc.assert(fc.property(fc.nat(corpus.length - 1), fc.nat(), fc.nat(2000), (which, from, length) => {
    const text = corpus[which];
    const start = from % Math.max(1, text.length);
    const fragment = text.slice(start, start + length);
    if (!agreesOnNonAscii(fragment)) return;
    counts.fragments++;
    check(fragment);
  }), { numRuns: runs, seed });

  // 3. Generated CSS: pieces that start, end or hide references, in any order.
  const piece = fc.constantFrom(
    'url(', 'URL(', 'u\\72l(', 'url( ', ')', '(', '"', "'", 'a.png', 'b c.png', '\\', '\\29', '\\\n', '\n', ' ', '\t', '\r\n', '\f',
    '@import', '@IMPORT', '@import ', ';', 'image-set(', '-webkit-image-set(', 'x(', '/*', '*/', '/*# sourceMappingURL=', 'a.map',
    '<!--', '-->', '#', '#url(', '10', '10url(', '-', '--', '-url(', '+', '.', '.5', 'e3', '%', '{', '}', ':', ',', 'é', '\u0000', '\u007f', '😀',
  );
  fc.assert(fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
    counts.generated++;
    if (check(pieces.join('')) > 0) counts.generatedWithReferences++;
  }), { numRuns: runs, seed });
  // The same pieces, weighted towards those that make references, so most inputs hold some.
  const referencePiece = fc.oneof(
    { arbitrary: fc.constantFrom('url(', 'url("', "url('", '@import "', "@import '", 'image-set("', '/*# sourceMappingURL=', 'a.png', ')', '"', "'", ' ', '*/'), weight: 3 },
    { arbitrary: piece, weight: 1 },
  );
  fc.assert(fc.property(fc.array(referencePiece, { maxLength: 20 }), (pieces) => {
    counts.generated++;
    if (check(pieces.join('')) > 0) counts.generatedWithReferences++;
  }), { numRuns: runs, seed });

  // 4. Arbitrary text.
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'grapheme-composite', maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 })), (text) => {
    if (!agreesOnNonAscii(text)) return;
    counts.arbitrary++;
    check(text);
  }), { numRuns: runs, seed });
} catch (error) {
  failure = `${detail ?? ''}\n${String(error && error.message)}`;
}
process.stdout.write(`${JSON.stringify(failure === undefined ? { checked: true, counts, seed } : { failure, counts, seed })}\n`);
