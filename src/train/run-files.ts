/** The names of a run folder's files (checkpoint.ts writes and reads them, run-folder.ts clears a folder for a new run). */
export const CONFIG_FILE = 'config.json';
export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
/** The optimizer state of a save whose weights may not be written yet. */
export const STAGED_OPTIMIZER_FILE = 'optimizer.next.safetensors';
export const METRICS_FILE = 'metrics.jsonl';
/** Where --overwrite moves the run it replaces before deleting it; while it exists, no new file has been written. */
export const REPLACED_FOLDER = '.hsm-replaced';

/** A temporary file of a write a kill interrupted (writeFileAtomic's `.<name>.<pid>.tmp`). */
export const isStaleTemporary = (name: string) => /^\..+\.\d+\.tmp$/.test(name);

/** The name a staged optimizer file that cannot be used is kept under (never deleted: it may be the only copy). */
export const unusableStagedName = (stamp: string) => `optimizer.next.unusable-${stamp}.safetensors`;
export const isUnusableStaged = (name: string) => /^optimizer\.next\.unusable-.*\.safetensors$/.test(name);
