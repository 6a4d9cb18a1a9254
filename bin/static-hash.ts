#!/usr/bin/env node
/**
 * The `static-hash` command line: `static-hash manifest` writes a build-time manifest,
 * `static-hash url` prints the URL of references. Exit codes: 0 done, 1 failed (a file missing or
 * unreadable), 2 bad arguments.
 *
 * @example
 * npx static-hash manifest --root public --out static-manifest.json --integrity
 * npx static-hash url js/app.js --root public   # prints /static/js/app.js?v=3f9a1c0b7d2e
 */
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { buildManifest, createStaticHasher, StaticHashError, writeManifest, type RootOption, type StaticHasherOptions } from '../src/index.js';

const MAIN_HELP = `Usage: static-hash <command> [options]

Cache-busting URLs for static files, computed from their contents.

Commands:
  manifest   hash every file under the roots and write a manifest (JSON) atomically
  url        print the URL of one or more references

Run "static-hash <command> --help" for a command's options.
`;

const SHAPE_HELP = `  --base-url <url>        prefix of every URL (default "/static/")
  --hash-length <n>       hex characters of the hash in URLs, 4 to 16 (default 12)
  --url-style <style>     "query" (app.js?v=HASH) or "filename" (app.HASH.js) (default "query")
  --param <name>          query parameter of the hash; "" gives app.js?HASH (default "v")
  --no-css                hash stylesheets as plain files (the hasher's css: false); by default their
                          url() and @import references are rewritten and the rewritten text hashed`;

const MANIFEST_HELP = `Usage: static-hash manifest [--root <dir>]... [--out <file>] [options]

Hashes every file under the roots and writes a JSON manifest (path -> hash, and the options that
shape URLs). createStaticHasher({ manifest: '<file>' }) then serves URLs from it without reading
files. The file is written to a temporary file next to it and renamed into place, so it is always
either the previous complete manifest or the new one.

Options:
  --root <dir>            a directory of static files; repeat for several; "<prefix>=<dir>"
                          mounts one under a prefix, e.g. --root vendor/=node_modules/x/dist
                          (default "public")
  --out <file>            where to write the manifest (default "static-manifest.json")
  --integrity             also record sha384 subresource integrity values
${SHAPE_HELP}
  --quiet                 print nothing but errors (the progress bar shows only on a terminal)
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
class UsageError extends Error {}

const SHAPE_OPTIONS = {
  root: { type: 'string', multiple: true },
  'base-url': { type: 'string' },
  'hash-length': { type: 'string' },
  'url-style': { type: 'string' },
  param: { type: 'string' },
  'no-css': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

type ShapeValues = { [K in keyof typeof SHAPE_OPTIONS]?: (typeof SHAPE_OPTIONS)[K] extends { multiple: true } ? string[] : (typeof SHAPE_OPTIONS)[K] extends { type: 'boolean' } ? boolean : string };

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util reports unknown flags and missing values with ERR_PARSE_ARGS_* codes.
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

// Errors that come from what was typed: a bad option value, a reference that is not a safe path.
const USAGE_CODES = new Set(['ERR_STATIC_INVALID_OPTION', 'ERR_STATIC_INVALID_REFERENCE', 'ERR_STATIC_UNSAFE_PATH']);

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
    if (command === 'manifest') return await runManifest(rest, io);
    if (command === 'url') return await runUrl(rest, io);
    throw new UsageError(`unknown command "${command}" (expected "manifest" or "url")`);
  } catch (error) {
    const where = command === 'manifest' || command === 'url' ? `static-hash ${command}` : 'static-hash';
    // Library messages start with their own "static-hash: ": say it once.
    const message = (error instanceof Error ? error.message : String(error)).replace(/^static-hash: /, '');
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
