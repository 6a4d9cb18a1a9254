// Shared test scaffolding: real directories under os.tmpdir(), removed after each suite, and a logger
// that records what the hasher warns about.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A temporary directory tree; `cleanup()` removes it (tests call it in afterEach/afterAll). */
export interface Fixture {
  /** Absolute path of the directory. */
  dir: string;
  /** Writes a file (creating parent directories) and returns its absolute path. */
  write(relative: string, content: string | Uint8Array): string;
  /** Absolute path of an entry under the directory. */
  path(relative: string): string;
  cleanup(): void;
}

/** Creates an empty temporary directory, optionally filled with `files` (relative path -> content). */
export function makeFixture(files: Record<string, string | Uint8Array> = {}): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-test-'));
  const fixture: Fixture = {
    dir,
    write(relative, content) {
      const full = path.join(dir, relative);
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, content);
      return full;
    },
    path: (relative) => path.join(dir, relative),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  for (const [relative, content] of Object.entries(files)) fixture.write(relative, content);
  return fixture;
}

/** A logger that keeps every warning instead of printing it. */
export function recordingLogger(): { warn(message: string): void; warnings: string[] } {
  const warnings: string[] = [];
  return { warn: (message: string) => void warnings.push(message), warnings };
}
