/**
 * `hsm bench train`: training throughput (tokens/s) of a GPT in this engine and
 * in PyTorch, in the same run, as JSON Lines records.
 *
 * Per configuration: one `engine: 'hsm'` record, one `engine: 'torch'` record
 * (from tools/bench_torch_train.py: nanoGPT's model and eager CPU loop), then
 * one ratio record. Both engines do the work of one training step the way
 * their real loops do — ours as src/train/trainer.ts (zeroGrad, forward,
 * backward, release, clipped AdamW step), PyTorch's as nanoGPT's train.py
 * (forward, backward, clip_grad_norm_, AdamW step, zero_grad(set_to_none)) —
 * on random token batches made before timing, and both are timed the same way:
 * `warmup` untimed steps, then `steps` timed steps; the median step gives
 * tokens_per_s and the ratio, the best step is reported beside it.
 *
 * With `profile`, a second pass of `steps` steps (after the timed pass, so the
 * headline numbers carry no instrumentation) times the phases of a step and
 * every kernel call, attributed to its phase, and adds them to the hsm record;
 * the torch record gets the same phase split.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tape } from '../autograd/tape.js';
import { kernels, nativeBackend, type Kernels, type MatmulOptions } from '../backend/index.js';
import { UserError } from '../errors.js';
import { Transformer } from '../model/transformer.js';
import { AdamW } from '../optim/adamw.js';
import { PRESETS } from '../train/config.js';
import { Rng } from '../tensor/random.js';
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
}

const shakespeare = PRESETS['shakespeare-char-cpu'];

/** The configurations `hsm bench train` knows, by the name records carry in `config`. */
export const TRAIN_BENCH_CONFIGS: Record<string, TrainBenchConfig> = {
  // The preset itself (4 layers, 4 heads, d=128, context 64, batch 12) with its character vocabulary of 65.
  'shakespeare-char-cpu': {
    nLayer: shakespeare.model?.nLayer ?? 4, nHead: shakespeare.model?.nHead ?? 4, nEmbd: shakespeare.model?.nEmbd ?? 128,
    blockSize: shakespeare.model?.blockSize ?? 64, batchSize: shakespeare.batchSize ?? 12, vocabSize: 65,
  },
  // HSM vs GPT at the GPT baseline's width and depth (the shakespeare-char-cpu model: 4 layers, 4 heads, d=128),
  // 4,096 tokens per step, at contexts 256 and 2048.
  'd128-ctx256': { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 256, batchSize: 16, vocabSize: 65 },
  'd128-ctx256-hsm-ab': { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 256, batchSize: 16, vocabSize: 65, plan: 'hsm:ab*4', baseline: 'd128-ctx256' },
  'd128-ctx2048': { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 2048, batchSize: 2, vocabSize: 65 },
  'd128-ctx2048-hsm-ab': { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 2048, batchSize: 2, vocabSize: 65, plan: 'hsm:ab*4', baseline: 'd128-ctx2048' },
  // The same comparison at twice the width.
  'd256-ctx256': { nLayer: 4, nHead: 4, nEmbd: 256, blockSize: 256, batchSize: 16, vocabSize: 65 },
  // The same width, depth and tokens per step with every mixer HSM (issue: HSM vs GPT training speed).
  'd256-ctx256-hsm-ab': { nLayer: 4, nHead: 4, nEmbd: 256, blockSize: 256, batchSize: 16, vocabSize: 65, plan: 'hsm:ab*4', baseline: 'd256-ctx256' },
  'd256-ctx2048': { nLayer: 4, nHead: 4, nEmbd: 256, blockSize: 2048, batchSize: 2, vocabSize: 65 },
  'd256-ctx2048-hsm-ab': { nLayer: 4, nHead: 4, nEmbd: 256, blockSize: 2048, batchSize: 2, vocabSize: 65, plan: 'hsm:ab*4', baseline: 'd256-ctx2048' },
};

/** What `hsm bench train` runs by default: the two PyTorch comparisons. */
export const DEFAULT_TRAIN_BENCH = ['shakespeare-char-cpu', 'd256-ctx256'];

/** Optimizer settings of the shakespeare-char-cpu preset, used by both engines (they do not change the work). */
const OPTIM = {
  lr: shakespeare.lr ?? 1e-3, beta2: shakespeare.beta2 ?? 0.99,
  weightDecay: shakespeare.weightDecay ?? 0.1, gradClip: shakespeare.gradClip ?? 1.0,
};

