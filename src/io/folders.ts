import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Creates a folder (and its missing parents) for `what` (e.g. "run folder"),
 * or says in one line why it cannot: a file in the way, a parent that cannot
 * hold folders, no permission. Parents are made one at a time because
 * Node's recursive mkdir never returns on some paths (under /proc it loops).
 */
export function makeFolder(path: string, what: string): void {
  const missing: string[] = [];
  let existing = resolve(path);
  while (!existsSync(existing)) {
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (existsSync(existing) && !statSync(existing).isDirectory())
    throw new UserError(`${what} ${path}: ${existing} is a file, not a folder; choose another path`);
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (code === 'EEXIST' && statSync(folder).isDirectory()) continue;
      throw new UserError(`${what} ${path}: cannot create ${folder} (${code}); choose a writable location`);
    }
  }
  try {
    accessSync(path, constants.W_OK);
  } catch {
    throw new UserError(`${what} ${path} is not writable; choose a writable location`);
  }
}

/**
 * Puts a folder assembled under a temporary name beside `out` in its place:
 * `out` is then either what it was or the whole new folder, never half of
 * one. An existing `out` is moved aside first and removed after the rename
 * (put back when the rename fails).
 */
export function replaceFolder(staging: string, out: string, exists: boolean): void {
  if (!exists) {
    renameSync(staging, out);
    return;
  }
  const old = `${staging}.old`;
  renameSync(out, old);
  try {
    renameSync(staging, out);
  } catch (err) {
    renameSync(old, out);
    throw err;
  }
  rmSync(old, { recursive: true, force: true });
}
