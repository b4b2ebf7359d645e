/**
 * A run folder's configuration and weights as data: config.json checked
 * against itself, and a model built from parsed safetensors. No file access,
 * so the browser bundle loads models with the same checks as the CLI
 * (checkpoint.ts adds the files, checksums and atomic saves).
 */
import { UserError } from '../errors.js';
import type { TokenizerSpec } from '../data/tokenizer.js';
import { tokenizerFromSpec } from '../data/tokenizers.js';
import type { SafeTensorsFile } from '../io/safetensors-format.js';
import { Transformer, type ModelConfig } from '../model/transformer.js';
import { parseTrainConfig, type TrainConfig } from './config.js';

export const CHECKPOINT_FORMAT = 'hsm-checkpoint/1';

export interface RunConfigFile {
  format: string;
  /** Made at random when the run starts; every checkpoint file of the run carries it (absent in runs of earlier versions). */
  runId?: string;
  train: TrainConfig;
  model: ModelConfig;
  tokenizer: TokenizerSpec;
}

/** The form of a run id: 16 to 64 hexadecimal digits. */
const RUN_ID = /^[0-9a-f]{16,64}$/;

/** config.json, parsed, checked: its format, and that its model section is what its train section resolves to. */
export function checkRunConfig(run: unknown, where: string): RunConfigFile {
  const format = (run as Partial<RunConfigFile> | null)?.format;
  if (typeof run !== 'object' || run === null || format !== CHECKPOINT_FORMAT) {
    throw new UserError(`${where}: config.json has format "${format}", expected "${CHECKPOINT_FORMAT}"`);
  }
  const runId = (run as RunConfigFile).runId;
  if (runId !== undefined && (typeof runId !== 'string' || !RUN_ID.test(runId)))
    throw new UserError(
      `${where}: config.json's runId must be 16 to 64 hexadecimal digits, got ${JSON.stringify(runId)} (edited or damaged?); restore the file or train again`,
    );
  checkModelSection(where, run as RunConfigFile);
  return run as RunConfigFile;
}

/** The largest vocabulary a run folder may declare (GPT-2's is 50,257). */
const MAX_VOCAB = 1 << 21;

/**
 * The `model` section of config.json is what its `train` section resolves to
 * (trainer.ts writes it so); checking that, before any model is built, turns
 * an edited or damaged section (another head count, a million layers) into
 * one line instead of a different model or gigabytes allocated.
 */
function checkModelSection(where: string, run: RunConfigFile): void {
  const train = parseTrainConfig(run.train, `${where}: config.json train section`);
  const vocab = (run.model as Partial<ModelConfig> | undefined)?.vocabSize;
  if (!Number.isInteger(vocab) || vocab! < 1 || vocab! > MAX_VOCAB) {
    throw new UserError(
      `${where}: config.json model.vocabSize must be an integer from 1 to ${MAX_VOCAB}, got ${JSON.stringify(vocab)}`,
    );
  }
  // Token ids index the embedding unchecked in the kernels: the tokenizer must produce exactly this vocabulary.
  let tokenizerVocab: number;
  try {
    tokenizerVocab = tokenizerFromSpec(run.tokenizer).vocabSize;
  } catch (err) {
    throw new UserError(`${where}: config.json tokenizer section: ${(err as Error).message}`);
  }
  if (tokenizerVocab !== vocab)
    throw new UserError(
      `${where}: config.json's tokenizer has ${tokenizerVocab} tokens but model.vocabSize is ${vocab} (edited or damaged?); restore the file or train again`,
    );
  // What resolveModelConfig writes, without building models: with matchParams the FFN width was derived
  // by counting two models' parameters, too costly on every load, so only its kind is checked then.
  const saved = run.model as unknown as Record<string, unknown>;
  const { matchParams, ...fields } = train.model;
  const derivedWidth = Number.isInteger(saved.ffnHidden) && (saved.ffnHidden as number) > 0 ? saved.ffnHidden : NaN;
  const expected: Record<string, unknown> = { vocabSize: vocab, ...fields };
  if (matchParams) expected.ffnHidden = derivedWidth;
  const differ = [...new Set([...Object.keys(expected), ...Object.keys(saved)])].filter(
    (k) => JSON.stringify(expected[k]) !== JSON.stringify(saved[k]),
  );
  if (differ.length) {
    throw new UserError(
      `${where}: config.json's model section disagrees with its train section in ${differ.join(', ')} ` +
        '(edited or damaged?); restore the file or train again',
    );
  }
}

/** A fresh model with the file's weights; every name and shape must match the configuration. `where` names the file. */
export function modelFromWeights(run: RunConfigFile, file: SafeTensorsFile, where: string): Transformer {
  checkRunIdentity(run, file.metadata, where);
  const model = new Transformer(run.model);
  for (const [name, p] of model.params.byName) {
    const t = file.tensors.get(name);
    if (!t) throw new UserError(`${where} has no tensor "${name}": it was saved by a different model configuration`);
    if (t.shape.join('x') !== p.shape.join('x') || t.dtype !== 'F32') {
      throw new UserError(
        `${where}: "${name}" is ${t.dtype} [${t.shape}] but the configuration needs F32 [${p.shape}]: it was saved by a different model`,
      );
    }
    requireFinite(where, name, t.data, MAX_WEIGHT);
    p.data.set(t.data);
  }
  const extra = [...file.tensors.keys()].filter((n) => !model.params.byName.has(n));
  if (extra.length)
    throw new UserError(
      `${where} has tensors the configuration does not (${extra.slice(0, 3).join(', ')}…): a different model`,
    );
  return model;
}

