// `npm run bench [filter]`: runs every bench/*.bench.mjs (or those whose name contains the filter)
// one after another, each in its own process so one benchmark's heap never skews the next.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(here).filter((name) => name.endsWith('.bench.mjs') && name.includes(filter)).sort();
if (files.length === 0) {
  console.error(`no benchmark matches "${filter}"`);
  process.exit(2);
}
for (const file of files) {
  console.log(`\n## ${file}`);
  execFileSync(process.execPath, ['--expose-gc', join(here, file)], { stdio: 'inherit' });
}