export interface TrainBenchOptions {
  /** Timed steps per engine and configuration (default 30). */
  steps?: number;
  /** Untimed steps before them (default 5). */
  warmup?: number;
  /** Threads for both engines (default: the native backend's current count). */
  threads?: number;
  /** Names from TRAIN_BENCH_CONFIGS (default: all of them). */
  configs?: string[];
  /** Run the PyTorch comparison (default true). */
  torch?: boolean;
  /** Add a per-phase and per-kernel time breakdown (from an extra pass) to the records. */
  profile?: boolean;
  /**
   * Extra environment variables for the PyTorch process (e.g. OMP_WAIT_POLICY: 'PASSIVE'), on top of
   * OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS = threads; the torch record lists them in torch_env.
   */
  torchEnv?: Record<string, string>;
  /** Seed of the weights and the random batches (default 1337). */
  seed?: number;
  emit: (record: Record<string, unknown>) => void;
}


/** Random token batches, x = seq[:-1] and y = seq[1:] of B random sequences of T+1 tokens. */
function randomBatches(rng: Rng, n: number, B: number, T: number, V: number): { x: Int32Array; y: Int32Array }[] {
  const out: { x: Int32Array; y: Int32Array }[] = [];
  const seq = new Int32Array(T + 1);
  for (let i = 0; i < n; i++) {
    const x = new Int32Array(B * T), y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t <= T; t++) seq[t] = rng.int(V);
      x.set(seq.subarray(0, T), b * T);
      y.set(seq.subarray(1), b * T);
    }
    out.push({ x, y });
  }
  return out;
}

type Phase = 'zero_grad' | 'forward' | 'backward' | 'release' | 'optimizer';
const PHASES: Phase[] = ['zero_grad', 'forward', 'backward', 'release', 'optimizer'];

/**
 * Wraps every kernel of K to add its wall time to the current phase; returns
 * the accumulators and a function that restores the original kernels.
 */
function instrument(K: Kernels, phase: () => Phase) {
  const byKernel = new Map<string, { ms: number; calls: number }>(); // "phase kernel"
  const byMatmul = new Map<string, { ms: number; calls: number; flops: number }>(); // "phase shape"
  const target = K as unknown as Record<string, unknown>;
  const originals = new Map<string, unknown>();
  for (const [name, fn] of Object.entries(target)) {
    if (typeof fn !== 'function' || name === 'threads' || name === 'setThreads') continue;
    originals.set(name, fn);
    const f = fn as (...args: unknown[]) => unknown;
    target[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      const r = f.apply(K, args);
      const ms = performance.now() - t0;
      const key = `${phase()} ${name}`;
      const e = byKernel.get(key) ?? { ms: 0, calls: 0 };
      e.ms += ms; e.calls++;
      byKernel.set(key, e);
      if (name === 'matmul') {
        const [, , , m, k, n, o] = args as [unknown, unknown, unknown, number, number, number, MatmulOptions | undefined];
        const batch = o?.batch ?? 1;
        const shape = `${batch > 1 ? `${batch}x` : ''}${m}x${k}x${n}${o?.transA ? ' At' : ''}${o?.transB ? ' Bt' : ''}${o?.accumulate ? ' acc' : ''}`;
        const mk = `${phase()} ${shape}`;
        const me = byMatmul.get(mk) ?? { ms: 0, calls: 0, flops: 0 };
        me.ms += ms; me.calls++; me.flops += 2 * m * k * n * batch;
        byMatmul.set(mk, me);
      }
      return r;
    };
  }
  const restore = () => {
    for (const [name, fn] of originals) target[name] = fn;
  };
  return { byKernel, byMatmul, restore };
}

export interface HsmRun {
  record: Record<string, unknown>;
  tokensPerS: number;
  tokensPerSBest: number;
}

