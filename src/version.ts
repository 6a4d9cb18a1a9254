import { execFile } from 'node:child_process';
import { StaticHashError } from './errors.js';

/**
 * The commit checked out in `dir`'s git working tree (`git rev-parse HEAD`), cut to `length` hex
 * characters, for `version: 'git'`. Read once at startup: uncommitted changes do not change it.
 * Throws `ERR_STATIC_INVALID_OPTION` outside a git checkout, without commits, or without git.
 *
 * @example
 * await readGitVersion('public', 12); //=> '9fceb02d0ae5'
 */
export function readGitVersion(dir: string, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['rev-parse', '--verify', 'HEAD'], { cwd: dir, timeout: 30_000 }, (error, stdout, stderr) => {
      const commit = String(stdout).trim();
      if (error || !/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(commit)) {
        const why = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT'
          ? 'the git command was not found'
          : String(stderr).trim().split('\n')[0] || (error?.message ?? `unexpected output ${JSON.stringify(commit)}`);
        reject(new StaticHashError(
          'ERR_STATIC_INVALID_OPTION',
          `static-hash: option "version" is "git", but the commit of ${dir} cannot be read (git rev-parse HEAD: ${why}); `
            + 'run inside a git checkout with at least one commit, or pass the version yourself, e.g. version: process.env.APP_VERSION',
          { option: 'version', value: 'git', file: dir, cause: error ?? undefined },
        ));
        return;
      }
      resolve(commit.slice(0, length));
    });
  });
}
