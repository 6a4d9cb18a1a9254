// Start-up benchmark (`npm run bench startup`): import('static-hash') plus createStaticHasher() in a
// fresh process, against importing lru-cache and loading xxhash-wasm alone (the two modules every
// hasher needs) in a fresh process: the cold start of a serverless function that renders templates.
//   css: false (ESM)          target <= 1.5x the floor
//   css: false (CommonJS)     reported
//   css: true (the default)   reported: it loads the stylesheet hasher too
// Processes of each kind alternate, several rounds; best and median wall time are printed, and the
// median CPU time (user + system) of the process, steadier on a shared machine.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, report } from './report.mjs';
import { makeBenchDir, removeBenchDir } from './tree.mjs';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'startup-child.mjs');
const rounds = Number(process.env.BENCH_ROUNDS ?? 21);
const dir = makeBenchDir('startup');
try {
  fs.writeFileSync(path.join(dir, 'app.js'), 'export {};\n');
  const modes = ['floor', 'nocss', 'cjs', 'css'];
  const times = Object.fromEntries(modes.map((mode) => [mode, []]));
  const cpuTimes = Object.fromEntries(modes.map((mode) => [mode, []]));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no kind always runs right after another (page cache, CPU share).
    for (let index = 0; index < modes.length; index++) {
      const mode = modes[(index + round) % modes.length];
      const [wall, cpu] = execFileSync(process.execPath, [child, mode, dir], { encoding: 'utf8' }).trim().split(' ').map(Number);
      times[mode].push(wall);
      cpuTimes[mode].push(cpu);
    }
  }
  const floorName = 'import lru-cache + xxhash-wasm loaded';
  const best = (values) => Math.min(...values);
  for (const [mode, name, target] of [
    ['nocss', 'import + createStaticHasher({ css: false }), ESM', 1.5],
    ['cjs', 'require + createStaticHasher({ css: false }), CommonJS', undefined],
    ['css', 'import + createStaticHasher() (css: true), ESM', undefined],
  ]) {
    report({ name: `${name}, wall, median of ${rounds}`, value: median(times[mode]), floor: median(times.floor), floorName, unit: 'ms', target });
    report({ name: `${name}, wall, best of ${rounds}`, value: best(times[mode]), floor: best(times.floor), floorName, unit: 'ms' });
    report({ name: `${name}, CPU, median of ${rounds}`, value: median(cpuTimes[mode]), floor: median(cpuTimes.floor), floorName, unit: 'ms', target });
  }
} finally {
  removeBenchDir(dir);
}
