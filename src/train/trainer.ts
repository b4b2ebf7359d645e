import { existsSync, readFileSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Tape } from '../autograd/tape.js';
import { loadCorpus, type Corpus } from '../data/corpus.js';
import { TokenDataset, type BatchSource } from '../data/dataset.js';
import { UserError } from '../errors.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { createTokenizer, tokenizerFromSpec } from '../data/tokenizers.js';
import { writeFileAtomic } from '../io/atomic.js';
import { lockFolder } from '../io/folder-lock.js';
import { makeFolder } from '../io/folders.js';
import { Transformer, type ModelConfig } from '../model/transformer.js';
import { AdamW } from '../optim/adamw.js';
import { Rng } from '../tensor/random.js';
import { applyBudget } from './budget.js';
import { learningRate, resolveModelConfig, type TrainConfig } from './config.js';
import {
  CHECKPOINT_FORMAT,
  loadModel,
  loadTrainingState,
  readRunConfig,
  saveCheckpoint,
  type RunConfigFile,
} from './checkpoint.js';
import { estimateLoss } from './evaluate.js';
import { requireMemory, trainingMemory } from './memory.js';
import { trainStep } from './step.js';

/** One line of metrics.jsonl. */
export interface StepMetrics {
  step: number; // iterations completed
  train_loss: number;
  val_loss?: number;
  lr: number;
  tokens_per_s: number;
  elapsed_s: number;
  grad_norm: number;
}

export interface TrainHooks {
  /** Called once the data and model are ready, before the first step. */
  onStart?(info: {
    startStep: number;
    maxIters: number;
    parameters: number;
    vocabSize: number;
    trainTokens: number;
    valTokens: number;
    resumed: boolean;
  }): void;
  onStep?(m: StepMetrics): void;
  onCheckpoint?(step: number): void;
  /** Something the user should know that does not stop training (e.g. a stale lock taken over). */
  onWarning?(message: string): void;
  /** Checked between steps; true stops training after saving a checkpoint. */
  shouldStop?(): boolean;
}

/** Training data that is not a text corpus (e.g. compare's synthetic recall task): its tokenizer and batches. */
export interface TrainingSource {
  tokenizer: Tokenizer;
  data: BatchSource;
}

export interface TrainResult {
  step: number;
  finalValLoss: number | null;
  bestValLoss: number | null;
  stopped: boolean;
  outDir: string;
  /** The configuration trained, with the steps its FLOP budget fixed (if it has one). */
  config: TrainConfig;
  model: Transformer;
  tokenizer: Tokenizer;
}

/**
 * Trains a GPT on a corpus: nanoGPT's loop (AdamW, warm-up + cosine LR,
 * gradient clipping and accumulation, periodic evaluation) with atomic
 * checkpoints that resume bit-exactly (weights, moments, batch RNG, step).
 * Yields to the event loop between steps so signals and progress bars work.
 */
export interface TrainOptions {
  resume?: boolean;
  overwrite?: boolean;
  hooks?: TrainHooks;
  corpus?: Corpus;
  source?: TrainingSource;
  /** false skips the refusal of runs larger than this machine's memory (memory.ts). */
  memoryCheck?: boolean;
}

export async function train(requested: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  // One writer per run folder: a second trainer (or a --resume of a run still going) is refused at once.
  if (!opts.resume) makeFolder(requested.out, 'run folder');
  else if (!existsSync(requested.out))
    throw new UserError(`cannot resume ${requested.out}: no such folder; pass the --out folder of a training run`);
  const release = lockFolder(requested.out, 'run folder', opts.hooks?.onWarning);
  try {
    return await trainLocked(requested, opts);
  } finally {
    release();
  }
}

