#!/usr/bin/env node
/**
 * The `static-hash` command line: `static-hash manifest` writes a build-time manifest,
 * `static-hash build` writes the exact bytes of every hash into a directory, `static-hash verify`
 * checks such a directory, `static-hash url` prints the URL of references. Exit codes: 0 done, 1 failed (a file missing or
 * unreadable), 2 bad arguments.
 *
 * @example
 * npx static-hash manifest --root public --out static-manifest.json --integrity
 * npx static-hash url js/app.js --root public   # prints /static/js/app.js?v=3f9a1c0b7d2e
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  buildManifest, buildStatic, createStaticHasher, hasZstd, StaticHashError, verifyStatic, writeManifest, type BuildCompression, type RootOption,
  type StaticHasherOptions,
} from '../src/index.js';
import { editDistance } from '../src/internal.js';

const MAIN_HELP = `Usage: static-hash <command> [options]

Cache-busting URLs for static files, computed from their contents.

Commands:
  manifest   hash every file under the roots and write a manifest (JSON) atomically
  build      write the bytes every hash covers (and hashed names, .br/.gz siblings, the manifest) to a directory
  verify     check a built directory against its manifest; exit 1 listing every file that drifted
  url        print the URL of one or more references

Options:
  -h, --help   show this help
  --version    print the version of static-hash

Run "static-hash <command> --help" for a command's options.
`;

const SHAPE_HELP = `  --base-url <url>        prefix of every URL (default "/static/")
  --hash-length <n>       hex characters of the hash in URLs, 4 to 16 (default 12)
  --url-style <style>     "query" (app.js?v=HASH) or "filename" (app.HASH.js) (default "query")
  --param <name>          query parameter of the hash; "" gives app.js?HASH (default "v")
  --no-css                hash stylesheets as plain files (the hasher's css: false); by default their
                          url() and @import references are rewritten and the rewritten text hashed
  --threads <n>           threads that read and hash files, 1 to 256; 1 = this thread only
                          (default: the cores available; below 4096 files, one thread)`;

const MANIFEST_HELP = `Usage: static-hash manifest [--root <dir>]... [--out <file>] [options]

Hashes every file under the roots and writes a JSON manifest (path -> hash, and the options that
shape URLs). createStaticHasher({ manifest: '<file>' }) then serves URLs from it without reading
files. The file is written to a temporary file next to it and renamed into place, so it is always
either the previous complete manifest or the new one.

Options:
  --root <dir>            a directory of static files; repeat for several; "<prefix>=<dir>"
                          mounts one under a prefix, e.g. --root vendor/=node_modules/x/dist
                          (default "public")
  -o, --out <file>        where to write the manifest (default "static-manifest.json")
  --integrity             also record sha384 subresource integrity values
${SHAPE_HELP}
  -q, --quiet             print nothing but errors (the progress bar shows only on a terminal)
  -h, --help              show this help
`;

const URL_HELP = `Usage: static-hash url <reference>... [--root <dir>]... [options]

Prints the URL of each reference, one per line, as createStaticHasher() with the same options
would. A reference to a missing file is an error (exit 1).

Options:
  --root <dir>            as for "static-hash manifest" (default "public")
${SHAPE_HELP}
  --manifest <file>       take hashes from this manifest instead of the files
  --version <version>     one release version (or "git": the current commit) instead of hashes
  -h, --help              show this help
`;

/** A mistake in the command line: reported with a pointer to --help, exit code 2. */
class UsageError extends Error {
  /** True for an unknown flag: the message is the whole report, on one line. */
  oneLine = false;
}

