/**
 * The temporary files the writers (the manifest, `static-hash build`) put beside a target before
 * renaming them into place: `.<name>.<pid>.<8 hex>.tmp`. The pid in the name lets a later run tell
 * the leftovers of a killed process from those of one still writing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { nodeCrypto } from './deferred.js';

let base = -1;
let count = 0;

/**
 * A temporary path beside `file`, unique in this process (a random start, then a counter: no random
 * bytes per file, and `open(…, 'wx')` refuses a clash with another process's file anyway).
 */
export function temporaryPathFor(file: string): string {
  if (base === -1) base = nodeCrypto().randomBytes(4).readUInt32BE(0);
  const suffix = ((base + count++) >>> 0).toString(16).padStart(8, '0');
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${suffix}.tmp`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const ANY_TEMPORARY = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Removes from `dir` the temporary files of processes no longer running: all of them, or only those
 * of the target named `name`. Only regular files are removed; a directory that cannot be read is left.
 */
export function sweepTemporaryFiles(dir: string, name?: string): void {
  const pattern = name === undefined ? ANY_TEMPORARY : new RegExp(`^\\.${escapeRegExp(name)}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of names) {
    const match = pattern.exec(entry);
    if (match === null || Number(match[1]) === process.pid || isRunning(Number(match[1]))) continue;
    const file = path.join(dir, entry);
    try {
      if (fs.lstatSync(file).isFile()) fs.rmSync(file, { force: true });
    } catch { /* gone meanwhile */ }
  }
}
