// The file names of a run folder and the shared types of its mutants (what each edit expects, which commands read it).

export const MODEL = 'model.safetensors';
export const OPTIMIZER = 'optimizer.safetensors';
export const STAGED = 'optimizer.next.safetensors';
export const CONFIG = 'config.json';
export const METRICS = 'metrics.jsonl';

/** The files of a reference run folder, by name. */
export type RunFiles = Record<string, Buffer>;

export type FuzzCommand = 'eval' | 'generate' | 'train';

/**
 * What an exit code of 0 means for a mutant:
 * - `damage`: fine only if the outcome equals the reference run's (else silent acceptance);
 * - `strict`: the edit makes a value malformed (wrong kind, out of range); a command that reads it
 *   must refuse, even if nothing downstream changed;
 * - `valid-edit`: the edit is well-formed (e.g. another learning rate); a changed outcome is reported
 *   as `accepted-valid-edit`, for review rather than as a failure.
 */
export type Expectation = 'damage' | 'strict' | 'valid-edit';

/** A file's new content: bytes, `null` to delete it, or `'dir'` to put a directory in its place. */
export type FileEdit = Buffer | null | 'dir';

export interface Mutant {
  id: string;
  family: string;
  description: string;
  files: Record<string, FileEdit>;
  expect: Expectation;
  /** The commands that read what was changed (`strict` applies to these; the others should be unaffected). */
  reads: FuzzCommand[];
}

export interface Candidate {
  description: string;
  expect?: Expectation;
  make: () => Record<string, FileEdit>;
}
