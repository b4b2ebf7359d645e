// Trains and evaluates each run of a grid into DIR/runs/<id>/. A run with a
// result.json is finished and skipped; a run with a checkpoint resumes where
// it stopped (the trainer's exact resume); anything else starts afresh.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCorpus, type Corpus } from '../data/corpus.js';
import { TokenDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { IdTokenizer } from '../data/id-tokenizer.js';
import { MqarData } from '../data/mqar.js';
import { noRecallBaseline, type NoRecallBaseline } from '../data/mqar-baseline.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { createTokenizer } from '../data/tokenizers.js';
import { generateText } from '../generate/generate.js';
import { writeFileAtomic } from '../io/atomic.js';
import { describeModel, modelShapes } from '../model/cost.js';
import type { Transformer } from '../model/transformer.js';
import { committedStep, hasResumableCheckpoint, readRunConfig } from '../train/checkpoint.js';
import { applyBudget, tokensPerStep, trainFlopsPerStep, withWarmup } from '../train/budget.js';
import { resolveModelConfig, type TrainConfig } from '../train/config.js';
import type { TorchEngineOptions } from '../train/torch-launch.js';
import { DivergedError } from '../train/run-setup.js';
import { lossByPosition } from '../train/evaluate.js';
import { openTextData, openTextDataWith } from '../data/text-data.js';
import { ngramLevels, type NgramLevels } from '../data/ngram.js';
import { requireTrainingMemory, train, type StepMetrics, type TrainingSource } from '../train/trainer.js';
import type { EvalSettings, GridRun } from './grid.js';
import { describeRecall, recallAccuracy } from './recall-score.js';
import { decodeSpeed, learningCurve, medianTrainingSpeed, readMetrics } from './measure.js';
import type { RunResult } from './results.js';

export const RESULT_FILE = 'result.json';

/** Where a run stands before this invocation touches it. */
export type RunState = { kind: 'finished'; result: RunResult } | { kind: 'resume'; step: number } | { kind: 'new' };

export interface RunHooks {
  onRunStart?(run: GridRun, info: { startStep: number; maxIters: number }): void;
  onStep?(run: GridRun, m: StepMetrics): void;
  onEvaluate?(run: GridRun): void;
  shouldStop?(): boolean;
  onWarning?(message: string): void;
}

/** A config as compared between invocations: the folder may move, the training must not change. */
function comparable(cfg: TrainConfig): string {
  // A checkpoint keeps the warm-up in steps; a grid (and a result.json written from it) may keep the fraction's default.
  const { out: _, ...rest } = withWarmup(cfg);
  return JSON.stringify(rest);
}

function changedKeys(a: TrainConfig, b: TrainConfig): string {
  const [x, y] = [withWarmup(a), withWarmup(b)];
  const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => k !== 'out');
  return keys
    .filter((k) => JSON.stringify(x[k as keyof TrainConfig]) !== JSON.stringify(y[k as keyof TrainConfig]))
    .join(', ');
}

function assertSameConfig(run: GridRun, saved: TrainConfig): void {
  if (comparable(saved) !== comparable(run.config)) {
    throw new UserError(
      `${run.config.out} was trained with other settings (${changedKeys(saved, run.config)} differ from the grid); ` +
        'delete that run folder to train it again, or use a new --out',
    );
  }
}

export function runState(run: GridRun): RunState {
  const dir = run.config.out;
  const resultPath = join(dir, RESULT_FILE);
  const result = readResult(resultPath);
  if (result) {
    assertSameConfig(run, result.config);
    return { kind: 'finished', result };
  }
  if (hasResumableCheckpoint(dir)) {
    assertSameConfig(run, readRunConfig(dir).train);
    return { kind: 'resume', step: committedStep(dir) };
  }
  return { kind: 'new' };
}

/** A run's result.json, or null when there is none or it cannot be read (the run is then evaluated again). */
function readResult(path: string): RunResult | null {
  if (!existsSync(path)) return null;
  try {
    const result = JSON.parse(readFileSync(path, 'utf8')) as RunResult;
    return result.config ? result : null;
  } catch {
    return null;
  }
}

/** Corpora are loaded once per compare: every run of a text grid shares the same text. */
export class DataCache {
  private corpora = new Map<string, Corpus>();
  private recall = new Map<string, MqarData>();
  private baselines = new Map<string, NoRecallBaseline>();
  private vocabSizes = new Map<string, number>();
  private levels = new Map<string, NgramLevels>();

  corpus(name: string): Corpus {
    let c = this.corpora.get(name);
    if (!c) this.corpora.set(name, (c = loadCorpus(name)));
    return c;
  }