async function trainLocked(requested: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const hooks = opts.hooks ?? {};
  let cfg = requested;
  const dir = cfg.out;
  // A library caller may pass text directly, or a source that is no corpus at all (then cfg.data only names it).
  const corpus = opts.source ? null : (opts.corpus ?? loadCorpus(cfg.data));

  let model: Transformer,
    runFile: RunConfigFile,
    startStep = 0;
  let bestValLoss: number | null = null,
    elapsedBefore = 0;
  if (opts.resume) {
    const saved = readRunConfig(dir);
    assertSameRun(saved.train, cfg, dir);
    cfg = applyBudget(cfg, saved.model.vocabSize);
    if (opts.memoryCheck !== false) requireTrainingMemory(saved.model, cfg);
    const loaded = loadModel(dir);
    model = loaded.model;
    runFile = { ...saved, train: cfg }; // schedule changes (e.g. a longer --max-iters) are remembered
    startStep = loaded.step;
  } else {
    if (!opts.overwrite && existsSync(join(dir, 'model.safetensors'))) {
      throw new UserError(
        `${dir} already holds a training run; pass --resume to continue it, --overwrite to start it again, or --out with a new folder`,
      );
    }
    const tokenizer = opts.source?.tokenizer ?? createTokenizer(cfg.tokenizer, corpus!.text);
    cfg = applyBudget(cfg, tokenizer.vocabSize);
    const modelConfig = resolveModelConfig(cfg.model, tokenizer.vocabSize);
    if (opts.memoryCheck !== false) requireTrainingMemory(modelConfig, cfg);
    model = new Transformer(modelConfig, { seed: cfg.seed });
    runFile = { format: CHECKPOINT_FORMAT, train: cfg, model: modelConfig, tokenizer: tokenizer.toJSON() };
  }
  const tokenizer = tokenizerFromSpec(runFile.tokenizer);
  const data: BatchSource =
    opts.source?.data ?? TokenDataset.fromText(corpus!.text, tokenizer, { valFraction: cfg.valFraction });
  data.checkContext(cfg.model.blockSize);

  const optimizer = new AdamW(model.params.list, {
    lr: cfg.lr,
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    weightDecay: cfg.weightDecay,
    gradClip: cfg.gradClip,
  });
  const rng = new Rng(cfg.seed + 1);
  const metricsPath = join(dir, 'metrics.jsonl');
  if (opts.resume) {
    const state = loadTrainingState(dir, optimizer, startStep);
    rng.setState(state.rng);
    bestValLoss = state.bestValLoss;
    elapsedBefore = state.elapsedS;
    const repaired = keepMetricsUpTo(metricsPath, startStep, cfg.logInterval);
    if (repaired) hooks.onWarning?.(`${metricsPath}: ${repaired}`);
  } else {
    writeFileSync(metricsPath, '');
  }

  hooks.onStart?.({
    startStep,
    maxIters: cfg.maxIters,
    parameters: model.params.count,
    vocabSize: tokenizer.vocabSize,
    trainTokens: data.tokenCount('train'),
    valTokens: data.tokenCount('val'),
    resumed: !!opts.resume,
  });

  const B = cfg.batchSize,
    T = cfg.model.blockSize;
  const tape = new Tape();
  const t0 = performance.now();
  let finalValLoss: number | null = null,
    stopped = false,
    step = startStep;
  const elapsed = () => elapsedBefore + (performance.now() - t0) / 1000;
  const save = () => {
    saveCheckpoint(dir, runFile, model, optimizer, { step, rng: rng.state(), bestValLoss, elapsedS: elapsed() });
    hooks.onCheckpoint?.(step);
  };

  while (step < cfg.maxIters) {
    const lr = learningRate(cfg, step);
    const stepStart = performance.now();
    // Batches and dropout masks both come from rng, in the order trainStep asks for them.
    const { loss, gradNorm } = trainStep({
      model,
      optimizer,
      tape,
      batchSize: B,
      context: T,
      gradAccum: cfg.gradAccum,
      lr,
      dropoutRng: rng,
      batch: () => data.sampleBatch('train', rng, B, T),
    });
    step++;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      // The weights in memory are already damaged; nothing is saved, so the last checkpoint stays the run's state.
      throw new UserError(
        `${dir}: training diverged at step ${step} (loss ${loss}, gradient norm ${gradNorm}); nothing was saved after ` +
          `the last checkpoint: lower lr, raise warmupIters or set gradClip, then --resume or start again`,
      );
    }
    const m: StepMetrics = {
      step,
      train_loss: loss,
      lr,
      grad_norm: gradNorm,
      tokens_per_s: (B * T * cfg.gradAccum) / ((performance.now() - stepStart) / 1000),
      elapsed_s: 0,
    };
    if (step % cfg.evalInterval === 0 || step === cfg.maxIters) {
      m.val_loss = estimateLoss(model, data, 'val', cfg.evalIters, B, cfg.seed + 2);
      finalValLoss = m.val_loss;
      if (bestValLoss === null || m.val_loss < bestValLoss) bestValLoss = m.val_loss;
    }
    m.elapsed_s = elapsed();
    if (step % cfg.logInterval === 0 || m.val_loss !== undefined || step === cfg.maxIters) {
      appendFileSync(metricsPath, JSON.stringify(m) + '\n');
    }
    hooks.onStep?.(m);
    if (step % cfg.checkpointInterval === 0 || step === cfg.maxIters) save();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (step < cfg.maxIters && hooks.shouldStop?.()) {
      save();
      stopped = true;
      break;
    }
  }
  if (startStep >= cfg.maxIters) finalValLoss = null;
  return { step, finalValLoss, bestValLoss, stopped, outDir: dir, config: cfg, model, tokenizer };
}

