// docs/architecture.md stays true: every source file of src/, adapters/, bin/ and scripts/ is named
// in it, and every such file it names exists.
import fs from 'node:fs';
import path from 'node:path';

const repo = path.resolve(__dirname, '..');
const DIRS = ['src', 'adapters', 'bin', 'scripts'];

function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(path.join(repo, dir), { withFileTypes: true })) {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) found.push(...filesUnder(relative));
    else found.push(relative);
  }
  return found;
}

describe('docs/architecture.md', () => {
  const doc = fs.readFileSync(path.join(repo, 'docs/architecture.md'), 'utf8');
  const files = DIRS.flatMap(filesUnder).sort();

  it('names every file of src/, adapters/, bin/ and scripts/ in backticks', () => {
    expect(files.length).toBeGreaterThan(20);
    const missing = files.filter((file) => !doc.includes(`\`${file}\``));
    expect(missing).toEqual([]);
  });

  it('names no file of those folders that does not exist', () => {
    const named = [...doc.matchAll(new RegExp(`\`((?:${DIRS.join('|')})/[\\w./-]+\\.(?:ts|mjs|cjs|js))\``, 'g'))].map((match) => match[1]!);
    expect(named.length).toBeGreaterThanOrEqual(files.length);
    expect(named.filter((file) => !fs.existsSync(path.join(repo, file)))).toEqual([]);
  });
});