  /** The vocabulary a text run's tokenizer will have (the output head's size). */
  vocabSize(cfg: TrainConfig): number {
    const key = JSON.stringify([cfg.data, cfg.tokenizer]);
    let v = this.vocabSizes.get(key);
    if (v === undefined)
      this.vocabSizes.set(key, (v = createTokenizer(cfg.tokenizer, this.corpus(cfg.data).text).vocabSize));
    return v;
  }

  /** The n-gram reference levels of a text run's split (computed once per corpus, tokenizer and split). */
  referenceLevels(cfg: TrainConfig): NgramLevels {
    const key = JSON.stringify([cfg.data, cfg.tokenizer, cfg.valFraction]);
    let l = this.levels.get(key);
    if (!l) {
      const text = openTextData(cfg.data, cfg.tokenizer, cfg.valFraction);
      this.levels.set(key, (l = ngramLevels(text.data.train, text.data.val, text.tokenizer.vocabSize)));
    }
    return l;
  }

  recallData(run: GridRun): MqarData {
    const spec = run.recall!;
    const key = JSON.stringify(spec);
    let d = this.recall.get(key);
    if (!d) this.recall.set(key, (d = new MqarData(spec, spec)));
    return d;
  }

  /** The recall task's no-recall levels (a simulation for some settings, so computed once per compare). */
  noRecall(run: GridRun): NoRecallBaseline {
    const key = JSON.stringify(run.recall);
    let b = this.baselines.get(key);
    if (!b) this.baselines.set(key, (b = noRecallBaseline(run.recall!)));
    return b;
  }
}

/** The run with its steps fixed by its FLOP budget, when it has one (before its state is compared with a saved run). */
export function withBudget(run: GridRun, data: DataCache): GridRun {
  if (!run.config.budget) return run;
  return { ...run, config: applyBudget(run.config, runVocabSize(run, data)) };
}

/** Training FLOPs of one step of the run (forward + backward, as `hsm info` counts them). */
export function runFlopsPerStep(run: GridRun, data: DataCache): number {
  return trainFlopsPerStep(run.config, runVocabSize(run, data));
}

function runVocabSize(run: GridRun, data: DataCache): number {
  return run.recall ? run.recall.vocabSize : data.vocabSize(run.config);
}

/** Refuses, before any run trains, a grid with a run larger than this machine's memory. */
export function checkRunMemory(run: GridRun, data: DataCache): void {
  requireTrainingMemory(resolveModelConfig(run.config.model, runVocabSize(run, data)), run.config);
}

/** Trains (or resumes) one run and evaluates it; returns null when stopped before the end. */
export async function runOne(
  run: GridRun,
  state: RunState,
  data: DataCache,
  evalSettings: EvalSettings,
  hooks: RunHooks = {},
  torch?: TorchEngineOptions,
): Promise<RunResult | null> {
  if (state.kind === 'finished') return state.result;
  const cfg = run.config;
  const recall = run.recall ? data.recallData(run) : undefined;
  const source: TrainingSource | undefined = recall && {
    tokenizer: new IdTokenizer(run.recall!.vocabSize),
    data: recall,
  };
  const corpus = recall ? undefined : data.corpus(cfg.data);
  hooks.onRunStart?.(run, { startStep: state.kind === 'resume' ? state.step : 0, maxIters: cfg.maxIters });
  let trained;
  try {
    trained = await train(cfg, {
      resume: state.kind === 'resume',
      overwrite: state.kind === 'new',
      corpus,
      source,
      torch,
      hooks: { onStep: (m) => hooks.onStep?.(run, m), shouldStop: hooks.shouldStop, onWarning: hooks.onWarning },
    });
  } catch (err) {
    if (err instanceof DivergedError && run.sweep) {
      // A sweep tries learning rates that may be too high: that is a result, not a failure of the compare.
      const result = divergedResult(run, err.message, runVocabSize(run, data));
      writeFileAtomic(join(cfg.out, RESULT_FILE), JSON.stringify(result, null, 1) + '\n');
      return result;
    }
    if (err instanceof UserError && state.kind === 'resume') {
      throw new UserError(`${run.id}: ${err.message}; or delete ${cfg.out} to train this run again`);
    }
    throw err;
  }
  if (trained.stopped) return null;
  hooks.onEvaluate?.(run);
  const result = evaluateRun(run, trained.model, trained.tokenizer, evalSettings, {
    corpus,
    recall,
    noRecall: recall && data.noRecall(run),
  });
  writeFileAtomic(join(cfg.out, RESULT_FILE), JSON.stringify(result, null, 1) + '\n');
  return result;
}

/** The record of a sweep run that diverged: its curve up to the last finite evaluation, no speed or sample. */
function divergedResult(run: GridRun, message: string, vocabSize: number): RunResult {
  const report = describeModel(modelShapes(resolveModelConfig(run.config.model, vocabSize)));
  const record = runRecord(run, report);
  const losses = record.curve.map((p) => p.val_loss);
  return {
    ...record,
    final_val_loss: NaN,
    best_val_loss: losses.length ? Math.min(...losses) : NaN,
    gen_tokens_per_s: {},
    sample: '',
    diverged: message,
  };
}