/** Times `steps` training steps (after `warmup`) of one configuration in our engine. */
export function benchHsm(name: string, cfg: TrainBenchConfig, steps: number, warmup: number, threads: number, profile: boolean, seed: number): HsmRun {
  const { batchSize: B, blockSize: T } = cfg;
  const model = new Transformer({ vocabSize: cfg.vocabSize, blockSize: T, nLayer: cfg.nLayer, nHead: cfg.nHead, nEmbd: cfg.nEmbd, plan: cfg.plan }, { seed });
  const optimizer = new AdamW(model.params.list, {
    lr: OPTIM.lr, beta1: 0.9, beta2: OPTIM.beta2, weightDecay: OPTIM.weightDecay, gradClip: OPTIM.gradClip,
  });
  const tape = new Tape();
  const batches = randomBatches(new Rng(seed + 1), warmup + steps, B, T, cfg.vocabSize);

  // One step of src/train/trainer.ts (gradAccum 1), with a hook between phases.
  const step = (i: number, mark: (p: Phase) => void): number => {
    const { x, y } = batches[i % batches.length];
    mark('zero_grad');
    optimizer.zeroGrad();
    mark('forward');
    const loss = tape.record(() => model.loss(x, y, B, T));
    const value = loss.item();
    mark('backward');
    tape.backward(loss);
    mark('release');
    tape.release();
    mark('optimizer');
    optimizer.step();
    return value;
  };
  const noMark = () => {};

  const losses: number[] = [], times: number[] = [];
  for (let i = 0; i < warmup; i++) losses.push(step(i, noMark));
  for (let i = warmup; i < warmup + steps; i++) {
    const t0 = performance.now();
    losses.push(step(i, noMark));
    times.push(performance.now() - t0);
  }
  const med = median(times), best = Math.min(...times);
  const K = kernels();
  const record: Record<string, unknown> = {
    bench: 'train', config: name, engine: 'hsm',
    tokens_per_s: round((B * T) / (med / 1000), 1), tokens_per_s_best: round((B * T) / (best / 1000), 1),
    ms_per_step: round(med), ms_per_step_best: round(best), ms_per_step_mean: round(times.reduce((a, b) => a + b, 0) / times.length),
    steps, warmup, threads, params: model.params.count,
    batch: B, context: T, n_layer: cfg.nLayer, n_head: cfg.nHead, n_embd: cfg.nEmbd, vocab: cfg.vocabSize, tokens_per_step: B * T,
    loss_first: round(losses[0], 4), loss_last: round(losses[losses.length - 1], 4),
    backend: K.name, ...('isa' in K ? { isa: (K as { isa: string }).isa } : {}),
  };
  if (profile) Object.assign(record, profileHsm(K, steps, warmup, step));
  return { record, tokensPerS: (B * T) / (med / 1000), tokensPerSBest: (B * T) / (best / 1000) };
}

/** A second pass of `steps` steps with every phase and kernel call timed. */
function profileHsm(K: Kernels, steps: number, warmup: number, step: (i: number, mark: (p: Phase) => void) => number) {
  let phase: Phase = 'zero_grad';
  const phaseTimes = new Map<Phase, number[]>(PHASES.map((p) => [p, []]));
  const inst = instrument(K, () => phase);
  try {
    for (let i = 0; i < steps; i++) {
      const perPhase = new Map<Phase, number>();
      phase = 'zero_grad';
      let last = performance.now();
      step(warmup + i, (p) => {
        const now = performance.now();
        perPhase.set(phase, (perPhase.get(phase) ?? 0) + now - last);
        phase = p;
        last = now;
      });
      perPhase.set(phase, (perPhase.get(phase) ?? 0) + performance.now() - last);
      for (const p of PHASES) phaseTimes.get(p)!.push(perPhase.get(p) ?? 0);
    }
  } finally {
    inst.restore();
  }
  const profile: Record<string, number> = {};
  for (const p of PHASES) profile[`${p}_ms`] = round(median(phaseTimes.get(p)!));
  // Kernel time per step (mean over the pass) by phase, and the rest of each phase: JS, autograd and allocation overhead.
  const kernelsMs: Record<string, Record<string, number>> = {};
  const kernelTotal = new Map<string, number>();
  for (const [key, e] of [...inst.byKernel].sort((a, b) => b[1].ms - a[1].ms)) {
    const [p, kernel] = key.split(' ');
    (kernelsMs[p] ??= {})[kernel] = round(e.ms / steps);
    kernelTotal.set(p, (kernelTotal.get(p) ?? 0) + e.ms / steps);
  }
  const overhead: Record<string, number> = {};
  for (const p of PHASES) {
    const mean = phaseTimes.get(p)!.reduce((a, b) => a + b, 0) / steps;
    overhead[`${p}_ms`] = round(mean - (kernelTotal.get(p) ?? 0));
  }
  const matmuls = [...inst.byMatmul]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([key, e]) => {
      const [p, ...shape] = key.split(' ');
      return { phase: p, shape: shape.join(' '), calls_per_step: e.calls / steps, ms_per_step: round(e.ms / steps), gflops: round(e.flops / (e.ms * 1e6), 1) };
    });
  return {
    profile,
    profile_of: 'median per phase over a second pass of `steps` steps; optimizer = global-norm clip + AdamW step',
    profile_kernels_ms: kernelsMs,
    profile_overhead_ms: overhead,
    profile_overhead_of: 'mean phase time minus the time inside kernel calls: JS, autograd and buffer-pool work',
    profile_matmuls: matmuls,
  };
}

