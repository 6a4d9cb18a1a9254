import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { BUILD_RECORD, buildStatic, COMPRESSION_MARGIN, hasZstd, verifyStatic } from '../src/index';
import { buildSite } from './helpers/build-site';
import type { Fixture } from './helpers/fixture';

const fixtures: Fixture[] = [];
function site(): Fixture {
  const fixture = buildSite();
  fixtures.push(fixture);
  return fixture;
}

afterEach(() => {
  for (const fixture of fixtures.splice(0)) fixture.cleanup();
});

describe('buildStatic()', () => {
  it('returns what it wrote, skipped and removed, relative to out', async () => {
    const fixture = site();
    const out = fixture.path('out');
    const first = await buildStatic({ root: fixture.path('public'), out, urlStyle: 'filename' });
    expect(first.files).toBe(11);
    expect(first.skipped).toEqual([]);
    expect(first.removed).toEqual([]);
    expect(first.manifestFile).toBe(path.join(out, 'static-manifest.json'));
    expect(first.manifestWritten).toBe(true);
    const app = `js/app.${first.manifest.files['js/app.js']}.js`;
    expect(first.written).toEqual(expect.arrayContaining(['js/app.js', app, `${app}.br`, `${app}.gz`, 'js/app.js.gz']));
    // Incompressible files get no sibling; every file written is recorded as this tool's own.
    expect(first.written.filter((name) => /\.(png|eot|woff2)\.(br|gz)$/.test(name))).toEqual([]);
    const record = JSON.parse(fs.readFileSync(path.join(out, BUILD_RECORD), 'utf8'));
    expect(Object.keys(record.files).sort()).toEqual([...first.written].sort());

    const second = await buildStatic({ root: fixture.path('public'), out, urlStyle: 'filename' });
    expect(second.written).toEqual([]);
    expect(second.skipped.sort()).toEqual([...first.written].sort());
    expect(second.manifestWritten).toBe(false);
  });

  it('compresses on several threads to the very files one thread writes, declined siblings included', async () => {
    const fixture = site();
    fixture.write('public/tiny.js', 'x'); // declined: compressing it saves nothing
    for (let index = 0; index < 12; index++) fixture.write(`public/js/chunk-${index}.js`, `export const chunk${index} = ${JSON.stringify('text '.repeat(2000 + index * 500))};\n`);
    const outputs: Array<{ files: Array<[string, string]>; declined: unknown }> = [];
    for (const threads of [1, 4]) {
      const out = fixture.path(`out-${threads}`);
      const result = await buildStatic({ root: fixture.path('public'), out, threads, urlStyle: 'filename' });
      const record = JSON.parse(fs.readFileSync(path.join(out, BUILD_RECORD), 'utf8'));
      outputs.push({ files: [...result.written].sort().map((name) => [name, fs.readFileSync(path.join(out, name)).toString('base64')]), declined: record.declined });
    }
    expect(outputs[1]).toEqual(outputs[0]);
    const siblings = outputs[0]!.files.filter(([name]) => /\.(br|gz)$/.test(name));
    expect(siblings.length).toBeGreaterThanOrEqual(2 * 2 * 12); // br and gz, plain and hashed names, per chunk
    expect(Object.keys(outputs[0]!.declined as object)).toEqual(expect.arrayContaining(['tiny.js.br', 'tiny.js.gz']));
  });

  it('writes a sibling only when it saves at least COMPRESSION_MARGIN', async () => {
    const fixture = site();
    fixture.write('public/tiny.js', 'x');
    const out = fixture.path('out');
    const result = await buildStatic({ root: fixture.path('public'), out, manifest: false });
    expect(result.manifestFile).toBeUndefined();
    expect(fs.existsSync(path.join(out, 'static-manifest.json'))).toBe(false);
    expect(result.written).not.toContain('tiny.js.gz');
    let compared = 0;
    for (const name of result.written.filter((file) => /\.(br|gz)$/.test(file))) {
      const sibling = fs.readFileSync(path.join(out, name));
      const plain = fs.readFileSync(path.join(out, name.slice(0, -3)));
      expect(sibling.length).toBeLessThanOrEqual(plain.length * (1 - COMPRESSION_MARGIN));
      expect((name.endsWith('.br') ? zlib.brotliDecompressSync(sibling) : zlib.gunzipSync(sibling)).equals(plain)).toBe(true);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(14);
  });

  it('writes .zst siblings where Node has zstd, and refuses them clearly where it does not', async () => {
    const fixture = site();
    const out = fixture.path('out');
    if (hasZstd()) {
      const result = await buildStatic({ root: fixture.path('public'), out, compress: ['zstd'] });
      const zstd = zlib as unknown as { zstdDecompressSync(input: Buffer): Buffer };
      expect(zstd.zstdDecompressSync(fs.readFileSync(path.join(out, 'js/app.js.zst'))).equals(fs.readFileSync(path.join(out, 'js/app.js')))).toBe(true);
      expect(result.written).toContain('js/app.js.zst');
    } else {
      await expect(buildStatic({ root: fixture.path('public'), out, compress: ['zstd'] })).rejects.toMatchObject({
        code: 'ERR_STATIC_INVALID_OPTION', option: 'compress', message: expect.stringContaining(process.version),
      });
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it.each([
    ['out', { out: '' }],
    ['compress', { out: 'x', compress: ['lz4'] }],
    ['keep', { out: 'x', keep: -1 }],
    ['keepAge', { out: 'x', keepAge: Number.NaN }],
    ['manifest', { out: 'x', manifest: 3 }],
    ['version', { out: 'x', version: '1.0.0' }],
    ['watch', { out: 'x', watch: true }],
  ])('rejects a bad %s with ERR_STATIC_INVALID_OPTION', async (option, options) => {
    const fixture = site();
    await expect(buildStatic({ root: fixture.path('public'), ...(options as object) } as never)).rejects.toMatchObject({ code: 'ERR_STATIC_INVALID_OPTION', option });
  });

  it('refuses a manifest inside a root, before writing anything', async () => {
    const fixture = site();
    await expect(buildStatic({ root: fixture.path('public'), out: fixture.path('out'), manifest: fixture.path('public/static-manifest.json') }))
      .rejects.toMatchObject({ code: 'ERR_STATIC_INVALID_OPTION', option: 'manifest' });
    expect(fs.existsSync(fixture.path('out'))).toBe(false);
    expect(fs.existsSync(fixture.path('public/static-manifest.json'))).toBe(false);
  });

  it('refuses a manifest path that holds another file, and a record that is not its own', async () => {
    const fixture = site();
    fixture.write('notes.json', '{"mine": true}');
    await expect(buildStatic({ root: fixture.path('public'), out: fixture.path('out'), manifest: fixture.path('notes.json') }))
      .rejects.toMatchObject({ code: 'ERR_STATIC_IO', message: expect.stringContaining('not a static-hash manifest') });
    expect(fs.readFileSync(fixture.path('notes.json'), 'utf8')).toBe('{"mine": true}');
    fixture.write(`other/${BUILD_RECORD}`, 'not json');
    await expect(buildStatic({ root: fixture.path('public'), out: fixture.path('other') }))
      .rejects.toMatchObject({ code: 'ERR_STATIC_IO', message: expect.stringContaining('not a static-hash build record') });
  });
});

describe('buildStatic() and what it finds in the output', () => {
  it('never replaces a FIFO, a directory or a symlink where it must write a file, and writes nothing through them', async () => {
    const fixture = site();
    const out = fixture.path('out');
    const root = fixture.path('public');
    await buildStatic({ root, out, compress: false });
    fixture.write('public/js/app.js', 'export const changed = true;\n');
    let refused = 0;
    // A FIFO (opening it for reading would hang a naive tool), a directory, a symlink to a file outside.
    const faults: Array<[string, () => void]> = [
      ['a FIFO', () => execFileSync('mkfifo', [path.join(out, 'js/app.js')])],
      ['a directory', () => fs.mkdirSync(path.join(out, 'js/app.js'))],
      ['a symlink', () => fs.symlinkSync(fixture.write('outside.txt', 'outside'), path.join(out, 'js/app.js'))],
    ];
    for (const [, inject] of faults) {
      fs.rmSync(path.join(out, 'js/app.js'), { recursive: true, force: true });
      inject();
      await expect(buildStatic({ root, out, compress: false })).rejects.toMatchObject({
        code: 'ERR_STATIC_IO', message: expect.stringMatching(/refusing to write .*js\/app\.js: it is (a symlink|not a regular file)/),
      });
      expect(fs.lstatSync(path.join(out, 'js/app.js')).isFile()).toBe(false);
      refused++;
    }
    console.log(`buildStatic() refused to replace ${faults.map(([what]) => what).join(', ')} at an output path (${refused} faults injected)`);
    expect(fs.readFileSync(fixture.path('outside.txt'), 'utf8')).toBe('outside');
    expect(refused).toBe(3);
    // Once the path is free again, the build finishes: the files it wrote before the refusals are still its own.
    fs.rmSync(path.join(out, 'js/app.js'));
    const result = await buildStatic({ root, out, compress: false });
    expect(result.written).toContain('js/app.js');
    expect(fs.readFileSync(path.join(out, 'js/app.js'), 'utf8')).toBe('export const changed = true;\n');
  });
});

describe('verifyStatic()', () => {
  it('finds nothing wrong in a fresh build, then each missing or changed file', async () => {
    const fixture = site();
    const out = fixture.path('out');
    await buildStatic({ root: fixture.path('public'), out });
    const manifest = path.join(out, 'static-manifest.json');
    const clean = await verifyStatic({ manifest, root: out });
    expect(clean.problems).toEqual([]);
    expect(clean.checked).toBeGreaterThanOrEqual(11 + 14);
    fs.writeFileSync(path.join(out, 'img/dot.png'), 'other bytes');
    fs.rmSync(path.join(out, 'css/site.css'));
    const drifted = await verifyStatic({ manifest, root: out });
    expect(drifted.problems).toEqual([{ path: 'css/site.css', problem: 'missing' }, { path: 'img/dot.png', problem: 'changed' }]);
  });
});