/** Refuses, before allocating, a run this machine cannot hold. */
export function requireTrainingMemory(model: ModelConfig, cfg: TrainConfig): void {
  requireMemory(
    trainingMemory(model, cfg.batchSize),
    `training ${cfg.out}`,
    'batchSize, the context, nEmbd, nLayer or the FFN width',
    '--no-memory-check',
  );
}

/** A resumed run must train the same model on the same data; schedule fields may change. */
function assertSameRun(saved: TrainConfig, now: TrainConfig, dir: string): void {
  const fixed: (keyof TrainConfig)[] = ['data', 'tokenizer', 'valFraction', 'batchSize', 'seed', 'gradAccum'];
  for (const key of fixed) {
    if (JSON.stringify(saved[key]) !== JSON.stringify(now[key])) {
      throw new UserError(
        `cannot resume ${dir}: it was trained with ${key}=${JSON.stringify(saved[key])}, not ${JSON.stringify(now[key])}; use the same settings or a new --out folder`,
      );
    }
  }
  if (JSON.stringify(saved.model) !== JSON.stringify(now.model)) {
    throw new UserError(
      `cannot resume ${dir}: it holds a different model (${JSON.stringify(saved.model)}, requested ${JSON.stringify(now.model)}); use a new --out folder`,
    );
  }
}

/**
 * On resume, keeps the metric lines up to the checkpoint's step so the file
 * matches an uninterrupted run. Returns what it repaired beyond dropping the
 * steps trained after the checkpoint (damaged lines, a log that ends early),
 * or null.
 */
function keepMetricsUpTo(path: string, step: number, logInterval: number): string | null {
  if (!existsSync(path)) return `missing; a new log starts at step ${step + 1}`;
  const damaged: number[] = [];
  const kept: string[] = [];
  let last = 0;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(
      `${path} cannot be read (${(err as NodeJS.ErrnoException).code}); move it aside to start a new log, then --resume`,
    );
  }
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const parsed = MetricsLine.safeParse(parseJson(line));
    if (!parsed.success || parsed.data.step <= last)
      damaged.push(i + 1); // steps strictly increase
    else if (parsed.data.step <= step) {
      kept.push(line + '\n');
      last = parsed.data.step;
    }
  });
  writeFileAtomic(path, kept.join(''));
  const notes: string[] = [];
  if (damaged.length)
    notes.push(
      `dropped ${damaged.length} damaged, repeated or out-of-order line(s) (line ${damaged.slice(0, 5).join(', ')}${damaged.length > 5 ? ', …' : ''})`,
    );
  // Steps after the last logged one are expected when a stop fell between log lines.
  if (step - last >= logInterval) notes.push(`the log ends at step ${last} although the checkpoint is at step ${step}`);
  return notes.length ? notes.join('; ') : null;
}

/** What a line of metrics.jsonl must at least hold to be kept on resume. */
const MetricsLine = z.object({ step: z.number().int().positive(), train_loss: z.number() }).passthrough();

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
