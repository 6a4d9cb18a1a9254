// Builds dist/esm and dist/cjs with tsc, each with its own package.json "type" marker so Node
// loads the .js files in each folder as the module system they were compiled for.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
const builds = [
  { dir: 'dist/esm', type: 'module', args: ['--module', 'ES2022', '--moduleResolution', 'bundler'] },
  { dir: 'dist/cjs', type: 'commonjs', args: ['--module', 'CommonJS', '--moduleResolution', 'node10'] },
];
for (const build of builds) {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', build.dir, ...build.args], { stdio: 'inherit' });
  mkdirSync(build.dir, { recursive: true });
  writeFileSync(`${build.dir}/package.json`, `${JSON.stringify({ type: build.type })}\n`);
}
// src/pool-location.ts is the CommonJS form (__dirname); the ES module build finds the worker from
// import.meta.url instead, which tsc does not accept in the CommonJS build of the same file.
writeFileSync('dist/esm/src/pool-location.js', `// Written by scripts/build.mjs: the ES module form of src/pool-location.ts.
import { fileURLToPath } from 'node:url';
/** The absolute path of the built src/pool-worker.js next to this file. */
export function poolWorkerFile() {
  return fileURLToPath(new URL('./pool-worker.js', import.meta.url));
}
`);
