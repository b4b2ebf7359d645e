// results.json: one record per finished run, and per model the mean ± spread
// over seeds with the difference to the baseline.
import type { TrainConfig } from '../train/config.js';
import type { Grid } from './grid.js';
import type { CurvePoint } from './measure.js';
import type { NgramLevels } from '../data/ngram.js';
import type { PositionBucket } from '../train/evaluate.js';

export const RESULTS_FORMAT = 'hsm-compare/1';

export interface RunResult {
  id: string;
  task: string;
  model: string;
  /** The layer plan as built (placeholders filled in). */
  plan: string;
  seed: number;
  parameters: number;
  ffn_hidden: number;
  receptive_field: number;
  covers_context: boolean;
  forward_flops_per_token: number;
  train_flops_per_token: number;
  steps: number;
  tokens_seen: number;
  /** Training FLOPs spent (tokens seen × train FLOPs per token); absent in results written before FLOP budgets. */
  train_flops?: number;
  /** Text tasks: the final model on 400 validation windows (50 batches of 8); recall: training's last estimate. */
  final_val_loss: number;
  best_val_loss: number;
  /** Text tasks: e^loss, and bits per character of the validation text. */
  perplexity?: number;
  bits_per_char?: number;
  /** Text tasks: the final evaluation's loss by position bucket of the window (its token-weighted mean is the final loss). */
  val_loss_by_position?: PositionBucket[];
  /** Recall task: share of held-out queries answered right. */
  accuracy?: number;
  /**
   * Recall task: what a model scores that knows the values in the pairs but
   * not which key holds which (the bag of values); with answers in the input
   * also the bag less the values answered so far. Absent in results written
   * before it was recorded.
   */
  no_recall?: NoRecall;
  train_tokens_per_s: number;
  /** Generated tokens/s by position. */
  gen_tokens_per_s: Record<string, number>;
  /** Training wall time (with its evaluations), summed over resumed sessions. */
  wall_time_s: number;
  /** Generated text, or for recall one held-out sequence with the model's answers. */
  sample: string;
  curve: CurvePoint[];
  config: TrainConfig;
  /** A sweep run whose loss stopped being finite: the trainer's message (its losses are the last finite ones, or null). */
  diverged?: string;
}

/** A recall task's no-recall levels (src/data/mqar-baseline.ts). */
export interface NoRecall {
  accuracy: number;
  cross_entropy: number;
  after_answers?: { accuracy: number; cross_entropy: number; sequences: number };
}

/** Mean over seeds, and the spread: half the range (max − min) / 2. */
export interface Stat {
  mean: number;
  spread: number;
  n: number;
}

export interface ModelSummary {
  task: string;
  model: string;
  plan: string;
  note?: string;
  seeds: number[];
  parameters: number;
  train_flops_per_token: number;
  steps: Stat;
  train_flops: Stat;
  final_val_loss: Stat;
  best_val_loss: Stat;
  bits_per_char?: Stat;
  accuracy?: Stat;
  /** Recall task: the no-recall levels of this task (the same for every model on it). */
  no_recall?: NoRecall;
  train_tokens_per_s: Stat;
  wall_time_s: Stat;
  gen_tokens_per_s: Record<string, Stat>;
  /**
   * Against the baseline's means on the same task: loss difference (and relative), accuracy difference.
   * final_val_loss_spread: half the range of the per-seed differences, over the seeds both finished (paired by
   * seed; absent with fewer than two).
   */
  vs_baseline: {
    /** The model compared with: the grid's baseline, or the one this model names. */
    model: string;
    final_val_loss: number;
    final_val_loss_rel: number;
    final_val_loss_spread?: number;
    accuracy?: number;
  } | null;
}

export interface CompareResults {
  format: string;
  grid: {
    name: string;
    description: string;
    baseline: string;
    seeds: number[];
    models: Grid['models'];
    budgets?: Grid['budgets'];
  };
  created: string;
  machine: { cpus: number; backend: string };
  /** The command, commit and machine of the invocation that wrote these results. */
  provenance?: Record<string, unknown>;
  runs_total: number;
  runs_finished: number;
  runs: RunResult[];
  summary: ModelSummary[];
  /** Per text task: the n-gram cross-entropy of its validation split under counts from its training split (data/ngram.ts). */
  reference_levels?: Record<string, NgramLevels>;
  /** The settings sweep: every combination tried per family and which one it kept (grids with a sweep). */
  sweep?: SweepRow[];
}

