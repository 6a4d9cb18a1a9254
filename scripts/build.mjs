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
// import.meta.url instead, which tsc does not accept in the CommonJS build of the same file. Both
// start the CommonJS build of the worker when it is there: a worker is a thread of its own (no state
// is shared, so no dual-package hazard), and it boots about 8 ms sooner than the ES module build
// (fewer, cheaper module loads), which the calling thread would otherwise spend digesting alone.
writeFileSync('dist/esm/src/pool-location.js', `// Written by scripts/build.mjs: the ES module form of src/pool-location.ts.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
/** The absolute path of the built pool-worker.js to start: the CommonJS build's, else this build's. */
export function poolWorkerFile() {
  const commonjs = fileURLToPath(new URL('../../cjs/src/pool-worker.js', import.meta.url));
  return fs.existsSync(commonjs) ? commonjs : fileURLToPath(new URL('./pool-worker.js', import.meta.url));
}
`);
// src/module-lexer.ts likewise: a static import in the ES module build (see that file for why).
writeFileSync('dist/esm/src/module-lexer.js', `// Written by scripts/build.mjs: the ES module form of src/module-lexer.ts.
import * as lexer from 'es-module-lexer';
/** The es-module-lexer module (imported with this one; see src/module-lexer.ts). */
export function moduleLexer() {
  return lexer;
}
`);