/** The PyTorch record for one configuration, or a reason why there is none. */
function torchRecord(
  name: string, cfg: TrainBenchConfig, steps: number, warmup: number, threads: number, profile: boolean, seed: number,
  extraEnv: Record<string, string>,
): Record<string, unknown> | string {
  const script = fileURLToPath(new URL('../../../tools/bench_torch_train.py', import.meta.url));
  if (!existsSync(script)) return `${script} not found`;
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const { OPENBLAS_CORETYPE: _c, OPENBLAS_L2_SIZE: _l, ...env } = process.env;
  const n = String(threads);
  const args = [
    script, '--config', name, '--n-layer', String(cfg.nLayer), '--n-head', String(cfg.nHead), '--n-embd', String(cfg.nEmbd),
    '--block-size', String(cfg.blockSize), '--batch-size', String(cfg.batchSize), '--vocab-size', String(cfg.vocabSize),
    '--threads', n, '--steps', String(steps), '--warmup', String(warmup), '--seed', String(seed),
    '--lr', String(OPTIM.lr), '--beta2', String(OPTIM.beta2), '--weight-decay', String(OPTIM.weightDecay), '--grad-clip', String(OPTIM.gradClip),
    ...(profile ? ['--profile'] : []),
  ];
  const torchEnv = { OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, ...extraEnv };
  const run = spawnSync(python, args, {
    env: { ...env, ...torchEnv },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.error) return `${python}: ${run.error.message}`;
  if (run.status !== 0) return (run.stderr || `${python} exited with ${run.status ?? run.signal}`).trim().split('\n').pop()!;
  const line = run.stdout.trim().split('\n').filter(Boolean).pop();
  if (!line) return 'bench_torch_train.py printed nothing';
  return { ...(JSON.parse(line) as Record<string, unknown>), torch_env: torchEnv };
}

/**
 * Runs the training benchmark, emitting per configuration the hsm record, the
 * torch record (or a note saying why it was skipped) and their ratio.
 */
export function benchTrain(opts: TrainBenchOptions): void {
  const steps = opts.steps ?? 30, warmup = opts.warmup ?? 5, seed = opts.seed ?? 1337;
  if (!Number.isInteger(steps) || steps < 1) throw new UserError(`steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new UserError(`warmup must be a non-negative integer, got ${warmup}`);
  const names = opts.configs ?? DEFAULT_TRAIN_BENCH;
  for (const name of names) {
    if (!TRAIN_BENCH_CONFIGS[name]) {
      throw new UserError(`unknown benchmark configuration "${name}"; available: ${Object.keys(TRAIN_BENCH_CONFIGS).join(', ')}`);
    }
  }
  const native = nativeBackend();
  const usingNative = native !== null && kernels() === native;
  const initialThreads = native?.threads() ?? 1;
  const threads = opts.threads ?? initialThreads;
  if (!Number.isInteger(threads) || threads < 1) throw new UserError(`threads must be a positive integer, got ${threads}`);
  if (!usingNative) opts.emit({ bench: 'train', note: `training on the ${kernels().name} backend (single-threaded); threads=${threads} applies to torch only` });
  let torch = opts.torch ?? true;
  const measured = new Map<string, number>(); // config → our tokens/s, for HSM-vs-GPT ratios
  if (native) native.setThreads(threads);
  try {
    for (const name of names) {
      const cfg = TRAIN_BENCH_CONFIGS[name];
      const ours = benchHsm(name, cfg, steps, warmup, threads, !!opts.profile, seed);
      opts.emit(ours.record);
      measured.set(name, ours.tokensPerS);
      if (cfg.baseline && measured.has(cfg.baseline)) {
        opts.emit({
          bench: 'train', config: name, threads, baseline: cfg.baseline,
          ratio: round(ours.tokensPerS / measured.get(cfg.baseline)!), ratio_of: `${name}/${cfg.baseline} tokens_per_s (both in our engine)`,
        });
      }
      if (!torch || cfg.plan) continue; // the PyTorch script implements the GPT baseline only
      const theirs = torchRecord(name, cfg, steps, warmup, threads, !!opts.profile, seed, opts.torchEnv ?? {});
      if (typeof theirs === 'string') {
        opts.emit({ bench: 'train', note: `torch comparison skipped: ${theirs}` });
        torch = false; // the same reason would apply to every other configuration
        continue;
      }
      opts.emit(theirs);
      const tps = Number(theirs.tokens_per_s), tpsBest = Number(theirs.tokens_per_s_best);
      opts.emit({
        bench: 'train', config: name, threads,
        ratio: round(ours.tokensPerS / tps), ratio_best: round(ours.tokensPerSBest / tpsBest),
        ratio_of: 'hsm/torch tokens_per_s from median step times (ratio_best: from best step times)',
        hsm_tokens_per_s: round(ours.tokensPerS, 1), torch_tokens_per_s: round(tps, 1),
        torch_attention: theirs.attention,
      });
    }
  } finally {
    if (native) native.setThreads(initialThreads);
  }
}