/**
 * The largest magnitude a weight may have. No trained weight comes near it (AdamW moves a weight by about
 * lr per step, and the largest weights of our runs are below 10), so a larger one is a damaged exponent in a
 * file without a checksum; it is also where float32 products begin to overflow.
 */
export const MAX_WEIGHT = 1e12;

/** Weights or moments that are NaN or infinite (or, with `bound`, beyond ±bound) come from a damaged file or a diverged run: never use them. */
export function requireFinite(where: string, name: string, data: ArrayLike<number>, bound = Infinity): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (!Number.isFinite(x)) {
      throw new UserError(
        `${where}: "${name}" holds ${x} at element ${i} (damaged, or a diverged run); ` +
          'restore the file or train again',
      );
    }
    if (Math.abs(x) > bound)
      throw new UserError(
        `${where}: "${name}" holds ${x} at element ${i}, beyond the ±${bound} no trained weight reaches (damaged?); ` +
          'restore the file or train again',
      );
  }
}

/**
 * The training settings that a run keeps from its first step to its last (a resume refuses other values;
 * schedule fields such as maxIters may change).
 */
export const FIXED_TRAIN_KEYS = [
  'data',
  'tokenizer',
  'valFraction',
  'batchSize',
  'seed',
  'gradAccum',
  'model',
] as const;

/** Checkpoint metadata keys that tie a file to its run: the run id, and the fixed settings it was trained with. */
export const RUN_ID_KEY = 'run_id';
export const FIXED_CONFIG_KEY = 'fixed_config';

/**
 * The fixed settings of a train section as the current schema reads them (defaults filled in, so a field added
 * with a default in a later version compares equal), with the tokenizer the run resolved to.
 */
function fixedSettings(train: unknown, tokenizer: unknown, where: string): Record<string, unknown> {
  const parsed = parseTrainConfig(train, where);
  const fixed: Record<string, unknown> = { tokenizerSpec: tokenizer };
  for (const key of FIXED_TRAIN_KEYS) fixed[key] = parsed[key];
  return fixed;
}

/** JSON with object keys sorted (and undefined members left out), so equal values give equal text whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The metadata every checkpoint file of `run` carries (none for runs of earlier versions, which have no id). */
export function runIdentity(run: RunConfigFile): Record<string, string> {
  if (run.runId === undefined) return {};
  const fixed: Record<string, unknown> = { tokenizerSpec: run.tokenizer };
  for (const key of FIXED_TRAIN_KEYS) fixed[key] = run.train[key];
  return { [RUN_ID_KEY]: run.runId, [FIXED_CONFIG_KEY]: canonical(fixed) };
}

const shortJson = (v: unknown) => {
  const text = canonical(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/**
 * A checkpoint file belongs to the run config.json describes: the same run id, and the fixed settings it was
 * trained with are config.json's (a run's files are written together, so any difference is an interrupted
 * --overwrite, files copied between folders, or an edit). `where` names the file.
 */
export function checkRunIdentity(run: RunConfigFile, metadata: Record<string, string>, where: string): void {
  const id = metadata[RUN_ID_KEY];
  if ((id ?? null) !== (run.runId ?? null)) {
    const name = (x: string | undefined) => (x === undefined ? 'a run without an id' : `run ${x}`);
    throw new UserError(
      `${where} belongs to ${name(id)} but config.json to ${name(run.runId)}: the folder mixes two runs ` +
        '(an interrupted --overwrite, or files copied between folders); restore the files of one run, or train again with --overwrite',
    );
  }
  if (run.runId === undefined) return;
  let saved: unknown;
  try {
    saved = JSON.parse(metadata[FIXED_CONFIG_KEY] ?? '');
  } catch {
    saved = undefined;
  }
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved))
    throw new UserError(
      `${where}: its ${FIXED_CONFIG_KEY} metadata is missing or not a JSON object (damaged?); restore the file or train again`,
    );
  // The recorded values in place of config.json's, read by the same schema: only real differences remain.
  const { tokenizerSpec, ...recorded } = saved as Record<string, unknown>;
  const now = fixedSettings(run.train, run.tokenizer, `${where}: config.json`);
  let was: Record<string, unknown>;
  try {
    was = fixedSettings({ ...run.train, ...recorded }, tokenizerSpec, where);
  } catch {
    throw new UserError(
      `${where}: its ${FIXED_CONFIG_KEY} metadata is not a valid training configuration (damaged?); restore the file or train again`,
    );
  }
  for (const key of new Set([...Object.keys(now), ...Object.keys(was)])) {
    if (canonical(now[key]) !== canonical(was[key]))
      throw new UserError(
        `${where} was trained with ${key} ${shortJson(was[key])}, but config.json says ${shortJson(now[key])} (edited?); ` +
          `a run cannot change ${key}: restore config.json, or train again with --overwrite`,
      );
  }
}
