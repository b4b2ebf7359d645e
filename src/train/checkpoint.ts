import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { describeZodError, UserError } from '../errors.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { tokenizerFromSpec } from '../data/tokenizers.js';
import { writeFileAtomic } from '../io/atomic.js';
import { crashPoint } from '../io/crash-point.js';
import { makeFolder } from '../io/folders.js';
import { dataSection, dtypeOf, parseSafetensors, writeSafetensors, type SafeTensorsFile } from '../io/safetensors.js';
import type { Transformer } from '../model/transformer.js';
import type { AdamW } from '../optim/adamw.js';
import {
  CHECKPOINT_FORMAT,
  checkRunConfig,
  checkRunIdentity,
  modelFromWeights,
  requireFinite,
  runIdentity,
  type RunConfigFile,
} from './run-config.js';
import {
  CONFIG_FILE,
  isStaleTemporary,
  MODEL_FILE,
  OPTIMIZER_FILE,
  STAGED_OPTIMIZER_FILE,
  unusableStagedName,
} from './run-files.js';
import { runFolderState } from './run-folder.js';

export { CHECKPOINT_FORMAT, type RunConfigFile } from './run-config.js';

/**
 * A run folder: config.json (what was trained, with which tokenizer),
 * model.safetensors (weights, nanoGPT names), optimizer.safetensors (AdamW
 * moments plus the step and RNG state needed to resume exactly). Both
 * safetensors files record the step.
 *
 * Each file is written atomically (temporary file, fsync, rename), and a save
 * is ordered so that a kill at any instant leaves a resumable folder: the new
 * optimizer state is staged as optimizer.next.safetensors, then the weights
 * are replaced (the commit point), then the staged state takes the place of
 * the old one. Resuming pairs the weights with whichever optimizer file
 * carries their step (see `settleCheckpoint`).
 *
 * config.json holds a run id made when the run starts; both safetensors
 * files carry it and the fixed settings they were trained with (runIdentity),
 * and every read checks them against config.json, so files of two runs are
 * never used together.
 */

export interface TrainingState {
  step: number; // iterations completed
  rng: number[]; // batch sampler state after `step` iterations
  bestValLoss: number | null;
  elapsedS: number; // training wall time so far, carried across resumes
  /** The validation accuracy that ended training early (stopAtAccuracy), if one did. */
  stoppedAtAccuracy?: number | null;
}

export function saveCheckpoint(
  dir: string,
  run: RunConfigFile,
  model: Transformer,
  optimizer: AdamW,
  state: TrainingState,
): void {
  makeFolder(dir, 'run folder');
  try {
    writeCheckpointFiles(dir, run, model, optimizer, state);
  } catch (err) {
    if (err instanceof UserError) throw err;
    // Disk full, a read-only remount, a folder deleted under us: the previous checkpoint is still whole.
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UserError(
      `cannot save the checkpoint of step ${state.step} in ${dir} (${code}); the previous checkpoint is intact: ` +
        'free space or fix the folder, then --resume',
    );
  }
}

/** The ordered save; each `crashPoint` names a phase the crash tests kill the trainer at. */
function writeCheckpointFiles(
  dir: string,
  run: RunConfigFile,
  model: Transformer,
  optimizer: AdamW,
  state: TrainingState,
): void {
  const at = String(state.step);
  removeStaleTemporaries(dir);
  writeRunConfig(dir, run, at);
  crashPoint(`config@${at}`);
  const meta = { format: CHECKPOINT_FORMAT, step: at, ...runIdentity(run) };
  const moments = optimizer.params.flatMap((p, i) => [
    [`m.${p.name}`, { shape: p.shape, data: optimizer.m[i] }] as const,
    [`v.${p.name}`, { shape: p.shape, data: optimizer.v[i] }] as const,
  ]);
  const training = {
    ...meta,
    optimizerStep: String(optimizer.stepCount),
    rng: JSON.stringify(state.rng),
    bestValLoss: JSON.stringify(state.bestValLoss),
    elapsedS: String(state.elapsedS),
    ...(state.stoppedAtAccuracy != null ? { stoppedAtAccuracy: JSON.stringify(state.stoppedAtAccuracy) } : {}),
  };
  writeSafetensors(join(dir, STAGED_OPTIMIZER_FILE), moments, withChecksum(training, moments), at);
  crashPoint(`staged@${at}`);
  // A kill from here until the weights are renamed leaves the old step whole.
  const weights = [...model.params.byName].map(([n, p]) => [n, p] as const);
  writeSafetensors(join(dir, MODEL_FILE), weights, withChecksum(meta, weights), at);
  crashPoint(`committed@${at}`);
  // From here on the new step is committed: resuming finishes this rename.
  renameSync(join(dir, STAGED_OPTIMIZER_FILE), join(dir, OPTIMIZER_FILE));
  crashPoint(`saved@${at}`);
}

