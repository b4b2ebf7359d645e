/**
 * One measurement of `hsm bench scaling`, run in a fresh Node process so that
 * its peak resident set (process.resourceUsage().maxRSS) belongs to that model
 * and context alone. Takes a JSON job as its only argument, prints one JSON
 * object on stdout.
 */
import { kernels, nativeBackend } from '../backend/index.js';
import type { BlockStyleName } from '../model/block-style.js';
import { parsePlan } from '../model/plan.js';
import { benchDecode } from './decode.js';
import { attentionRecords } from './kernels.js';
import { round } from './timing.js';
import { timeTrainingSteps } from './training-steps.js';

/** The model a job builds: the one resolveScalingModel chose at that context. */
export interface JobModel {
  plan: string;
  nHead: number;
  nEmbd: number;
  style?: BlockStyleName;
  ffnHidden?: number;
}

export interface TrainJob {
  kind: 'train';
  model: JobModel;
  context: number;
  batch: number;
  vocab: number;
  steps: number;
  warmup: number;
  threads: number;
  /** Also time the fused attention kernel at this shape (models with attention). */
  attention: boolean;
}

export interface DecodeJob {
  kind: 'decode';
  model: JobModel;
  positions: number[];
  threads: number;
}

export type ScalingJob = TrainJob | DecodeJob;

const peakRssMb = (): number => round(process.resourceUsage().maxRSS / 1024, 1); // maxRSS is in KiB
// The process's own floor (Node, V8, the loaded modules and the addon), read before any work.
const baselineRssMb = peakRssMb();

function runTrain(job: TrainJob): Record<string, unknown> {
  const m = job.model;
  const { record } = timeTrainingSteps(
    m.plan,
    {
      nLayer: parsePlan(m.plan).length,
      nHead: m.nHead,
      nEmbd: m.nEmbd,
      blockSize: job.context,
      batchSize: job.batch,
      vocabSize: job.vocab,
      plan: m.plan,
      style: m.style,
      ffnHidden: m.ffnHidden,
    },
    { steps: job.steps, warmup: job.warmup, threads: job.threads, profile: false, seed: 1337 },
  );
  const out: Record<string, unknown> = {
    train_tokens_per_s: record.tokens_per_s,
    train_ms_per_step: record.ms_per_step,
    train_ms_per_step_best: record.ms_per_step_best,
    params: record.params,
    peak_rss_mb: peakRssMb(), // read before the attention timing below allocates anything
    baseline_rss_mb: baselineRssMb,
  };
  if (job.attention) {
    const dh = job.model.nEmbd / job.model.nHead;
    const [fwd, bwd] = attentionRecords(kernels(), job.threads, 1000, {
      b: job.batch,
      h: job.model.nHead,
      t: job.context,
      dh,
    });
    out.attention_gflops = { forward: round(fwd.gflops, 1), backward: round(bwd.gflops, 1) };
    out.attention_gflops_of = `fused causal attention kernel alone at B${job.batch} H${job.model.nHead} T${job.context} D${dh}; FLOPs counted dense (forward 4·B·H·T²·D, backward 10·B·H·T²·D), as PyTorch comparisons do`;
  }
  return out;
}

function runDecode(job: DecodeJob): Record<string, unknown> {
  let result: Record<string, unknown> = {};
  benchDecode({
    plans: [job.model.plan],
    style: job.model.style,
    ffnHidden: job.model.ffnHidden,
    positions: job.positions,
    nEmbd: job.model.nEmbd,
    nHead: job.model.nHead,
    emit: (r) => (result = r),
  });
  return { gen_ms_per_token: result.ms_per_token, peak_rss_mb: peakRssMb() };
}

function main(): void {
  const job = JSON.parse(process.argv[2] ?? '{}') as ScalingJob;
  const native = nativeBackend();
  if (native) native.setThreads(job.threads);
  const out = job.kind === 'train' ? runTrain(job) : runDecode(job);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main();