export function stat(values: number[]): Stat {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return { mean, spread: values.length > 1 ? (Math.max(...values) - Math.min(...values)) / 2 : 0, n: values.length };
}

/** Per task and model (in grid order), statistics over the seeds that finished. */
export function summarize(grid: Grid, runs: RunResult[]): ModelSummary[] {
  const tasks = [...new Set(runs.map((r) => r.task))];
  const out: ModelSummary[] = [];
  for (const task of tasks) {
    const baselineOf = (name: string) => {
      const baseRuns = runs.filter((r) => r.task === task && r.model === name);
      if (baseRuns.length === 0) return null;
      return {
        name,
        loss: stat(baseRuns.map((r) => r.final_val_loss)).mean,
        acc: optionalStat(baseRuns, 'accuracy')?.mean,
        lossBySeed: new Map(baseRuns.map((r) => [r.seed, r.final_val_loss])),
      };
    };
    for (const m of grid.models) {
      const rs = runs.filter((r) => r.task === task && r.model === m.name);
      if (rs.length === 0) continue;
      const loss = stat(rs.map((r) => r.final_val_loss));
      const accuracy = optionalStat(rs, 'accuracy');
      const positions = Object.keys(rs[0].gen_tokens_per_s);
      const baseName = m.baseline ?? grid.baseline;
      const base = baseName === m.name ? null : baselineOf(baseName);
      out.push({
        task,
        model: m.name,
        plan: rs[0].plan,
        note: m.note,
        seeds: rs.map((r) => r.seed),
        parameters: rs[0].parameters,
        train_flops_per_token: rs[0].train_flops_per_token,
        steps: stat(rs.map((r) => r.steps)),
        train_flops: stat(rs.map((r) => r.train_flops ?? r.tokens_seen * r.train_flops_per_token)),
        final_val_loss: loss,
        best_val_loss: stat(rs.map((r) => r.best_val_loss)),
        bits_per_char: optionalStat(rs, 'bits_per_char'),
        accuracy,
        ...(rs[0].no_recall && { no_recall: rs[0].no_recall }),
        train_tokens_per_s: stat(rs.map((r) => r.train_tokens_per_s)),
        wall_time_s: stat(rs.map((r) => r.wall_time_s)),
        gen_tokens_per_s: Object.fromEntries(positions.map((p) => [p, stat(rs.map((r) => r.gen_tokens_per_s[p]))])),
        vs_baseline: base
          ? {
              model: base.name,
              final_val_loss: loss.mean - base.loss,
              final_val_loss_rel: (loss.mean - base.loss) / base.loss,
              ...pairedSpread(rs, base.lossBySeed),
              ...(accuracy && base.acc !== undefined ? { accuracy: accuracy.mean - base.acc } : {}),
            }
          : null,
      });
    }
  }
  return out;
}

/** Half the range of the model's loss minus the baseline's, seed by seed, when at least two seeds have both. */
function pairedSpread(runs: RunResult[], baseLossBySeed: Map<number, number>): { final_val_loss_spread?: number } {
  const gaps = runs
    .filter((r) => baseLossBySeed.has(r.seed))
    .map((r) => r.final_val_loss - baseLossBySeed.get(r.seed)!);
  return gaps.length > 1 ? { final_val_loss_spread: stat(gaps).spread } : {};
}

function optionalStat(runs: RunResult[], key: 'accuracy' | 'bits_per_char'): Stat | undefined {
  const values = runs.map((r) => r[key]).filter((v): v is number => v !== undefined);
  return values.length === runs.length ? stat(values) : undefined;
}

/** One combination tried: its settings and how it ended (loss null when it diverged). */
export interface SweepRow {
  family: string;
  /** The recall length the combination was tried at (recall grids pick per length). */
  task?: string;
  model: string;
  lr: number;
  minLr: number;
  batchSize: number;
  seeds: number[];
  /** Mean final validation loss over the sweep's seeds; null when a seed diverged. */
  final_val_loss: number | null;
  /** Recall: mean held-out accuracy over the sweep's seeds (null when a seed diverged); what the pick maximises. */
  accuracy?: number | null;
  steps: number;
  train_flops: number;
  diverged: boolean;
  picked: boolean;
}
