// What both engines share before the first step: the run's options and
// results, resolving or reloading a run, and the metrics log's repair on resume.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Corpus } from '../data/corpus.js';
import { openTextData, openTextDataWith, textFromCorpus, type TextData } from '../data/text-data.js';
import type { BatchSource } from '../data/dataset.js';
import { UserError } from '../errors.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { createTokenizer, tokenizerFromSpec } from '../data/tokenizers.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Transformer, type ModelConfig } from '../model/transformer.js';
import { AdamW } from '../optim/adamw.js';
import { applyBudget } from './budget.js';
import { resolveModelConfig, type TrainConfig } from './config.js';
import { CHECKPOINT_FORMAT, loadModel, readRunConfig, type RunConfigFile } from './checkpoint.js';
import { requireMemory, trainingMemory } from './memory.js';
import { FIXED_TRAIN_KEYS } from './run-config.js';
import { clearReplaced, runFolderState } from './run-folder.js';
import type { TorchEngineOptions } from './torch-launch.js';
import { checkSeqWarmup } from './seq-warmup.js';

/** One line of metrics.jsonl. */
export interface StepMetrics {
  step: number; // iterations completed
  train_loss: number;
  val_loss?: number;
  /** With stopAtAccuracy: the share of scored validation tokens predicted right. */
  val_accuracy?: number;
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
  /** The validation accuracy at which training ended early (stopAtAccuracy), or null. */
  stoppedAtAccuracy?: number | null;
  outDir: string;
  /** The configuration trained, with the steps its FLOP budget fixed (if it has one). */
  config: TrainConfig;
  model: Transformer;
  tokenizer: Tokenizer;
  /** A torch job's node other than 0: it trained, but node 0 holds the run (model is the untrained one). */
  follower?: boolean;
}

/** How `train` runs. */
export interface TrainOptions {
  resume?: boolean;
  overwrite?: boolean;
  hooks?: TrainHooks;
  corpus?: Corpus;
  source?: TrainingSource;
  /** false skips the refusal of runs larger than this machine's memory (memory.ts). */
  memoryCheck?: boolean;
  /** Train with PyTorch (python/hsm_torch) on these processes instead of the native engine. */
  torch?: TorchEngineOptions;
}

/** A run ready to train: its configuration (budget applied), model, run file, tokenizer and batches. */
export interface PreparedRun {
  cfg: TrainConfig;
  model: Transformer;
  runFile: RunConfigFile;
  startStep: number;
  tokenizer: Tokenizer;
  data: BatchSource;
  /** The text the batches come from, when they come from a corpus or a token folder (null for a library caller's source). */
  text: TextData | null;
  /** Whether the run continues from a checkpoint (false for --resume on a folder whose first save never committed). */
  resumed: boolean;
  /** The log interval metrics.jsonl was written with so far (the larger of the saved and the new one), for its gap check. */
  loggedEvery: number;
}

/** The part both engines share: resolve or reload the run, build the model, open the data. */
export function prepareRun(requested: TrainConfig, opts: TrainOptions): PreparedRun {
  checkSeqWarmup(requested);
  let cfg = requested;
  const dir = cfg.out;
  let model: Transformer,
    runFile: RunConfigFile,
    startStep = 0,
    text: TextData | null = null,
    loggedEvery = cfg.logInterval;
  // A library caller may pass text directly, or a source that is no corpus at all (then cfg.data only names it).
  const openWith = (tokenizer: Tokenizer): TextData =>
    opts.corpus
      ? textFromCorpus(opts.corpus, tokenizer, cfg.valFraction)
      : openTextDataWith(cfg.data, tokenizer, cfg.valFraction);
  let resume = !!opts.resume;
  if (resume) {
    // A scheduler that always passes --resume restarts a run killed before its first checkpoint.
    const state = runFolderState(dir);
    if (state === 'first-save-pending' || state === 'replacing') {
      resume = false;
      opts.hooks?.onWarning?.(
        state === 'replacing'
          ? `${dir}: an --overwrite was interrupted before its first checkpoint; the run it replaced is removed and this one starts from step 0`
          : `${dir} holds no checkpoint yet (the run stopped before its first save committed); starting it from step 0`,
      );
    }
  }
  if (resume) {
    clearReplaced(dir);
    const saved = readRunConfig(dir);
    loggedEvery = Math.max(saved.train.logInterval, cfg.logInterval);
    if (!opts.source) {
      text = openWith(tokenizerFromSpec(saved.tokenizer));
      cfg = { ...cfg, valFraction: text.valFraction }; // a token folder's split is its own
    }
    assertSameRun(saved.train, cfg, dir);
    cfg = applyBudget(cfg, saved.model.vocabSize);
    if (opts.memoryCheck !== false) requireTrainingMemory(saved.model, cfg);
    const loaded = loadModel(dir); // checks the weights against config.json too (checkRunIdentity)
    model = loaded.model;
    runFile = { ...saved, train: cfg }; // schedule changes (e.g. a longer --max-iters) are remembered
    startStep = loaded.step;
  } else {
    if (!opts.overwrite && existsSync(join(dir, 'model.safetensors'))) {
      throw new UserError(
        `${dir} already holds a training run; pass --resume to continue it, --overwrite to start it again, or --out with a new folder`,
      );
    }
    if (!opts.source) {
      text = opts.corpus
        ? openWith(createTokenizer(cfg.tokenizer, opts.corpus.text))
        : openTextData(cfg.data, cfg.tokenizer, cfg.valFraction);
      cfg = { ...cfg, valFraction: text.valFraction };
    }
    const tokenizer = opts.source?.tokenizer ?? text!.tokenizer;
    cfg = applyBudget(cfg, tokenizer.vocabSize);
    const modelConfig = resolveModelConfig(cfg.model, tokenizer.vocabSize);
    if (opts.memoryCheck !== false) requireTrainingMemory(modelConfig, cfg);
    model = new Transformer(modelConfig, { seed: cfg.seed });
    runFile = {
      format: CHECKPOINT_FORMAT,
      runId: randomBytes(16).toString('hex'),
      train: cfg,
      model: modelConfig,
      tokenizer: tokenizer.toJSON(),
    };
  }
  const tokenizer = tokenizerFromSpec(runFile.tokenizer);
  const data: BatchSource = opts.source?.data ?? text!.data;
  data.checkContext(cfg.model.blockSize);
  return { cfg, model, runFile, startStep, tokenizer, data, text, resumed: resume, loggedEvery };
}

