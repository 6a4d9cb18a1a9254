// `npm test`: installs what is missing (npm dependencies; chromium and redis-server as root on
// Debian), builds dist/ afresh (the packaging tests import it), type-checks everything (the public
// API's type test in test/types/ included), then runs Jest with any arguments given, and prints a
// plain "N passed, N failed" line at the end (and what held Jest open, if a test leaked a handle).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureBuilt, ensureNodeModules, ensureSystemPackages, projectRoot } from './ensure.mjs';

ensureNodeModules();
ensureSystemPackages();
ensureBuilt({ force: true });

const typecheck = spawnSync(process.execPath, [path.join(projectRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'], {
  cwd: projectRoot,
  stdio: 'inherit',
});
if (typecheck.status !== 0) {
  console.error('static-hash: type check failed (tsc -p tsconfig.json --noEmit)');
  process.exit(typecheck.status ?? 1);
}

const results = path.join(projectRoot, 'test-output/jest-results.json');
// Written by test/helpers/exit-watch.cjs when a handle a test leaked kept Jest from exiting.
const openHandles = path.join(projectRoot, 'test-output/open-handles.txt');
fs.mkdirSync(path.dirname(results), { recursive: true });
fs.rmSync(results, { force: true });
fs.rmSync(openHandles, { force: true });
const jest = path.join(projectRoot, 'node_modules/jest/bin/jest.js');
const run = spawnSync(process.execPath, [jest, '--json', `--outputFile=${results}`, ...process.argv.slice(2)], {
  cwd: projectRoot,
  stdio: 'inherit',
});
if (fs.existsSync(results)) {
  const summary = JSON.parse(fs.readFileSync(results, 'utf8'));
  console.log(`\njest: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed`);
}
if (fs.existsSync(openHandles)) console.log(fs.readFileSync(openHandles, 'utf8').trimEnd());
process.exit(run.status ?? 1);
