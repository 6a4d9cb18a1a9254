/**
 * Where the pool's worker file is: beside this module. This is the CommonJS form (`__dirname`);
 * scripts/build.mjs writes the ES module form (`import.meta.url`, which tsc refuses in a CommonJS
 * build) over dist/esm/src/pool-location.js.
 */
import path from 'node:path';

/** The absolute path of the built src/pool-worker.js to start: the one next to this file (the CommonJS build). */
export function poolWorkerFile(): string {
  return path.join(__dirname, 'pool-worker.js');
}
