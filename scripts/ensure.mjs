// Makes `npm start` and `npm test` work on a fresh clone: installs the npm dependencies when they are
// missing, and (for the tests, as root on Debian) the system packages the browser and Redis tests use.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function onPath(command) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)));
}

/** Runs `npm ci` when node_modules is missing or older than package-lock.json. */
export function ensureNodeModules() {
  const marker = path.join(projectRoot, 'node_modules/.package-lock.json');
  const lock = path.join(projectRoot, 'package-lock.json');
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs - 1000) return;
  console.log('static-hash: installing npm dependencies (npm ci) ...');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: projectRoot, stdio: 'inherit' });
}

// The nginx recipe test (test/recipes/nginx.test.ts) loads this module for brotli_static.
const NGINX_BROTLI_MODULE = '/usr/lib/nginx/modules/ngx_http_brotli_static_module.so';

/** Installs chromium, redis-server and nginx (with its brotli_static module) with apt when missing, if this is a root shell on Debian. */
export function ensureSystemPackages() {
  const missing = [['chromium', 'chromium'], ['redis-server', 'redis-server']].filter(([command]) => !onPath(command)).map(([, pkg]) => pkg);
  if (!onPath('nginx') && !fs.existsSync('/usr/sbin/nginx')) missing.push('nginx-light');
  if (!fs.existsSync(NGINX_BROTLI_MODULE)) missing.push('libnginx-mod-http-brotli-static');
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    console.warn(`static-hash: ${missing.join(', ')} not found; the browser, Redis and nginx tests need them (apt-get install ${missing.join(' ')})`);
    return;
  }
  console.log(`static-hash: installing ${missing.join(' ')} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds dist/ with `npm run build` when it is missing or older than src/ and adapters/ (always, with force). */
export function ensureBuilt({ force = false } = {}) {
  const built = path.join(projectRoot, 'dist/esm/src/index.js');
  const sources = Math.max(...['src', 'adapters', 'bin'].filter((dir) => fs.existsSync(path.join(projectRoot, dir)))
    .map((dir) => newestMtime(path.join(projectRoot, dir))));
  if (!force && fs.existsSync(built) && fs.statSync(built).mtimeMs >= sources) return;
  console.log('static-hash: building dist/ ...');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: projectRoot, stdio: 'inherit' });
}
