// Where a run folder stands before training starts in it: a committed checkpoint, a run whose first save
// never committed, or a run being replaced; and the replacement itself (--overwrite).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { crashPoint } from '../io/crash-point.js';
import {
  CONFIG_FILE,
  isStaleTemporary,
  isUnusableStaged,
  METRICS_FILE,
  MODEL_FILE,
  OPTIMIZER_FILE,
  REPLACED_FOLDER,
  STAGED_OPTIMIZER_FILE,
} from './run-files.js';

/**
 * - `committed`: model.safetensors is there (a resume reads and checks it; a REPLACED_FOLDER beside it is
 *   left from a replacement that stopped before it moved anything, and goes: `clearReplaced`);
 * - `first-save-pending`: only what a run writes before its first checkpoint commits (config.json, metrics.jsonl,
 *   a staged optimizer file, temporaries, the lock, the torch engine's folders), or nothing: a resume starts it at step 0;
 * - `replacing`: an --overwrite was interrupted while it moved the old run aside; what is left of it goes, and
 *   the run starts at step 0;
 * - `other`: anything else (an optimizer file without weights, files hsm does not write): a resume refuses it.
 */
export type RunFolderState = 'committed' | 'first-save-pending' | 'replacing' | 'other';

const BEFORE_FIRST_SAVE = new Set([CONFIG_FILE, METRICS_FILE, STAGED_OPTIMIZER_FILE, 'torch', 'tokens']);

export function runFolderState(dir: string): RunFolderState {
  // Weights beside REPLACED_FOLDER: the replacement stopped before it moved anything, and the old run is whole.
  if (existsSync(join(dir, MODEL_FILE))) return 'committed';
  if (existsSync(join(dir, REPLACED_FOLDER))) return 'replacing';
  const names = readdirSync(dir);
  const pending = names.every((n) => BEFORE_FIRST_SAVE.has(n) || isStaleTemporary(n) || n.startsWith('.hsm.lock'));
  return pending ? 'first-save-pending' : 'other';
}

/** Files of a run, weights first: once they are gone the old run cannot be resumed, whatever else is left. */
function runFiles(dir: string): string[] {
  const names = readdirSync(dir).filter(
    (n) =>
      [CONFIG_FILE, OPTIMIZER_FILE, STAGED_OPTIMIZER_FILE, METRICS_FILE].includes(n) ||
      isStaleTemporary(n) ||
      isUnusableStaged(n),
  );
  return existsSync(join(dir, MODEL_FILE)) ? [MODEL_FILE, ...names] : names;
}

/**
 * Removes the run in `dir` before a new one writes anything there. Its files are first moved into
 * REPLACED_FOLDER, weights first, and the folder is deleted last: a kill at any point leaves either the old run
 * whole or no weights at all, and the folder says a replacement was under way (runFolderState), so no mix of the
 * two runs can ever be resumed. Other files (the torch engine's folders, the lock) stay.
 */
export function discardRun(dir: string): void {
  const trash = join(dir, REPLACED_FOLDER);
  try {
    const names = runFiles(dir);
    if (names.length === 0 && !existsSync(trash)) return;
    mkdirSync(trash, { recursive: true });
    for (const name of names) {
      rmSync(join(trash, name), { recursive: true, force: true });
      renameSync(join(dir, name), join(trash, name));
      if (name === MODEL_FILE) crashPoint('replace:weights-moved');
    }
    crashPoint('replace:all-moved');
    rmSync(trash, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UserError(
      `cannot remove the earlier run in ${dir} (${code}); nothing new was written: fix the folder, or remove its files, then train again`,
    );
  }
}

/** Deletes what an interrupted replacement left behind (nothing of it is in use). */
export function clearReplaced(dir: string): void {
  rmSync(join(dir, REPLACED_FOLDER), { recursive: true, force: true });
}
