/**
 * The nginx recipe of docs/production.md, run as written (only `listen` and `root` are replaced) in
 * a real nginx started by the test on a free 127.0.0.1 port, with a temporary prefix and config,
 * over the output of `static-hash build` (the real CLI): every URL carries exactly its bytes, hashed
 * names and `?v=` URLs are immutable, plain ones revalidate, and the .br/.gz siblings are sent to
 * clients that accept them. nginx comes from Debian's nginx-light and libnginx-mod-http-brotli-static
 * (.ci/run and scripts/ensure.mjs install them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createStaticHasher, type StaticHasher } from '../../src/index';
import { buildSite } from '../helpers/build-site';
import type { Fixture } from '../helpers/fixture';
import { checkServed, get } from '../helpers/served-output';

const PROJECT = path.resolve(__dirname, '../..');
const CLI = path.join(PROJECT, 'dist/cjs/bin/static-hash.js');
const BROTLI_MODULE = '/usr/lib/nginx/modules/ngx_http_brotli_static_module.so';
const IMMUTABLE = 'public, max-age=31536000, immutable';

function findNginx(): string {
  const found = [process.env.NGINX_PATH, '/usr/sbin/nginx', '/usr/bin/nginx'].find((candidate) => candidate && fs.existsSync(candidate));
  if (!found) throw new Error('No nginx found: install Debian\'s "nginx-light" and "libnginx-mod-http-brotli-static" (scripts/ensure.mjs does, as root) or set NGINX_PATH');
  if (!fs.existsSync(BROTLI_MODULE)) throw new Error(`${BROTLI_MODULE} is missing: apt-get install libnginx-mod-http-brotli-static`);
  return found;
}

/** The nginx block of docs/production.md, between its markers. */
function recipe(): string {
  const doc = fs.readFileSync(path.join(PROJECT, 'docs/production.md'), 'utf8');
  const match = /<!-- nginx-recipe -->\n```nginx\n([\s\S]*?)```\n<!-- \/nginx-recipe -->/.exec(doc);
  if (!match) throw new Error('docs/production.md has no nginx recipe between <!-- nginx-recipe --> markers');
  return match[1]!;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Nginx { origin: string; stop(): Promise<void> }

/** Starts nginx in the foreground (no daemon, no master) with the recipe over `www`. */
async function startNginx(www: string): Promise<Nginx> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-nginx-'));
  const port = await freePort();
  const server = recipe().replace(/^\s*#\s*load_module.*\n/m, '').replace('listen 80;', `listen 127.0.0.1:${port};`).replace('root /srv/www;', `root ${www};`);
  if (!server.includes(`127.0.0.1:${port}`) || !server.includes(`root ${www};`)) throw new Error('the recipe no longer has "listen 80;" and "root /srv/www;"');
  const temp = (name: string): string => path.join(prefix, name);
  fs.writeFileSync(temp('nginx.conf'), `daemon off;
master_process off;
worker_processes 1;
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} warn;
load_module ${BROTLI_MODULE};
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path ${temp('body')};
    proxy_temp_path ${temp('proxy')};
    fastcgi_temp_path ${temp('fastcgi')};
    uwsgi_temp_path ${temp('uwsgi')};
    scgi_temp_path ${temp('scgi')};
${server}
}
`);
  const check = spawnSync(findNginx(), ['-t', '-p', prefix, '-c', temp('nginx.conf'), '-e', temp('error.log')], { encoding: 'utf8', timeout: 15_000 });
  if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);
  const child = spawn(findNginx(), ['-p', prefix, '-c', temp('nginx.conf'), '-e', temp('error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const log = (): string => `${output}${fs.existsSync(temp('error.log')) ? fs.readFileSync(temp('error.log'), 'utf8') : ''}`;
  await waitForPort(port, child, log);
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

const fixtures: Fixture[] = [];
const hashers: StaticHasher[] = [];
const running: Nginx[] = [];

beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test builds it)`);
  findNginx();
});

afterEach(async () => {
  for (const nginx of running.splice(0)) await nginx.stop();
  for (const hasher of hashers.splice(0)) await hasher.close();
  for (const fixture of fixtures.splice(0)) fixture.cleanup();
});

describe.each(['filename', 'query'] as const)('the nginx recipe over static-hash build --url-style %s', (style) => {
  it('serves every URL with its exact bytes, immutable; plain names revalidate; .br/.gz to clients that accept them', async () => {
    const fixture = buildSite();
    fixtures.push(fixture);
    const built = spawnSync(process.execPath, [CLI, 'build', '--root', 'public', '--out', 'www/static', '--url-style', style, '--quiet'], {
      cwd: fixture.dir, encoding: 'utf8', timeout: 60_000,
    });
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    const out = fixture.path('www/static');
    const nginx = await startNginx(fixture.path('www'));
    running.push(nginx);

    const manifest = path.join(out, 'static-manifest.json');
    const hasher = await createStaticHasher({ root: out, manifest, urlStyle: style });
    const live = await createStaticHasher({ root: fixture.path('public'), urlStyle: style });
    hashers.push(hasher, live);
    const references = Object.keys(JSON.parse(fs.readFileSync(manifest, 'utf8')).files);
    const checked = await checkServed({
      origin: nginx.origin, hasher, live, style, references,
      readOutput: (relative) => (fs.existsSync(path.join(out, relative)) ? fs.readFileSync(path.join(out, relative)) : undefined),
    });
    expect(checked.urls).toBe(13);

    let immutable = 0;
    let negotiated = 0;
    for (const reference of references) {
      const url = new URL(hasher.url(reference), nginx.origin).href;
      const plain = fs.readFileSync(path.join(out, reference));
      const versioned = await get(url);
      expect(versioned.headers['cache-control']).toBe(IMMUTABLE);
      immutable++;
      const unversioned = await get(new URL(`/static/${reference}`, nginx.origin).href);
      expect(unversioned.headers['cache-control']).toBe('no-cache');
      expect(unversioned.body.equals(plain)).toBe(true);
      for (const [encoding, extension, decompress] of [['br', '.br', zlib.brotliDecompressSync], ['gzip', '.gz', zlib.gunzipSync]] as const) {
        const response = await get(url, { 'accept-encoding': encoding });
        expect(response.status).toBe(200);
        if (fs.existsSync(path.join(out, reference + extension))) {
          expect(response.headers['content-encoding']).toBe(encoding);
          expect(response.headers.vary).toMatch(/Accept-Encoding/i);
          expect(response.headers['cache-control']).toBe(IMMUTABLE);
          expect(decompress(response.body).equals(plain)).toBe(true);
          negotiated++;
        } else {
          expect(response.headers['content-encoding']).toBeUndefined();
          expect(response.body.equals(plain)).toBe(true);
        }
      }
    }
    if (style === 'query') {
      const junk = await get(new URL('/static/js/app.js?v=not-a-hash', nginx.origin).href);
      expect(junk.headers['cache-control']).toBe('no-cache');
    }
    console.log(`nginx recipe, ${style} style: ${checked.urls} URLs checked byte for byte, ${immutable} immutable, ${negotiated} precompressed responses decompressed and compared`);
    expect(negotiated).toBeGreaterThanOrEqual(2 * 7);
  });
});
