import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { Tokenizer, TokenizerSpec } from '../data/tokenizer.js';
import { tokenizerFromSpec } from '../data/tokenizers.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readSafetensors, writeSafetensors, type SafeTensorsFile } from '../io/safetensors.js';
import { Transformer, type ModelConfig } from '../model/transformer.js';
import type { AdamW } from '../optim/adamw.js';
import type { TrainConfig } from './config.js';

/**
 * A run folder: config.json (what was trained, with which tokenizer),
 * model.safetensors (weights, nanoGPT names), optimizer.safetensors (AdamW
 * moments plus the step and RNG state needed to resume exactly). Each file is
 * written atomically; both safetensors files record the step so a folder
 * caught between two writes is detected instead of silently mixed.
 */
export const CHECKPOINT_FORMAT = 'hsm-checkpoint/1';

export interface RunConfigFile {
  format: string;
  train: TrainConfig;
  model: ModelConfig;
  tokenizer: TokenizerSpec;
}

export interface TrainingState {
  step: number; // iterations completed
  rng: number[]; // batch sampler state after `step` iterations
  bestValLoss: number | null;
  elapsedS: number; // training wall time so far, carried across resumes
}

export function saveCheckpoint(
  dir: string,
  run: RunConfigFile,
  model: Transformer,
  optimizer: AdamW,
  state: TrainingState,
): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(run, null, 2) + '\n');
  const meta = { format: CHECKPOINT_FORMAT, step: String(state.step) };
  writeSafetensors(
    join(dir, 'model.safetensors'),
    [...model.params.byName].map(([n, p]) => [n, p] as const),
    meta,
  );
  const moments = optimizer.params.flatMap((p, i) => [
    [`m.${p.name}`, { shape: p.shape, data: optimizer.m[i] }] as const,
    [`v.${p.name}`, { shape: p.shape, data: optimizer.v[i] }] as const,
  ]);
  writeSafetensors(join(dir, 'optimizer.safetensors'), moments, {
    ...meta,
    optimizerStep: String(optimizer.stepCount),
    rng: JSON.stringify(state.rng),
    bestValLoss: JSON.stringify(state.bestValLoss),
    elapsedS: String(state.elapsedS),
  });
}

function requireFile(dir: string, name: string, purpose: string): string {
  if (!existsSync(dir))
    throw new UserError(`checkpoint folder ${dir} does not exist; pass the --out folder of a training run`);
  const path = join(dir, name);
  if (!existsSync(path))
    throw new UserError(
      `checkpoint ${dir} is incomplete: ${name} is missing (${purpose}); train again or point to a complete run`,
    );
  return path;
}

function readTensorsFile(dir: string, name: string, purpose: string): SafeTensorsFile {
  const path = requireFile(dir, name, purpose);
  try {
    return readSafetensors(path);
  } catch (err) {
    throw new UserError(
      `checkpoint ${dir}: ${name} is damaged (${(err as Error).message}); train again or restore the file`,
    );
  }
}

export function readRunConfig(dir: string): RunConfigFile {
  const path = requireFile(dir, 'config.json', 'the run configuration');
  let run: RunConfigFile;
  try {
    run = JSON.parse(readFileSync(path, 'utf8')) as RunConfigFile;
  } catch {
    throw new UserError(`checkpoint ${dir}: config.json is not valid JSON (damaged?); train again or restore the file`);
  }
  if (run.format !== CHECKPOINT_FORMAT) {
    throw new UserError(`checkpoint ${dir}: config.json has format "${run.format}", expected "${CHECKPOINT_FORMAT}"`);
  }
  return run;
}

/** Loads weights into a fresh model; every name and shape must match the configuration. */
export function loadModel(dir: string): { run: RunConfigFile; model: Transformer; tokenizer: Tokenizer; step: number } {
  const run = readRunConfig(dir);
  const model = new Transformer(run.model);
  const file = readTensorsFile(dir, 'model.safetensors', 'the model weights');
  for (const [name, p] of model.params.byName) {
    const t = file.tensors.get(name);
    if (!t)
      throw new UserError(
        `checkpoint ${dir}: model.safetensors has no tensor "${name}": it was saved by a different model configuration`,
      );
    if (t.shape.join('x') !== p.shape.join('x') || t.dtype !== 'F32') {
      throw new UserError(
        `checkpoint ${dir}: "${name}" is ${t.dtype} [${t.shape}] but the configuration needs F32 [${p.shape}]: it was saved by a different model`,
      );
    }
    p.data.set(t.data);
  }
  const extra = [...file.tensors.keys()].filter((n) => !model.params.byName.has(n));
  if (extra.length)
    throw new UserError(
      `checkpoint ${dir}: model.safetensors has tensors the configuration does not (${extra.slice(0, 3).join(', ')}…): a different model`,
    );
  return { run, model, tokenizer: tokenizerFromSpec(run.tokenizer), step: Number(file.metadata.step ?? 0) };
}

/** Restores AdamW moments and the training state saved beside the weights. */
export function loadTrainingState(dir: string, optimizer: AdamW, modelStep: number): TrainingState {
  const file = readTensorsFile(dir, 'optimizer.safetensors', 'the optimizer state needed to resume');
  const step = Number(file.metadata.step);
  if (step !== modelStep) {
    throw new UserError(
      `checkpoint ${dir}: model.safetensors is from step ${modelStep} but optimizer.safetensors from step ${step} (interrupted while saving?); cannot resume exactly`,
    );
  }
  optimizer.params.forEach((p, i) => {
    for (const [prefix, target] of [
      ['m', optimizer.m[i]],
      ['v', optimizer.v[i]],
    ] as const) {
      const t = file.tensors.get(`${prefix}.${p.name}`);
      if (!t || t.data.length !== target.length)
        throw new UserError(`checkpoint ${dir}: optimizer state for "${p.name}" is missing or has the wrong size`);
      target.set(t.data);
    }
  });
  optimizer.stepCount = Number(file.metadata.optimizerStep);
  return {
    step,
    rng: JSON.parse(file.metadata.rng) as number[],
    bestValLoss: JSON.parse(file.metadata.bestValLoss ?? 'null') as number | null,
    elapsedS: Number(file.metadata.elapsedS ?? 0),
  };
}