/** The flag of `options` closest to `typed` ('--otu' -> '--out'), or undefined when none is close. */
function closestFlag(typed: string, flags: readonly string[]): string | undefined {
  // A one-letter flag is one letter from every other: no guess for -x.
  if (/^-[^-]$/.test(typed)) return undefined;
  let best: string | undefined;
  let distance = Infinity;
  for (const flag of flags) {
    const d = editDistance(typed, flag);
    if (d < distance) [best, distance] = [flag, d];
  }
  return best !== undefined && distance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function unknownFlag(where: string, typed: string, flags: readonly string[]): UsageError {
  const closest = closestFlag(typed, flags);
  const error = new UsageError(`${where}: unknown option "${typed}"${closest === undefined ? '' : `; did you mean "${closest}"?`} (see "${where} --help")`);
  error.oneLine = true;
  return error;
}

/** Every flag a parseArgs option table accepts: --long and -s. */
function flagsOf(options: NonNullable<ParseArgsConfig['options']>): string[] {
  return Object.entries(options).flatMap(([name, option]) => [`--${name}`, ...(option.short === undefined ? [] : [`-${option.short}`])]);
}

/** The name of the command being parsed, for messages ("static-hash build"). */
let commandName = 'static-hash';

const SHAPE_OPTIONS = {
  root: { type: 'string', multiple: true },
  'base-url': { type: 'string' },
  'hash-length': { type: 'string' },
  'url-style': { type: 'string' },
  param: { type: 'string' },
  'no-css': { type: 'boolean' },
  threads: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

type ShapeValues = { [K in keyof typeof SHAPE_OPTIONS]?: (typeof SHAPE_OPTIONS)[K] extends { multiple: true } ? string[] : (typeof SHAPE_OPTIONS)[K] extends { type: 'boolean' } ? boolean : string };

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util reports unknown flags and missing values with ERR_PARSE_ARGS_* codes.
    if ((error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const typed = /'([^']+)'/.exec((error as Error).message)?.[1];
      if (typed !== undefined) throw unknownFlag(commandName, typed.split('=')[0]!, flagsOf(options));
    }
    throw new UsageError((error as Error).message);
  }
}

function hasherOptions(values: ShapeValues): StaticHasherOptions {
  const options: StaticHasherOptions = {};
  const roots: RootOption[] = (values.root ?? []).map((value) => {
    if (value === '') throw new UsageError('--root needs a directory');
    const equals = value.indexOf('=');
    return equals === -1 ? { dir: value } : { prefix: value.slice(0, equals), dir: value.slice(equals + 1) };
  });
  if (roots.length === 1 && roots[0]!.prefix === undefined) options.root = roots[0]!.dir;
  else if (roots.length > 0) options.roots = roots;
  if (values['base-url'] !== undefined) options.baseUrl = values['base-url'];
  if (values['hash-length'] !== undefined) {
    const text = values['hash-length'];
    if (!/^\d+$/.test(text) || Number(text) < 4 || Number(text) > 16) throw new UsageError(`--hash-length must be an integer from 4 to 16; got "${text}"`);
    options.hashLength = Number(text);
  }
  if (values['url-style'] !== undefined) {
    const style = values['url-style'];
    if (style !== 'query' && style !== 'filename') throw new UsageError(`--url-style must be "query" or "filename"; got "${style}"`);
    options.urlStyle = style;
  }
  if (values.param !== undefined) options.param = values.param;
  if (values['no-css'] === true) options.css = false;
  if (values.threads !== undefined) {
    const text = values.threads;
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 256) throw new UsageError(`--threads must be an integer from 1 to 256; got "${text}"`);
    options.threads = Number(text);
  }
  return options;
}

interface Output {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** A one-line progress bar redrawn in place, at most every 100 ms. */
function progressBar(stream: NodeJS.WriteStream): { update(done: number, total: number): void; end(): void } {
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (done !== total && now - last < 100) return;
      last = now;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} files`);
      drawn = true;
    },
    end() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}

async function runManifest(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(args, {
    ...SHAPE_OPTIONS,
    out: { type: 'string', short: 'o' },
    integrity: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (values.help) {
    io.stdout.write(MANIFEST_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (roots are given with --root)`);
  const out = values.out ?? 'static-manifest.json';
  if (out === '') throw new UsageError('--out needs a file name');
  const quiet = values.quiet === true;
  const bar = !quiet && io.stderr.isTTY ? progressBar(io.stderr) : undefined;
  const started = process.hrtime.bigint();
  let result;
  try {
    result = await buildManifest({
      ...hasherOptions(values),
      integrity: values.integrity === true,
      ...(bar ? { onProgress: bar.update } : {}),
    });
  } finally {
    bar?.end();
  }
  writeManifest(out, result.manifest);
  if (!quiet) {
    for (const file of result.skipped) io.stderr.write(`static-hash: skipped ${file}: no reference can name it\n`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const integrity = values.integrity ? ' with integrity' : '';
    io.stdout.write(`static-hash: wrote ${path.resolve(out)}: ${result.files} files${integrity} in ${seconds.toFixed(2)} s\n`);
  }
  return 0;
}

