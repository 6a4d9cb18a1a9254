// A Jest reporter that keeps a leaked handle from hanging the run. With 2 cores Jest runs the test
// files in its own process, one after another (maxWorkers 1 means in band): a server, child process,
// worker or timer that one test leaves behind keeps that process alive after the last test, and it
// never exits (a CI run was cut off after 5,400 s that way, every test passed). Once the run is complete this reporter waits
// GRACE_MS for the process to exit on its own; if it has not, it names what is still holding it (kind,
// and what each one is: a server's address, a child's command, a timer's callback), then ends the
// process with the run's own result. scripts/test.mjs prints "jest: open handles ..." when it did.
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
      const handles = process._getActiveHandles().map(describe).filter((text) => text !== null && text !== 'ExitWatch');
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
