import fs from 'node:fs';
import path from 'node:path';
import type { NormalizedRoot } from './options.js';
import { rootClaims } from './resolve.js';

/** A file found by {@link listReferences}. */
export interface ListedFile {
  reference: string;
  /** The root it was found under. */
  root: NormalizedRoot;
  /** Its path: a real path (no symlink in it) when `regular` is true. */
  file: string;
  /** A regular file reached through real directories only (not a symlink). */
  regular: boolean;
}

/**
 * Every reference that names a file under the roots, as `warm()` walks them: symlinked directories
 * are not descended into (they could loop), names no reference can express are returned apart.
 * Sorted by reference; a reference found under several roots is listed once per root.
 */
export function listReferences(roots: readonly NormalizedRoot[]): { references: string[]; files: ListedFile[]; skipped: string[] } {
  const { files, skipped } = listRoots(roots);
  // The files are sorted by reference: one reference per run of equal ones.
  const references: string[] = [];
  for (const file of files) if (references[references.length - 1] !== file.reference) references.push(file.reference);
  return { references, files, skipped };
}

/**
 * {@link listReferences} without its list of references (a walk needs only the files), calling
 * `reached()` once, synchronously, as soon as `count` files are listed (a walk starts its hashing
 * pool then, so that the workers boot while the listing goes on).
 */
export function listRoots(roots: readonly NormalizedRoot[], count = Infinity, reached?: () => void): { files: ListedFile[]; skipped: string[] } {
  const files: ListedFile[] = [];
  const skipped: string[] = [];
  for (const root of roots) {
    // Each directory with the reference prefix of its entries ('' + 'css/'...): no path.relative per file.
    const pending: Array<[dir: string, prefix: string]> = [[root.realDir, root.prefix]];
    while (pending.length > 0) {
      const [dir, prefix] = pending.pop()!;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue; // removed while walking
      }
      for (const entry of entries) {
        const full = dir + path.sep + entry.name;
        if (entry.isDirectory()) {
          pending.push([full, `${prefix}${entry.name}/`]);
          continue;
        }
        const regular = entry.isFile();
        if (!regular) {
          if (!entry.isSymbolicLink()) continue;
          // A link to a directory is not descended into (it could loop) nor a file; a dangling one is nothing.
          try {
            if (!fs.statSync(full).isFile()) continue;
          } catch {
            continue;
          }
        }
        const reference = prefix + entry.name;
        if (/[?#\\]/.test(reference)) {
          skipped.push(full);
        } else {
          if (files.push({ reference, root, file: full, regular }) === count) reached?.();
        }
      }
    }
  }
  files.sort((a, b) => (a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0));
  return { files, skipped };
}

/**
 * Whether the hasher is sure to resolve `listed.reference` to `listed.file` without asking the disk:
 * the file is regular and was reached through real directories (the walk follows no symlink), and
 * its root is the first the resolver tries for that reference (roots are in resolution order).
 */
export function resolvesToListedFile(listed: ListedFile, roots: readonly NormalizedRoot[]): boolean {
  if (!listed.regular) return false;
  const first = roots.find((root) => rootClaims(root, listed.reference));
  return first === listed.root;
}
