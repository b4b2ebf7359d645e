/**
 * Times training steps of one model and batch shape in our engine, any layer
 * plan: the step is the trainer's own (src/train/step.ts) on random token
 * batches made before timing. `hsm bench train` and the scaling worker use it.
 */
import { Tape } from '../autograd/tape.js';
import { kernels } from '../backend/index.js';
import type { BlockStyleName } from '../model/block-style.js';
import { describeModel } from '../model/cost.js';
import { Transformer } from '../model/transformer.js';
import { AdamW } from '../optim/adamw.js';
import { PRESETS } from '../train/config.js';
import type { Batch } from '../data/dataset.js';
import { trainStep, type StepPhase } from '../train/step.js';
import { Rng } from '../tensor/random.js';
import { profileSteps } from './step-profile.js';
import { median, round } from './timing.js';

/** One model and batch shape to benchmark. */
export interface TrainBenchConfig {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  batchSize: number;
  vocabSize: number;
  /** Layer plan (default: Transformer). HSM plans are compared with `baseline`, the GPT configuration of the same shape. */
  plan?: string;
  baseline?: string;
  /** FFN hidden width (default 4·nEmbd); a parameter-matched HSM plan has its own. */
  ffnHidden?: number;
  /** Block style (default gpt2). */
  style?: BlockStyleName;
}

const shakespeare = PRESETS['shakespeare-char-cpu'];

/** Optimizer settings of the shakespeare-char-cpu preset, used by both engines (they do not change the work). */
export const BENCH_OPTIMIZER = {
  lr: shakespeare.lr ?? 1e-3,
  beta2: shakespeare.beta2 ?? 0.99,
  weightDecay: shakespeare.weightDecay ?? 0.1,
  gradClip: shakespeare.gradClip ?? 1.0,
};

export interface StepTimingOptions {
  /** Timed steps. */
  steps: number;
  /** Untimed steps before them. */
  warmup: number;
  /** Thread count to report (the caller sets it). */
  threads: number;
  /** Add a per-phase and per-kernel breakdown from a second pass. */
  profile: boolean;
  /** Seed of the weights and the batches. */
  seed: number;
}

export interface StepTiming {
  /** The `engine: 'hsm'` record of `hsm bench train`. */
  record: Record<string, unknown>;
  tokensPerS: number;
  tokensPerSBest: number;
  /** Forward + backward FLOPs per token, `describeModel`'s count (as `hsm info` prints it). */
  trainFlopsPerToken: number;
}

/** Random token batches, x = seq[:-1] and y = seq[1:] of B random sequences of T+1 tokens. */
function randomBatches(rng: Rng, n: number, B: number, T: number, V: number): Batch[] {
  const out: Batch[] = [];
  const seq = new Int32Array(T + 1);
  for (let i = 0; i < n; i++) {
    const x = new Int32Array(B * T),
      y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t <= T; t++) seq[t] = rng.int(V);
      x.set(seq.subarray(0, T), b * T);
      y.set(seq.subarray(1), b * T);
    }
    out.push({ x, y });
  }
  return out;
}

/**
 * Times `steps` training steps (after `warmup`) of one configuration; the
 * median step gives tokens_per_s, the best step tokens_per_s_best.
 */
export function timeTrainingSteps(name: string, cfg: TrainBenchConfig, o: StepTimingOptions): StepTiming {
  const { batchSize: B, blockSize: T } = cfg;
  const { steps, warmup } = o;
  const model = new Transformer(
    {
      vocabSize: cfg.vocabSize,
      blockSize: T,
      nLayer: cfg.nLayer,
      nHead: cfg.nHead,
      nEmbd: cfg.nEmbd,
      plan: cfg.plan,
      ffnHidden: cfg.ffnHidden,
      style: cfg.style,
    },
    { seed: o.seed },
  );
  const optimizer = new AdamW(model.params.list, { ...BENCH_OPTIMIZER, beta1: 0.9 });
  const tape = new Tape();
  const batches = randomBatches(new Rng(o.seed + 1), warmup + steps, B, T, cfg.vocabSize);
  const step = (i: number, mark?: (p: StepPhase) => void): number =>
    trainStep({ model, optimizer, tape, batchSize: B, context: T, batch: () => batches[i % batches.length], mark })
      .loss;

  const losses: number[] = [],
    times: number[] = [];
  for (let i = 0; i < warmup; i++) losses.push(step(i));
  for (let i = warmup; i < warmup + steps; i++) {
    const t0 = performance.now();
    losses.push(step(i));
    times.push(performance.now() - t0);
  }
  const med = median(times),
    best = Math.min(...times);
  // Training FLOPs as `hsm info` counts them (forward + backward = 3 × forward, at full context).
  const flopsPerToken = describeModel(model).trainFlopsPerToken;
  const gflopsAt = (ms: number) => (flopsPerToken * B * T) / (ms * 1e6);
  const K = kernels();
  const record: Record<string, unknown> = {
    bench: 'train',
    config: name,
    engine: 'hsm',
    tokens_per_s: round((B * T) / (med / 1000), 1),
    tokens_per_s_best: round((B * T) / (best / 1000), 1),
    ms_per_step: round(med),
    ms_per_step_best: round(best),
    ms_per_step_mean: round(times.reduce((a, b) => a + b, 0) / times.length),
    train_flops_per_token: flopsPerToken,
    gflops: round(gflopsAt(med), 3),
    gflops_best: round(gflopsAt(best), 3),
    steps,
    warmup,
    threads: o.threads,
    params: model.params.count,
    batch: B,
    context: T,
    n_layer: cfg.nLayer,
    n_head: cfg.nHead,
    n_embd: cfg.nEmbd,
    vocab: cfg.vocabSize,
    tokens_per_step: B * T,
    loss_first: round(losses[0], 4),
    loss_last: round(losses[losses.length - 1], 4),
    backend: K.name,
    ...('isa' in K ? { isa: (K as { isa: string }).isa } : {}),
  };
  if (o.profile) Object.assign(record, profileSteps(K, steps, warmup, step));
  return {
    record,
    tokensPerS: (B * T) / (med / 1000),
    tokensPerSBest: (B * T) / (best / 1000),
    trainFlopsPerToken: flopsPerToken,
  };
}
