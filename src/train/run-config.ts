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
  train: TrainConfig;
  model: ModelConfig;
  tokenizer: TokenizerSpec;
}

/** config.json, parsed, checked: its format, and that its model section is what its train section resolves to. */
export function checkRunConfig(run: unknown, where: string): RunConfigFile {
  const format = (run as Partial<RunConfigFile> | null)?.format;
  if (typeof run !== 'object' || run === null || format !== CHECKPOINT_FORMAT) {
    throw new UserError(`${where}: config.json has format "${format}", expected "${CHECKPOINT_FORMAT}"`);
  }
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
  const model = new Transformer(run.model);
  for (const [name, p] of model.params.byName) {
    const t = file.tensors.get(name);
    if (!t) throw new UserError(`${where} has no tensor "${name}": it was saved by a different model configuration`);
    if (t.shape.join('x') !== p.shape.join('x') || t.dtype !== 'F32') {
      throw new UserError(
        `${where}: "${name}" is ${t.dtype} [${t.shape}] but the configuration needs F32 [${p.shape}]: it was saved by a different model`,
      );
    }
    requireFinite(where, name, t.data);
    p.data.set(t.data);
  }
  const extra = [...file.tensors.keys()].filter((n) => !model.params.byName.has(n));
  if (extra.length)
    throw new UserError(
      `${where} has tensors the configuration does not (${extra.slice(0, 3).join(', ')}…): a different model`,
    );
  return model;
}

export function requireFinite(where: string, name: string, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new UserError(
        `${where}: "${name}" holds ${data[i]} at element ${i} (damaged, or a diverged run); ` +
          'restore the file or train again',
      );
    }
  }
}