/** Writes config.json (atomically); `crashLabel` names the step for the crash tests. */
export function writeRunConfig(dir: string, run: RunConfigFile, crashLabel?: string): void {
  writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(run, null, 2) + '\n', crashLabel);
}

/** Temporary files of writes a kill interrupted. */
function removeStaleTemporaries(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (isStaleTemporary(name)) rmSync(join(dir, name), { force: true });
  }
}

/** Whether `dir` holds weights and an optimizer state to resume from (possibly still to be settled). */
export function hasResumableCheckpoint(dir: string): boolean {
  return (
    existsSync(join(dir, MODEL_FILE)) &&
    (existsSync(join(dir, OPTIMIZER_FILE)) || existsSync(join(dir, STAGED_OPTIMIZER_FILE)))
  );
}

/** A checkpoint file's step when it is whole and of this run (read as a resume reads it), or why it is not. */
function usableStep(dir: string, name: string, run: RunConfigFile): { step: number } | { why: string } {
  try {
    const file = readTensorsFile(dir, name, 'the optimizer state');
    checkRunIdentity(run, file.metadata, `checkpoint ${dir}: ${name}`);
    return { step: savedStep(dir, name, file) };
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    // The reason alone: "<name> is damaged (…)", without the folder and the advice.
    return { why: err.message.replace(`checkpoint ${dir}: `, '').split('; ')[0] };
  }
}

/**
 * Finishes or undoes a save a kill interrupted, so the optimizer state in
 * optimizer.safetensors belongs to the weights in model.safetensors:
 * - optimizer.safetensors already holds the weights' state: the staged file
 *   is of a save that never committed, so it goes;
 * - the staged file holds it (checked in full: checksum, run, step): the
 *   save had committed, so it takes the place of the older state;
 * - neither: the staged file is kept aside under another name (it may be the
 *   only copy of that state), nothing else is touched, and the error names it.
 * Stale temporary files go too. A folder that is consistent is left as it is.
 */
export function settleCheckpoint(dir: string, modelStep: number, run: RunConfigFile): void {
  removeStaleTemporaries(dir);
  const staged = join(dir, STAGED_OPTIMIZER_FILE);
  if (!existsSync(staged)) return;
  const current = existsSync(join(dir, OPTIMIZER_FILE))
    ? usableStep(dir, OPTIMIZER_FILE, run)
    : { why: `${OPTIMIZER_FILE} is missing` };
  if ('step' in current && current.step === modelStep) {
    rmSync(staged, { force: true, recursive: true }); // our reserved name, even if something else took it
    return;
  }
  const next = usableStep(dir, STAGED_OPTIMIZER_FILE, run);
  if ('step' in next && next.step === modelStep) {
    renameSync(staged, join(dir, OPTIMIZER_FILE));
    return;
  }
  const aside = unusableStagedName(new Date().toISOString().replace(/[:.]/g, '-'));
  renameSync(staged, join(dir, aside));
  const problem = 'why' in next ? next.why : `${STAGED_OPTIMIZER_FILE} is from step ${next.step}`;
  const main = 'why' in current ? current.why : `${OPTIMIZER_FILE} is from step ${current.step}`;
  throw new UserError(
    `checkpoint ${dir}: the weights are from step ${modelStep} but no optimizer file holds their state: ${problem}, and ${main}; ` +
      `the staged file was kept as ${aside} and nothing else was changed. ` +
      `Restore the optimizer state of step ${modelStep} as ${OPTIMIZER_FILE} to resume, or train again with --overwrite (eval and generate still use the weights)`,
  );
}

function requireFile(dir: string, name: string, purpose: string): string {
  if (!existsSync(dir))
    throw new UserError(`checkpoint folder ${dir} does not exist; pass the --out folder of a training run`);
  const path = join(dir, name);
  const state = existsSync(path) ? 'committed' : runFolderState(dir);
  if (state === 'first-save-pending' || state === 'replacing')
    throw new UserError(
      `run folder ${dir} holds no checkpoint yet: the run stopped before its first save committed; ` +
        `\`hsm train --resume --out ${dir}\` (with the run's flags) starts it again from step 0`,
    );
  if (!existsSync(path))
    throw new UserError(
      `checkpoint ${dir} is incomplete: ${name} is missing (${purpose}); train again or point to a complete run`,
    );
  return path;
}

/**
 * A checkpoint file, parsed and checked. Files we write carry the SHA-256 of
 * their tensor bytes (metadata "data_sha256"), so a flipped bit in a weight,
 * which no structural check can see, is caught too; files without it (from
 * other tools) are read as they are.
 */
