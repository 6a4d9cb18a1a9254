// A Jest reporter that keeps a leaked handle from hanging the run. With 2 cores Jest runs the test
// files in its own process, one after another (maxWorkers 1 means in band): a server, child
// process, worker or timer that one test leaves behind keeps that process alive after the last
// test, and it never exits (a CI run was cut off after 5,400 s that way, with every test passed).
// Once the run is complete this reporter waits GRACE_MS for the process to exit on its own. If it
// has not, it names what still holds it (a server's address, a child's command, a worker thread),
// kills any child process among them, and ends the process with the run's own result: every
// test's verdict stands. scripts/test.mjs prints the report after the "jest: N passed" line.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const GRACE_MS = 10_000;

function describe(handle) {
  const kind = handle?.constructor?.name ?? typeof handle;
  try {
    if (kind === 'ChildProcess') return `ChildProcess pid ${handle.pid}: ${(handle.spawnargs ?? []).join(' ').slice(0, 200)}`;
    if (kind === 'Server') return `Server ${JSON.stringify(handle.address())}`;
    if (kind === 'Socket') {
      if (handle.remotePort !== undefined) return `Socket ${handle.localAddress}:${handle.localPort} -> ${handle.remoteAddress}:${handle.remotePort}`;
      if (handle === process.stdin || handle === process.stdout || handle === process.stderr) return null;
      return `Socket (pipe) fd ${handle._handle?.fd}`;
    }
    if (kind === 'Timeout') return `Timeout ${handle._idleTimeout} ms: ${String(handle._onTimeout).replace(/\s+/g, ' ').slice(0, 200)}`;
    if (kind === 'Worker') return `Worker thread ${handle.threadId}`;
    if (kind === 'FSWatcher' || kind === 'StatWatcher') return kind;
  } catch (error) {
    return `${kind} (${error.message})`;
  }
  return kind;
}

class ExitWatch {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(_contexts, results) {
    if (process.env.STATIC_HASH_HANDLES_EARLY === '1') {
      setTimeout(() => process.stderr.write(`\njest: at 1 s: ${process._getActiveHandles().map(describe).filter(Boolean).join(' | ')} (${process.getActiveResourcesInfo().join(', ')})\n`), 1000).unref();
    }
    const timer = setTimeout(() => {
      const active = process._getActiveHandles();
      const handles = active.map(describe).filter((text) => text !== null);
      // A child left running (a redis-server, nginx, a browser) would outlive this process and
      // could hold CI's output pipe open: each is killed, and named above.
      for (const handle of active) {
        if (handle?.constructor?.name === 'ChildProcess' && handle.exitCode === null) handle.kill('SIGKILL');
      }
      const resources = process.getActiveResourcesInfo();
      const report = [
        `jest: open handles: the run was complete ${GRACE_MS / 1000} s ago and Jest had not exited; what still held it:`,
        ...handles.map((text) => `  ${text}`),
        `  (resources: ${resources.join(', ')})`,
      ].join('\n');
      process.stderr.write(`\n${report}\n`);
      try {
        const file = path.join(this.globalConfig.rootDir, 'test-output/open-handles.txt');
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, `${report}\n`);
      } catch {
        // the report is on stderr already
      }
      process.exit(results.success ? 0 : 1);
    }, GRACE_MS);
    timer.unref();
  }
}

module.exports = ExitWatch;