/** A run whose loss or gradient norm stopped being finite: a learning-rate sweep records it instead of stopping. */
export class DivergedError extends UserError {}

/**
 * A non-finite loss or gradient norm, as both engines report it (the last checkpoint stays the run's state).
 * On the first two steps after a resume it points at the checkpoint rather than the learning rate: damaged
 * weights that no check sees show up in the first, damaged moments in the second (the first update), while a
 * run that diverges rarely does so on exactly those steps.
 */
export function divergedError(run: PreparedRun, step: number, loss: unknown, gradNorm: unknown): UserError {
  const dir = run.cfg.out;
  if (run.resumed && step <= run.startStep + 2)
    return new UserError(
      `${dir}: step ${step}, ${step - run.startStep === 1 ? 'the first' : 'the second'} after loading the checkpoint of step ${run.startStep}, gave loss ${loss} (gradient norm ${gradNorm}): ` +
        'its weights or optimizer state are most likely damaged; restore the files, or train again with --overwrite',
    );
  return new DivergedError(
    `${dir}: training diverged at step ${step} (loss ${loss}, gradient norm ${gradNorm}); nothing was saved after ` +
      `the last checkpoint: lower lr, raise warmupIters or set gradClip, then --resume or start again`,
  );
}

/** What TrainHooks.onStart reports, the same for both engines. */
export function startInfo(run: PreparedRun, resumed: boolean): Parameters<NonNullable<TrainHooks['onStart']>>[0] {
  return {
    startStep: run.startStep,
    maxIters: run.cfg.maxIters,
    parameters: run.model.params.count,
    vocabSize: run.tokenizer.vocabSize,
    trainTokens: run.data.tokenCount('train'),
    valTokens: run.data.tokenCount('val'),
    resumed,
  };
}

/** The optimizer a run trains with (both engines: the torch engine's step-0 checkpoint holds its empty moments). */
export function newOptimizer(model: Transformer, cfg: TrainConfig): AdamW {
  return new AdamW(model.params.list, {
    lr: cfg.lr,
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    weightDecay: cfg.weightDecay,
    gradClip: cfg.gradClip,
  });
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
  for (const key of FIXED_TRAIN_KEYS.filter((k) => k !== 'model')) {
    if (JSON.stringify(saved[key]) !== JSON.stringify(now[key])) {
      throw new UserError(
        `cannot resume ${dir}: its config.json has ${key}=${JSON.stringify(saved[key])}, not ${JSON.stringify(now[key])}; use the same settings or a new --out folder`,
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
 * steps trained after the checkpoint (damaged lines, a log that ends early,
 * lines missing in between), or null. Every multiple of `logInterval` has a
 * line in a log written with that interval.
 */
export function keepMetricsUpTo(path: string, step: number, logInterval: number): string | null {
  if (!existsSync(path)) return `missing; a new log starts at step ${step + 1}`;
  const damaged: number[] = [];
  const kept: string[] = [];
  const logged = new Set<number>();
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
      logged.add(parsed.data.step);
      last = parsed.data.step;
    }
  });
  writeFileAtomic(path, kept.join(''));
  const notes: string[] = [];
  if (damaged.length)
    notes.push(
      `dropped ${damaged.length} damaged, repeated or out-of-order line(s) (line ${damaged.slice(0, 5).join(', ')}${damaged.length > 5 ? ', …' : ''})`,
    );
  const expected = Math.floor((last - 1) / logInterval);
  const present = [...logged].filter((s) => s < last && s % logInterval === 0).length;
  if (expected > present) {
    const first: number[] = [];
    for (let s = logInterval; s < last && first.length < 5; s += logInterval) if (!logged.has(s)) first.push(s);
    const more = expected - present > first.length ? `, … (${expected - present} in all)` : '';
    notes.push(`no line for step ${first.join(', ')}${more} (deleted?); the log keeps that gap`);
  }
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
