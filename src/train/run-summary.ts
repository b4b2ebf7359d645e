// A finished training run in a few numbers (val loss, speed, wall time, parameters) with
// where it ran: what `hsm train --summary FILE` writes and what a preset's committed
// reference runs (docs/results/quickstart/) hold.
import { readFileSync } from 'node:fs';
import { makeFolder } from '../io/folders.js';
import { dirname } from 'node:path';
import { loadavg } from 'node:os';
import { z } from 'zod';
import { writeFileAtomic } from '../io/atomic.js';
import { runProvenance } from '../report/provenance.js';
import { median } from '../report/stats.js';
import { describeZodError } from '../errors.js';
import type { TrainConfig } from './config.js';

export const RUN_SUMMARY_KIND = 'hsm-train-summary';

const finite = z.number().finite();

export const RunSummarySchema = z.object({
  kind: z.literal(RUN_SUMMARY_KIND),
  preset: z.string().nullable(),
  plan: z.string(),
  parameters: z.number().int().positive(),
  final_val_loss: finite.positive(),
  best_val_loss: finite.positive().nullable(),
  steps: z.number().int().positive(),
  tokens_seen: z.number().int().positive(),
  /** Median over the run's steps of (tokens per step / step time): evaluation and checkpoints excluded. */
  train_tokens_per_s: finite.positive(),
  /** Training wall time: metrics.jsonl's elapsed_s at the last step (evaluations included, data loading not). */
  wall_s: finite.positive(),
  backend: z.string(),
  threads: z.number().int().positive(),
  /** The training configuration (budget, data, model section) the numbers belong to. */
  train: z.record(z.unknown()),
  /** Command, commit, date, machine and load when it ran. */
  provenance: z.record(z.unknown()),
});

export type RunSummary = z.infer<typeof RunSummarySchema>;

/** What a run's end looks like from the outside: its configuration, final numbers and per-step speeds. */
export interface FinishedRun {
  cfg: TrainConfig;
  preset: string | null;
  parameters: number;
  step: number;
  finalValLoss: number;
  bestValLoss: number | null;
  /** tokens_per_s of every step trained in this process. */
  stepTokensPerS: number[];
  elapsedS: number;
  backend: string;
  threads: number;
}

/** The plan a configuration trains, spelled out (GPT has no plan field: attention in every block). */
export function planOf(cfg: TrainConfig): string {
  return cfg.model.plan ?? `attn*${cfg.model.nLayer}`;
}

/** The summary of a finished run (pure; `provenance` comes from the caller). */
export function summarizeRun(run: FinishedRun, provenance: Record<string, unknown>): RunSummary {
  const { cfg } = run;
  return {
    kind: RUN_SUMMARY_KIND,
    preset: run.preset,
    plan: planOf(cfg),
    parameters: run.parameters,
    final_val_loss: run.finalValLoss,
    best_val_loss: run.bestValLoss,
    steps: run.step,
    tokens_seen: run.step * cfg.batchSize * cfg.gradAccum * cfg.model.blockSize,
    train_tokens_per_s: median(run.stepTokensPerS),
    wall_s: run.elapsedS,
    backend: run.backend,
    threads: run.threads,
    train: cfg as unknown as Record<string, unknown>,
    provenance,
  };
}

/** Provenance of a run on this machine: command, commit, date, CPU, plus the HSM_* settings and the load average at the end. */
export function machineProvenance(): Record<string, unknown> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k === 'HSM_THREADS' || k === 'HSM_BACKEND' || k === 'HSM_ISA'),
  );
  return { ...runProvenance(), env, load_average: loadavg().map((x) => Math.round(x * 100) / 100) };
}

export function writeRunSummary(path: string, summary: RunSummary): void {
  makeFolder(dirname(path), 'summary folder');
  writeFileAtomic(path, JSON.stringify(summary, null, 2) + '\n');
}

/** A summary file, read and checked; never throws: a missing or damaged file is a one-line reason. */
export function readRunSummary(path: string, shownAs = path): { summary: RunSummary } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      problem: code === 'ENOENT' ? `${shownAs} is missing` : `${shownAs} cannot be read (${code ?? String(err)})`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { problem: `${shownAs} is not valid JSON` };
  }
  const parsed = RunSummarySchema.safeParse(json);
  if (!parsed.success) return { problem: `${shownAs} is not a run summary (${describeZodError(parsed.error)})` };
  return { summary: parsed.data };
}
