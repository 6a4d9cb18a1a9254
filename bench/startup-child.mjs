// One fresh process of `npm run bench startup` (bench/startup.bench.mjs): times, from the first line of
// this module, importing static-hash and creating a hasher (or, for the floor, importing lru-cache and
// loading xxhash-wasm alone), and prints the milliseconds. Node's own boot is outside both figures.
const started = performance.now();
const cpuStarted = process.cpuUsage();
const [mode, root] = process.argv.slice(2);
if (mode === 'floor') {
  await import('lru-cache');
  const { default: xxhash } = await import('xxhash-wasm');
  await xxhash();
} else if (mode === 'cjs') {
  const { createRequire } = await import('node:module');
  const { createStaticHasher } = createRequire(import.meta.url)('../dist/cjs/src/index.js');
  await createStaticHasher({ root, css: false });
} else {
  const { createStaticHasher } = await import('../dist/esm/src/index.js');
  await createStaticHasher({ root, css: mode === 'css' });
}
const cpu = process.cpuUsage(cpuStarted);
// Wall time, then CPU time (user + system) of this process: on a shared machine the second is the steadier.
process.stdout.write(`${(performance.now() - started).toFixed(3)} ${((cpu.user + cpu.system) / 1000).toFixed(3)}\n`);