function readTensorsFile(dir: string, name: string, purpose: string): SafeTensorsFile {
  const path = requireFile(dir, name, purpose);
  let file: SafeTensorsFile, bytes: Buffer;
  try {
    bytes = readFileSync(path);
    file = parseSafetensors(bytes, path);
  } catch (err) {
    throw new UserError(
      `checkpoint ${dir}: ${name} is damaged (${(err as Error).message}); train again or restore the file`,
    );
  }
  const expected = file.metadata[DATA_DIGEST];
  const layout = [...file.tensors].map(([n, t]) => [n, t.dtype, t.shape] as const);
  if (expected !== undefined && checksum(file.metadata, layout, [dataSection(bytes)]) !== expected)
    throw new UserError(
      `checkpoint ${dir}: ${name} is damaged: its tensors or metadata do not match the checksum saved with them; restore the file or train again`,
    );
  if (file.metadata.format !== undefined && file.metadata.format !== CHECKPOINT_FORMAT)
    throw new UserError(
      `checkpoint ${dir}: ${name} has format ${JSON.stringify(file.metadata.format)}, expected "${CHECKPOINT_FORMAT}"`,
    );
  return file;
}

/** Metadata key of the checksum (SHA-256, hex) of a file's other metadata and its tensor bytes. */
const DATA_DIGEST = 'data_sha256';

/** Each tensor's name, dtype and shape, in file order. */
type Layout = readonly (readonly [string, string, readonly number[]])[];

/**
 * SHA-256 over the metadata (sorted, without the checksum itself), the
 * tensors' names, dtypes and shapes, then the tensor bytes in file order.
 */
function checksum(metadata: Record<string, string>, layout: Layout, chunks: ArrayBufferView[]): string {
  const hash = createHash('sha256');
  const fields = Object.entries(metadata)
    .filter(([k]) => k !== DATA_DIGEST)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  hash.update(JSON.stringify([fields, layout]));
  for (const c of chunks) hash.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  return hash.digest('hex');
}

/** Metadata with its checksum over `tensors` (written in this order, so equal to the file's data section). */
function withChecksum(
  metadata: Record<string, string>,
  tensors: readonly (readonly [string, { data: Float32Array | Float64Array | Int32Array; shape: readonly number[] }])[],
): Record<string, string> {
  const layout = tensors.map(([n, t]) => [n, dtypeOf(t.data), t.shape] as const);
  return {
    ...metadata,
    [DATA_DIGEST]: checksum(
      metadata,
      layout,
      tensors.map(([, t]) => t.data),
    ),
  };
}

export function readRunConfig(dir: string): RunConfigFile {
  const path = requireFile(dir, CONFIG_FILE, 'the run configuration');
  let run: unknown;
  try {
    run = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new UserError(`checkpoint ${dir}: config.json is not valid JSON (damaged?); train again or restore the file`);
  }
  return checkRunConfig(run, `checkpoint ${dir}`);
}

/** Loads weights into a fresh model; every name and shape must match the configuration. */
export function loadModel(dir: string): { run: RunConfigFile; model: Transformer; tokenizer: Tokenizer; step: number } {
  const run = readRunConfig(dir);
  const file = readTensorsFile(dir, MODEL_FILE, 'the model weights');
  const model = modelFromWeights(run, file, `checkpoint ${dir}: ${MODEL_FILE}`);
  return { run, model, tokenizer: tokenizerFromSpec(run.tokenizer), step: savedStep(dir, MODEL_FILE, file) };
}

/** The step of the weights a run folder has committed (checked as `loadModel` checks it, without building the model). */
export function committedStep(dir: string): number {
  return savedStep(dir, MODEL_FILE, readTensorsFile(dir, MODEL_FILE, 'the model weights'));
}

/** The step a checkpoint file records: a whole number, or the file is damaged. */
function savedStep(dir: string, name: string, file: SafeTensorsFile): number {
  const text = file.metadata.step;
  const step = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(step))
    throw new UserError(
      `checkpoint ${dir}: ${name} records step ${JSON.stringify(text)}, not a whole number (damaged?); restore the file or train again`,
    );
  return step;
}

