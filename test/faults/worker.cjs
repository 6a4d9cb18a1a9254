// One application process of the fault-injection suite (test/faults/redis.test.ts). Loads the BUILT
// package (dist/cjs), shares its generation through Redis, and runs two loops until told to stop:
// - an editor: now and then it rewrites one of the files (atomically) and calls invalidate(), as a
//   deploy hook or a CMS upload would;
// - a checker: whenever the hasher says it caches (bypass false), it compares the version in the
//   URL with the xxHash64 of the file's current bytes, computed here independently of the package.
//   A mismatch that lasts longer than resyncIntervalMs is a violation of the store's promise.
// argv: root, redis URL, key, resyncIntervalMs, files (comma-separated), 'hold' to wait for a 'go'
// message before touching Redis (so the test decides when a newcomer reads the key).
// Messages: 'go', 'pause' / 'resume' (the editor), 'edit' (one edit now), 'state' (answers { state }),
// 'stop' (answers { report }).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { createClient } = require('redis');
const xxhash = require('xxhash-wasm');
const { createStaticHasher } = require('../../dist/cjs/src/index.js');
const { redisGenerationStore } = require('../../dist/cjs/adapters/redis.js');

const [root, url, key, resync, fileList, hold] = process.argv.slice(2);
const resyncIntervalMs = Number(resync);
const files = fileList.split(',');
const quiet = { warn() {}, info() {}, error() {} };

let onGo;
const go = new Promise((resolve) => { onGo = resolve; });
const early = (message) => { if (message.op === 'go') onGo(message); };
process.on('message', early);

async function main() {
  const { h64Raw } = await xxhash();
  let start = {};
  if (hold === 'hold') {
    process.send({ holding: true });
    start = await go;
  }
  process.off('message', early);
  const client = createClient({ url, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {});
  client.connect().catch(() => {}); // Redis may be down right now: the store starts out of touch
  const store = redisGenerationStore({ client, key, resyncIntervalMs, logger: quiet });
  const hasher = await createStaticHasher({ root, generation: store, logger: quiet, css: false });

  const report = { pid: process.pid, checks: 0, cachedChecks: 0, edits: 0, violations: 0, longestMs: 0, episodes: 0 };
  // Per file: when the current mismatch started (undefined: none), and whether it was counted.
  const episodes = new Map(files.map((file) => [file, { since: undefined, counted: false }]));
  let running = true;
  let editing = true;

  const expected = (file) => {
    try {
      return h64Raw(fs.readFileSync(path.join(root, file))).toString(16).padStart(16, '0').slice(0, 12);
    } catch {
      return undefined; // mid-rename on another worker: not comparable now
    }
  };

  const check = () => {
    for (const file of files) {
      report.checks++;
      const episode = episodes.get(file);
      if (hasher.bypass) {
        episode.since = undefined; // nothing cached: every lookup is fresh, no mismatch can last
        continue;
      }
      const before = expected(file);
      const got = /[?&]v=([0-9a-f]+)/.exec(hasher.url(file))?.[1];
      const after = expected(file);
      if (before === undefined || before !== after || hasher.bypass) continue; // file changed under us
      report.cachedChecks++;
      const now = performance.now();
      if (got === before) {
        if (episode.since !== undefined) report.longestMs = Math.max(report.longestMs, now - episode.since);
        episode.since = undefined;
        episode.counted = false;
        continue;
      }
      if (episode.since === undefined) {
        episode.since = now;
        episode.counted = false;
        report.episodes++;
      } else if (!episode.counted && now - episode.since > resyncIntervalMs) {
        episode.counted = true;
        report.violations++;
        process.stderr.write(`faults worker ${process.pid}: ${file} stale for ${(now - episode.since).toFixed(0)} ms at generation ${hasher.generation}\n`);
      }
    }
    if (running) setTimeout(check, 2);
  };

  const editOnce = () => {
    const file = files[Math.floor(Math.random() * files.length)];
    const target = path.join(root, file);
    const temp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `/* ${process.pid} ${report.edits} ${Math.random()} */\n`);
    fs.renameSync(temp, target);
    hasher.invalidate();
    report.edits++;
  };
  const edit = () => {
    if (!running) return;
    if (editing) editOnce();
    setTimeout(edit, 100 + Math.random() * 400);
  };

  process.on('message', async (message) => {
    if (message.op === 'state') {
      process.send({ state: { generation: hasher.generation, bypass: hasher.bypass, urls: files.map((file) => hasher.url(file)) } });
      return;
    }
    if (message.op === 'pause') editing = false;
    if (message.op === 'resume') editing = true;
    if (message.op === 'edit') editOnce();
    if (message.op === 'pause' || message.op === 'resume' || message.op === 'edit') {
      process.send({ done: message.op });
      return;
    }
    if (message.op !== 'stop') return;
    running = false;
    for (const episode of episodes.values()) {
      if (episode.since !== undefined) report.longestMs = Math.max(report.longestMs, performance.now() - episode.since);
    }
    process.send({ report: { ...report, generation: hasher.generation } });
    await hasher.close();
    await store.close();
    client.destroy();
    setImmediate(() => process.disconnect());
  });
  // A newcomer told to edit at once: the first thing it does after reading the key is invalidate.
  if (start.edit) editOnce();
  editing = !start.paused;
  check();
  setTimeout(edit, Math.random() * 200);
  process.send({ ready: true });
}

process.on('disconnect', () => process.exit(0));
main().catch((error) => {
  process.send?.({ failed: String(error && error.stack || error) });
  process.exit(1);
});
