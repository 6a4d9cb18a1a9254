// The stylesheet scanner against @csstools/css-tokenizer, the reference implementation of CSS Syntax 3,
// with the same reference rules applied to its tokens (test/helpers/css-differential.mjs): on every
// real-world stylesheet in the repository and node_modules, random fragments of them, generated CSS
// and arbitrary text, in text mode and on the file's bytes (the hasher's path), both must find the
// same references. The check runs in a child process: @csstools/css-tokenizer v4 is ESM-only, and
// Jest here runs CommonJS. Bounded: 1,000 runs per property (a few seconds).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const repo = path.resolve(__dirname, '..');
const distIndex = path.join(repo, 'dist/esm/src/index.js');

it('finds the same references as @csstools/css-tokenizer on real-world, fragmentary, generated and arbitrary CSS', () => {
  if (!fs.existsSync(distIndex)) throw new Error('dist/ is missing: run npm run build (npm test does)');
  // A fixed seed reproduces a failure: STATIC_HASH_CSS_SEED=<seed printed below> npx jest test/css-differential.test.ts
  const seed = process.env.STATIC_HASH_CSS_SEED ?? '';
  const child = spawnSync(process.execPath, [path.join(repo, 'test/helpers/css-differential.mjs'), distIndex, repo, '1000', seed], {
    encoding: 'utf8', cwd: repo,
  });
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  let result: { checked?: boolean; failure?: string; seed: number; counts: Record<string, number> };
  try {
    result = JSON.parse(line);
  } catch {
    throw new Error(`the differential check printed no result (status ${child.status}): ${child.stderr}`);
  }
  console.log(`css differential (seed ${result.seed}):`, result.counts);
  expect(result.failure).toBeUndefined();
  expect(result.checked).toBe(true);
  // Not vacuous: real stylesheets with references, and generated inputs that hold some.
  expect(result.counts.realFiles).toBeGreaterThan(10);
  expect(result.counts.realReferences).toBeGreaterThan(50);
  expect(result.counts.generatedWithReferences).toBeGreaterThan(200);
  expect(result.counts.fragments).toBeGreaterThan(500);
  expect(result.counts.arbitrary).toBeGreaterThan(500);
});