/** Restores AdamW moments and the training state saved beside the weights of `run`. */
export function loadTrainingState(dir: string, optimizer: AdamW, modelStep: number, run: RunConfigFile): TrainingState {
  settleCheckpoint(dir, modelStep, run);
  const file = readTensorsFile(dir, OPTIMIZER_FILE, 'the optimizer state needed to resume');
  checkRunIdentity(run, file.metadata, `checkpoint ${dir}: ${OPTIMIZER_FILE}`);
  const step = savedStep(dir, OPTIMIZER_FILE, file);
  if (step !== modelStep) {
    throw new UserError(
      `checkpoint ${dir}: model.safetensors is from step ${modelStep} but optimizer.safetensors from step ${step} (interrupted while saving?); cannot resume exactly`,
    );
  }
  const expected = new Set(optimizer.params.flatMap((p) => [`m.${p.name}`, `v.${p.name}`]));
  const extra = [...file.tensors.keys()].filter((n) => !expected.has(n));
  if (extra.length)
    throw new UserError(
      `checkpoint ${dir}: ${OPTIMIZER_FILE} holds tensors this model has no state for (${extra.slice(0, 3).join(', ')}); restore the file or train again`,
    );
  optimizer.params.forEach((p, i) => {
    for (const [prefix, target] of [
      ['m', optimizer.m[i]],
      ['v', optimizer.v[i]],
    ] as const) {
      const t = file.tensors.get(`${prefix}.${p.name}`);
      if (!t || t.shape.join('x') !== p.shape.join('x') || t.dtype !== 'F32')
        throw new UserError(
          `checkpoint ${dir}: ${OPTIMIZER_FILE}: the state "${prefix}.${p.name}" is ${t ? `${t.dtype} [${t.shape}]` : 'missing'}, ` +
            `but the parameter is F32 [${p.shape}]; restore the file or train again`,
        );
      requireFinite(`checkpoint ${dir}: ${OPTIMIZER_FILE}`, `${prefix}.${p.name}`, t.data);
      // A second moment is a mean of squares: a negative one is a damaged file (it would make the update NaN).
      if (prefix === 'v' && t.data.some((x) => x < 0))
        throw new UserError(
          `checkpoint ${dir}: ${OPTIMIZER_FILE}: "${prefix}.${p.name}" holds a negative second moment (damaged?); restore the file or train again`,
        );
      target.set(t.data);
    }
  });
  // Moments whose update m/(√v + ε) overflows float32 would turn every weight they touch into Infinity.
  optimizer.params.forEach((p, i) => {
    const m = optimizer.m[i],
      v = optimizer.v[i];
    for (let k = 0; k < m.length; k++)
      if (!Number.isFinite(Math.fround(Math.abs(m[k]) / (Math.sqrt(v[k]) + 1e-8))))
        throw new UserError(
          `checkpoint ${dir}: ${OPTIMIZER_FILE}: "m.${p.name}" holds ${m[k]} at element ${k} against a second moment of ${v[k]}, an update beyond float32 (damaged?); restore the file or train again`,
        );
  });
  const state = TrainingStateMetadata.safeParse(file.metadata);
  if (!state.success) {
    throw new UserError(
      `checkpoint ${dir}: ${OPTIMIZER_FILE} has unusable training-state metadata (${describeZodError(state.error)}); ` +
        'train again or restore the file',
    );
  }
  // One optimizer update per step, in both engines.
  if (state.data.optimizerStep !== step)
    throw new UserError(
      `checkpoint ${dir}: ${OPTIMIZER_FILE} records optimizerStep ${state.data.optimizerStep} at step ${step}; they are always equal (damaged?): restore the file or train again`,
    );
  optimizer.stepCount = state.data.optimizerStep;
  return {
    step,
    rng: state.data.rng,
    bestValLoss: state.data.bestValLoss,
    elapsedS: state.data.elapsedS,
    stoppedAtAccuracy: state.data.stoppedAtAccuracy,
  };
}

/** A JSON string in safetensors metadata, parsed (undefined when it is not JSON, which the schema then rejects). */
const fromJson = (value: unknown): unknown => {
  try {
    return typeof value === 'string' ? JSON.parse(value) : value;
  } catch {
    return undefined;
  }
};

/** The training state optimizer.safetensors carries as metadata strings, checked rather than trusted. */
const TrainingStateMetadata = z.object({
  optimizerStep: z.coerce.number().int().nonnegative(),
  // Four 32-bit words, saved signed or unsigned (setState takes either).
  rng: z.preprocess(
    fromJson,
    z
      .array(
        z
          .number()
          .int()
          .min(-(2 ** 31))
          .max(2 ** 32 - 1),
      )
      .length(4)
      // xoshiro never leaves the all-zero state: the sampler would draw one batch forever.
      .refine(
        (words) => words.some((w) => w !== 0),
        'the batch sampler state is all zeros, which the sampler never reaches',
      ),
  ),
  bestValLoss: z.preprocess((v) => fromJson(v ?? 'null'), z.number().finite().nullable()),
  elapsedS: z.preprocess((v) => Number(v ?? 0), z.number().finite().nonnegative()),
  stoppedAtAccuracy: z.preprocess((v) => fromJson(v ?? 'null'), z.number().min(0).max(1).nullable()),
});
