// Child process for test/read-file.test.ts: builds its own tree under the directory it is given,
// injects one fault (a FIFO, a Unix socket, a directory, a symlink out of the root, or an unreadable
// file) where a file was, and asks every reader of the built package about it. Prints one JSON line:
// { uid, sanity, outcomes: { reader: code-or-'ok' } }. Run as a child so a reader that blocks (a
// FIFO opened without O_NONBLOCK) cannot hang the test runner, and so "unreadable" can run as an
// unprivileged user (root reads any file).
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const [distIndex, base, fault] = process.argv.slice(2);
const { createStaticHasher, buildManifest } = require(distIndex);

const quietLogger = { warn() {} };
let serial = 0;

/** A fresh tree: the targets x.js and x.css, an image the stylesheet references, and fillers sorted first. */
function makeTree(fillers = 0) {
  const dir = path.join(base, `tree-${fault}-${serial++}`);
  const root = path.join(dir, 'root');
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'outside the root');
  fs.writeFileSync(path.join(root, 'i.png'), 'png');
  fs.writeFileSync(path.join(root, 'x.js'), 'console.log(1)');
  fs.writeFileSync(path.join(root, 'x.css'), 'a { background: url(i.png) }');
  fs.writeFileSync(path.join(root, 'main.css'), '@import "x.css";');
  fs.mkdirSync(path.join(root, '0'));
  for (let i = 0; i < fillers; i++) fs.writeFileSync(path.join(root, '0', `${String(i).padStart(4, '0')}.txt`), `filler ${i}`);
  return { dir, root };
}

const sockets = [];

/** Prepares the fault beside the tree (so swapping it in is one synchronous step), returns the swap. */
async function prepare(tree, name) {
  const target = path.join(tree.root, name);
  const side = path.join(tree.dir, `side-${name}`);
  switch (fault) {
    case 'fifo':
      require('node:child_process').execFileSync('mkfifo', [side]);
      return () => { fs.rmSync(target); fs.renameSync(side, target); };
    case 'socket': {
      const server = net.createServer();
      sockets.push(server);
      await new Promise((resolve, reject) => server.once('error', reject).listen(side, resolve));
      return () => { fs.rmSync(target); fs.renameSync(side, target); };
    }
    case 'directory':
      fs.mkdirSync(side);
      fs.writeFileSync(path.join(side, 'inner.txt'), 'inner');
      return () => { fs.rmSync(target); fs.renameSync(side, target); };
    case 'symlink':
      fs.symlinkSync(path.join(tree.dir, 'secret.txt'), side);
      return () => fs.renameSync(side, target); // atomic: the name is a file, then a symlink
    case 'unreadable':
      return () => fs.chmodSync(target, 0o000);
    default:
      throw new Error(`unknown fault ${fault}`);
  }
}

function codeOf(error) {
  return error && error.name === 'StaticHashError' ? error.code : `not a StaticHashError: ${error && error.stack}`;
}

async function outcome(action) {
  try {
    const value = await action();
    return value === undefined ? 'undefined' : 'ok';
  } catch (error) {
    return codeOf(error);
  }
}

async function main() {
  const outcomes = {};
  // The lookups: a file is looked up once (cached), swapped for the fault, the generation moved, and
  // looked up again through each reader.
  const lookups = {
    hash: (h) => h.hash('x.js'),
    read: (h) => h.read('x.js'),
    integrity: (h) => h.integrity('x.js'),
    'stylesheet hash': (h) => h.hash('x.css'),
    'stylesheet read': (h) => h.read('x.css'),
    'stylesheet integrity': (h) => h.integrity('x.css'),
  };
  for (const [reader, lookup] of Object.entries(lookups)) {
    const tree = makeTree();
    const name = reader.startsWith('stylesheet') ? 'x.css' : 'x.js';
    const swap = await prepare(tree, name);
    const hasher = await createStaticHasher({ root: tree.root, logger: quietLogger, onMissing: 'throw' });
    await outcome(() => lookup(hasher));
    swap();
    hasher.invalidate();
    outcomes[reader] = await outcome(() => lookup(hasher));
    await hasher.close();
  }

  // A stylesheet importing the faulty one: hashed, the import left as written, with a warning.
  {
    const tree = makeTree();
    const swap = await prepare(tree, 'x.css');
    swap();
    const warnings = [];
    const hasher = await createStaticHasher({ root: tree.root, logger: { warn: (m) => warnings.push(m) } });
    const result = await outcome(() => hasher.hash('main.css'));
    outcomes['stylesheet import'] = result === 'ok' && warnings.some((m) => m.includes('"x.css"')) ? 'ok, warned' : `${result}, warnings ${JSON.stringify(warnings)}`;
    await hasher.close();
  }

  // warm(): the walk lists the files, then reads them by the path it walked (no second resolution).
  // It yields after 256 files; the faults are swapped in then, after the listing, before the reads.
  {
    const tree = makeTree(300);
    const swaps = [await prepare(tree, 'x.js'), await prepare(tree, 'x.css')];
    const hasher = await createStaticHasher({ root: tree.root, logger: quietLogger, onMissing: 'throw' });
    const warming = hasher.warm();
    for (const swap of swaps) swap();
    let result;
    try {
      result = await warming;
    } catch (error) {
      result = codeOf(error);
    }
    // Whatever warm() made of them, nothing it cached may stand: the lookups see the fault.
    const after = [await outcome(() => hasher.hash('x.js')), await outcome(() => hasher.hash('x.css'))];
    outcomes.warm = typeof result === 'string' ? result : `files ${result.files}; then ${after.join(', ')}`;
    await hasher.close();
  }

  // The manifest build (with integrity: the path that reads each file once for both digests, and
  // without). onProgress runs between files: the faults are swapped in after the first file.
  for (const integrity of [true, false]) {
    const tree = makeTree();
    const swaps = [await prepare(tree, 'x.js'), await prepare(tree, 'x.css')];
    let swapped = false;
    try {
      const built = await buildManifest({
        root: tree.root, integrity, logger: quietLogger,
        onProgress: () => { if (!swapped) { swapped = true; for (const swap of swaps) swap(); } },
      });
      const listed = Object.keys(built.manifest.files).sort().join(' ');
      const skipped = built.skipped.map((file) => path.relative(tree.root, file)).sort().join(' ');
      outcomes[`manifest build${integrity ? ' --integrity' : ''}`] = `files: ${listed}; skipped: ${skipped}`;
    } catch (error) {
      outcomes[`manifest build${integrity ? ' --integrity' : ''}`] = codeOf(error);
    }
  }

  // For "unreadable": proof the fault is real for this process (not root, and the read refused).
  let sanity = 'n/a';
  if (fault === 'unreadable') {
    const tree = makeTree();
    const file = path.join(tree.root, 'x.js');
    fs.chmodSync(file, 0o000);
    try {
      fs.readFileSync(file);
      sanity = 'readable';
    } catch (error) {
      sanity = error.code;
    }
  }
  for (const server of sockets) server.close();
  process.stdout.write(`${JSON.stringify({ uid: process.getuid(), sanity, outcomes })}\n`);
}

main().catch((error) => {
  process.stdout.write(`${JSON.stringify({ crashed: String(error && error.stack) })}\n`);
  process.exitCode = 1;
});