async function runUrl(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(args, {
    ...SHAPE_OPTIONS,
    manifest: { type: 'string' },
    version: { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(URL_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('expected at least one reference, e.g. "static-hash url js/app.js"');
  const hasher = await createStaticHasher({
    ...hasherOptions(values),
    ...(values.manifest !== undefined ? { manifest: values.manifest } : {}),
    ...(values.version !== undefined ? { version: values.version } : {}),
    onMissing: 'throw',
  });
  try {
    for (const reference of positionals) io.stdout.write(`${hasher.url(reference)}\n`);
  } finally {
    await hasher.close();
  }
  return 0;
}

const BUILD_HELP = `Usage: static-hash build [--root <dir>]... --out <dir> [options]

Writes, for every file under the roots, the exact bytes its hash covers into the output directory:
stylesheets with their url()/@import references rewritten, other files copied, under their plain
names; with --url-style filename also under their hashed names (app.3f9a1c0b7d2e.js), the ones
pages link to. Writes precompressed .br/.gz siblings of compressible files and the manifest.
Each file is written to a temporary name and renamed into place; a file that already has the
right bytes is left alone, so a rerun on an unchanged tree writes nothing.

It replaces or removes only files it wrote itself (recorded in <out>/.static-hash-build.json).
Files of earlier builds stay for rolling deploys: those of the previous --keep builds, and any
written in the last --keep-age seconds; older ones it wrote are removed.

Options:
  --root <dir>            as for "static-hash manifest" (default "public")
  -o, --out <dir>         the output directory (required); must not overlap a root
  --manifest <file>       where to write the manifest (default "<out>/static-manifest.json")
  --integrity             also record sha384 subresource integrity values in the manifest
${SHAPE_HELP}
  --compress <list>       precompressed siblings: br, gz${hasZstd() ? ', zstd' : ' (zstd needs a Node whose zlib has it)'} (default "br,gz");
                          each written only when at least 5% smaller than the file
  --no-compress           write no compressed siblings
  --keep <n>              keep the files of the previous n builds (default 2)
  --keep-age <seconds>    keep any file written this recently (default 3600)
  -q, --quiet             print nothing but errors (the progress bar shows only on a terminal)
  -h, --help              show this help
`;

const VERIFY_HELP = `Usage: static-hash verify --manifest <file> --root <dir>

Checks a built directory against its manifest: every file the manifest names must be there with
the bytes its hash names (its hashed name too, with --url-style filename), and every .br/.gz/.zst
sibling must decompress to its file. Lists each file that is missing or changed and exits 1 if any.

Options:
  --manifest <file>       the manifest (default "<root>/static-manifest.json")
  --root <dir>            the built directory (required)
  -q, --quiet             print only the problems
  -h, --help              show this help
`;

function nonNegativeInteger(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} must be an integer of 0 or more; got "${text}"`);
  return Number(text);
}

async function runBuild(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(args, {
    ...SHAPE_OPTIONS,
    out: { type: 'string', short: 'o' },
    manifest: { type: 'string' },
    integrity: { type: 'boolean' },
    compress: { type: 'string' },
    'no-compress': { type: 'boolean' },
    keep: { type: 'string' },
    'keep-age': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (values.help) {
    io.stdout.write(BUILD_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (roots are given with --root)`);
  if (values.out === undefined || values.out === '') throw new UsageError('--out <dir> is required: where to write the built files');
  if (values.manifest === '') throw new UsageError('--manifest needs a file name');
  if (values.compress !== undefined && values['no-compress']) throw new UsageError('--compress and --no-compress contradict each other');
  let compress: BuildCompression[] | false = ['br', 'gz'];
  if (values['no-compress']) compress = false;
  else if (values.compress !== undefined) {
    const names = values.compress.split(',').map((name) => name.trim()).filter((name) => name !== '');
    for (const name of names) {
      if (name !== 'br' && name !== 'gz' && name !== 'zstd') throw new UsageError(`--compress takes a list of br, gz, zstd; got "${name}"`);
      if (name === 'zstd' && !hasZstd()) throw new UsageError(`--compress zstd needs a Node whose zlib has zstd; this is ${process.version}`);
    }
    compress = names.length === 0 ? false : (names as BuildCompression[]);
  }
  const quiet = values.quiet === true;
  const bar = !quiet && io.stderr.isTTY ? progressBar(io.stderr) : undefined;
  const started = process.hrtime.bigint();
  let result;
  try {
    result = await buildStatic({
      ...(hasherOptions(values) as Omit<StaticHasherOptions, 'manifest' | 'version' | 'watch' | 'onMissing'>),
      out: values.out,
      ...(values.manifest !== undefined ? { manifest: values.manifest } : {}),
      integrity: values.integrity === true,
      compress,
      ...(values.keep !== undefined ? { keep: nonNegativeInteger('--keep', values.keep) } : {}),
      ...(values['keep-age'] !== undefined ? { keepAge: nonNegativeInteger('--keep-age', values['keep-age']) * 1000 } : {}),
      ...(bar ? { onProgress: bar.update } : {}),
    });
  } finally {
    bar?.end();
  }
  if (!quiet) {
    for (const file of result.unnamed) io.stderr.write(`static-hash: skipped ${file}: no reference can name it\n`);
    for (const file of result.conflicts) io.stderr.write(`static-hash: did not write ${file}: a source file has that name\n`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const manifest = result.manifestFile === undefined ? '' : `; manifest ${result.manifestFile}${result.manifestWritten ? '' : ' (unchanged)'}`;
    io.stdout.write(`static-hash: built ${result.files} files into ${path.resolve(values.out)}: ${result.written.length} written, `
      + `${result.skipped.length} unchanged, ${result.removed.length} removed${manifest} in ${seconds.toFixed(2)} s\n`);
  }
  return 0;
}

async function runVerify(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(args, {
    manifest: { type: 'string' },
    root: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(VERIFY_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.root === undefined || values.root === '') throw new UsageError('--root <dir> is required: the built directory to check');
  const manifest = values.manifest ?? path.join(values.root, 'static-manifest.json');
  const result = await verifyStatic({ manifest, root: values.root });
  for (const problem of result.problems) io.stdout.write(`${problem.problem}: ${problem.path}\n`);
  if (result.problems.length > 0) {
    io.stderr.write(`static-hash verify: ${result.problems.length} of ${result.checked} files do not match ${path.resolve(manifest)}\n`);
    return 1;
  }
  if (values.quiet !== true) io.stdout.write(`static-hash verify: ${result.checked} files match ${path.resolve(manifest)}\n`);
  return 0;
}

// Errors that come from what was typed: a bad option value, a reference that is not a safe path.
const USAGE_CODES = new Set(['ERR_STATIC_INVALID_OPTION', 'ERR_STATIC_INVALID_REFERENCE', 'ERR_STATIC_UNSAFE_PATH']);

/**
 * This package's version, from the package.json above the running script (dist/cjs/bin/ in the
 * package; npm's bin link resolved), so it is the version installed, whichever copy runs.
 */
function ownVersion(): string {
  let dir = path.dirname(fs.realpathSync(process.argv[1]!));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const manifest = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'static-hash' && typeof manifest.version === 'string') return manifest.version;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the package.json of static-hash');
    dir = parent;
  }
}

async function main(argv: string[], io: Output): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      io.stderr.write(MAIN_HELP);
      return 2;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(MAIN_HELP);
      return 0;
    }
    if (command === '--version') {
      io.stdout.write(`${ownVersion()}\n`);
      return 0;
    }
    if (command.startsWith('-')) throw unknownFlag('static-hash', command.split('=')[0]!, ['--help', '-h', '--version']);
    commandName = `static-hash ${command}`;
    if (command === 'manifest') return await runManifest(rest, io);
    if (command === 'url') return await runUrl(rest, io);
    if (command === 'build') return await runBuild(rest, io);
    if (command === 'verify') return await runVerify(rest, io);
    throw new UsageError(`unknown command "${command}" (expected "manifest", "build", "verify" or "url")`);
  } catch (error) {
    const where = command === 'manifest' || command === 'url' || command === 'build' || command === 'verify' ? `static-hash ${command}` : 'static-hash';
    // Library messages start with their own "static-hash: " or "static: ": say it once.
    const message = (error instanceof Error ? error.message : String(error)).replace(/^static(?:-hash)?: /, '');
    if (error instanceof UsageError && error.oneLine) {
      io.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError || (error instanceof StaticHashError && USAGE_CODES.has(error.code))) {
      io.stderr.write(`${where}: ${message}\nRun "${where} --help" for usage.\n`);
      return 2;
    }
    io.stderr.write(`${where}: ${message}\n`);
    return 1;
  }
}

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then((code) => {
  process.exitCode = code;
});