/** What every run's result records, finished or diverged: its names, model, budget spent, curve and speed. */
function runRecord(
  run: GridRun,
  report: ReturnType<typeof describeModel>,
): Omit<RunResult, 'final_val_loss' | 'best_val_loss' | 'gen_tokens_per_s' | 'sample'> {
  const cfg = run.config;
  const metrics = readMetrics(cfg.out);
  const steps = metrics.at(-1)?.step ?? 0;
  return {
    id: run.id,
    task: run.task,
    model: run.model,
    plan: cfg.model.plan ?? report.plan,
    seed: run.seed,
    parameters: report.parameters,
    ffn_hidden: report.ffnHidden,
    receptive_field: report.receptiveField,
    covers_context: report.coversContext,
    forward_flops_per_token: report.forwardFlopsPerToken,
    train_flops_per_token: report.trainFlopsPerToken,
    steps,
    tokens_seen: steps * tokensPerStep(cfg),
    train_flops: steps * tokensPerStep(cfg) * report.trainFlopsPerToken,
    train_tokens_per_s: Math.round(medianTrainingSpeed(metrics)),
    wall_time_s: metrics.at(-1)?.elapsed_s ?? 0,
    curve: learningCurve(metrics, cfg, report.trainFlopsPerToken),
    config: cfg,
  };
}

/** The final evaluation of a text run: 50 batches of 8 windows from the validation split. */
const FINAL_EVAL = { batches: 50, batchSize: 8 };

function evaluateRun(
  run: GridRun,
  model: Transformer,
  tokenizer: Tokenizer,
  ev: EvalSettings,
  data: { corpus?: Corpus; recall?: MqarData; noRecall?: NoRecallBaseline },
): RunResult {
  const cfg = run.config;
  const record = runRecord(run, describeModel(model));
  const losses = record.curve.map((p) => p.val_loss);
  let finalLoss = losses.at(-1) ?? NaN;
  const T = cfg.model.blockSize;
  const positions = ev.decodePositions ?? [8, T >> 1, T - 1];
  const scores: Partial<RunResult> = {};
  let sample = '';
  if (data.recall) {
    scores.accuracy = recallAccuracy(data.recall, model);
    scores.no_recall = noRecallRecord(data.noRecall!);
    sample = describeRecall(data.recall, model);
  } else {
    // The final model on a larger validation sample than training's estimates (400 windows, drawn from the run's
    // seed: the same windows for every model at one seed, so gaps paired by seed compare like with like, and other
    // windows at another seed, so the spread over seeds includes the sample's), by position in the window.
    const text = openTextDataWith(cfg.data, tokenizer, cfg.valFraction).data;
    const buckets = lossByPosition(model, text, 'val', FINAL_EVAL.batches, FINAL_EVAL.batchSize, cfg.seed + 2);
    scores.val_loss_by_position = buckets;
    finalLoss = buckets.reduce((s, b) => s + b.loss * b.tokens, 0) / buckets.reduce((s, b) => s + b.tokens, 0);
    scores.perplexity = Math.exp(finalLoss);
    scores.bits_per_char = (finalLoss / Math.LN2) * tokensPerChar(data.corpus!, tokenizer, cfg.valFraction);
    if (ev.sampleTokens > 0) {
      sample = generateText(model, tokenizer, ev.samplePrompt, {
        maxTokens: ev.sampleTokens,
        temperature: ev.temperature,
        seed: ev.sampleSeed,
      });
    }
  }
  return {
    ...record,
    final_val_loss: finalLoss,
    best_val_loss: Math.min(...losses),
    ...scores,
    gen_tokens_per_s: decodeSpeed(model, positions, ev.decodeRepeats),
    sample,
  };
}

/** The no-recall levels as results.json records them. */
function noRecallRecord(b: NoRecallBaseline): NonNullable<RunResult['no_recall']> {
  return {
    accuracy: b.bag.accuracy,
    cross_entropy: b.bag.crossEntropy,
    ...(b.afterAnswers && {
      after_answers: {
        accuracy: b.afterAnswers.accuracy,
        cross_entropy: b.afterAnswers.crossEntropy,
        sequences: b.afterAnswers.sequences,
      },
    }),
  };
}

/** Validation tokens per character: converts bits per token into bits per character (1 for char tokenizers). */
function tokensPerChar(corpus: Corpus, tokenizer: Tokenizer, valFraction: number): number {
  if (tokenizer.kind === 'char') return 1;
  const data = TokenDataset.fromText(corpus.text, tokenizer, { valFraction });
  return data.val.length / [...tokenizer.decode(data.val)].length;
}
