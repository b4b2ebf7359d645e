/**
 * `hsm bench train`: training throughput (tokens/s) of a GPT in this engine and
 * in PyTorch, in the same run, as JSON Lines records.
 *
 * Per configuration: one `engine: 'hsm'` record, one `engine: 'torch'` record
 * (from tools/bench_torch_train.py: nanoGPT's model and eager CPU loop), then
 * one ratio record. Both engines do the work of one training step the way
 * their real loops do — ours with the trainer's own step (src/train/step.ts:
 * zeroGrad, forward, backward, release, clipped AdamW step, timed by
 * training-steps.ts), PyTorch's as nanoGPT's train.py
 * (forward, backward, clip_grad_norm_, AdamW step, zero_grad(set_to_none)) —
 * on random token batches made before timing, and both are timed the same way:
 * `warmup` untimed steps, then `steps` timed steps; the median step gives
 * tokens_per_s and the ratio, the best step is reported beside it.
 *
 * With `profile`, a second pass of `steps` steps (after the timed pass, so the
 * headline numbers carry no instrumentation) times the phases of a step and
 * every kernel call, attributed to its phase (step-profile.ts), and adds them
 * to the hsm record; the torch record gets the same phase split.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { kernels, nativeBackend } from '../backend/index.js';
import { UserError } from '../errors.js';
import { PRESETS } from '../train/config.js';
import { ceilingCheck, fractionOfPeak, resolvePeaks, type PeakSource } from './peak.js';
import { median, round } from './timing.js';
import { BENCH_OPTIMIZER, timeTrainingSteps, type TrainBenchConfig } from './training-steps.js';

const shakespeare = PRESETS['shakespeare-char-cpu'];

/** The configurations `hsm bench train` knows, by the name records carry in `config`. */
/** The long-context study's shape: sotu characters, d=128, 4 heads, context 512, 2,048 tokens a step. */
const LONG_SHAPE: TrainBenchConfig = { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 512, batchSize: 4, vocabSize: 99 };

export const TRAIN_BENCH_CONFIGS: Record<string, TrainBenchConfig> = {
  // The preset itself (4 layers, 4 heads, d=128, context 64, batch 12) with its character vocabulary of 65.
  'shakespeare-char-cpu': {
    nLayer: shakespeare.model?.nLayer ?? 4,
    nHead: shakespeare.model?.nHead ?? 4,
    nEmbd: shakespeare.model?.nEmbd ?? 128,
    blockSize: shakespeare.model?.blockSize ?? 64,
    batchSize: shakespeare.batchSize ?? 12,
    vocabSize: 65,
  },
  // HSM vs GPT at the GPT baseline's width and depth (the shakespeare-char-cpu model: 4 layers, 4 heads, d=128),
  // 4,096 tokens per step, at contexts 256 and 2048.
  'd128-ctx256': { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 256, batchSize: 16, vocabSize: 65 },
  'd128-ctx256-hsm-ab': {
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    blockSize: 256,
    batchSize: 16,
    vocabSize: 65,
    plan: 'hsm:ab*4',
    baseline: 'd128-ctx256',
  },
  'd128-ctx2048': { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 2048, batchSize: 2, vocabSize: 65 },
  'd128-ctx2048-hsm-ab': {
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    blockSize: 2048,
    batchSize: 2,
    vocabSize: 65,
    plan: 'hsm:ab*4',
    baseline: 'd128-ctx2048',
  },
  // The same comparison at twice the width.
  'd256-ctx256': { nLayer: 4, nHead: 4, nEmbd: 256, blockSize: 256, batchSize: 16, vocabSize: 65 },
  // The same width, depth and tokens per step with every mixer HSM (issue: HSM vs GPT training speed).
  'd256-ctx256-hsm-ab': {
    nLayer: 4,
    nHead: 4,
    nEmbd: 256,
    blockSize: 256,
    batchSize: 16,
    vocabSize: 65,
    plan: 'hsm:ab*4',
    baseline: 'd256-ctx256',
  },
  'd256-ctx2048': { nLayer: 4, nHead: 4, nEmbd: 256, blockSize: 2048, batchSize: 2, vocabSize: 65 },
  'd256-ctx2048-hsm-ab': {
    nLayer: 4,
    nHead: 4,
    nEmbd: 256,
    blockSize: 2048,
    batchSize: 2,
    vocabSize: 65,
    plan: 'hsm:ab*4',
    baseline: 'd256-ctx2048',
  },
  // The long grid's leaders at its shape (sotu characters, d=128, context 512, 2,048 tokens a step), parameter-matched
  // as the grid matched them (FFN widths from docs/results/long/results.json): their speeds side by side turn the
  // grid's equal-FLOP results into equal-wall-time ones (README, "Long context at equal compute").
  'long-gpt': { ...LONG_SHAPE },
  'long-pair': { ...LONG_SHAPE, nLayer: 9, plan: 'hsm:pair*9', ffnHidden: 112, baseline: 'long-gpt' },
  'long-ab-proj-attn-last': { ...LONG_SHAPE, plan: 'hsm:ab[proj]*3,attn', ffnHidden: 657, baseline: 'long-gpt' },
  // The context study's other models at the same shape (src/compare/context-grids.ts), parameter-matched to the
  // 4-block GPT of their block style (matchFfnWidth): all HSM ab[proj] blocks, and the Transformer++ style (RMSNorm,
  // SwiGLU, rotary, no biases) of GPT, pair and the hybrid. Their fraction of the peak beside their baseline's is the
  // per-FLOP comparison; the ratio record compares tokens/s.
  'long-ab-proj': { ...LONG_SHAPE, plan: 'hsm:ab[proj]*4', ffnHidden: 768, baseline: 'long-gpt' },
  'long-tpp': { ...LONG_SHAPE, style: 'transformer++' },
  'long-pair-pp': {
    ...LONG_SHAPE,
    nLayer: 9,
    plan: 'hsm:pair*9',
    ffnHidden: 56,
    style: 'transformer++',
    baseline: 'long-tpp',
  },
  'long-hybrid-pp': {
    ...LONG_SHAPE,
    plan: 'hsm:ab[proj]*3,attn',
    ffnHidden: 437,
    style: 'transformer++',
    baseline: 'long-tpp',
  },
};

/** The context study's models at context 512 (1 thread in the per-FLOP comparison), each after its baseline. */
export const STUDY_TRAIN_BENCH = [
  'long-gpt',
  'long-pair',
  'long-ab-proj',
  'long-ab-proj-attn-last',
  'long-tpp',
  'long-pair-pp',
  'long-hybrid-pp',
];

/** What `hsm bench train` runs by default: the two PyTorch comparisons. */
export const DEFAULT_TRAIN_BENCH = ['shakespeare-char-cpu', 'd256-ctx256'];

export interface TrainBenchOptions {
  /** Timed steps per engine and configuration (default 30). */
  steps?: number;
  /** Untimed steps before them (default 5). */
  warmup?: number;
  /** Threads for both engines (default: the native backend's current count). */
  threads?: number;
  /** Names from TRAIN_BENCH_CONFIGS (default: DEFAULT_TRAIN_BENCH). */
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
  /**
   * Passes over the configurations (default 1). With more, the engines take turns through the whole run, every
   * record carries its round, and a summary record per configuration gives the median of the rounds' ratios: a
   * shared machine's speed drifts over minutes, and one pair of measurements can land on either side of a drift.
   */
  rounds?: number;
  /** Seed of the weights and the random batches (default 1337). */
  seed?: number;
  /** The CPU's ceiling the GFLOP/s are reported against (default: measured first, at `threads`, for 1 s). */
  peak?: PeakSource;
  emit: (record: Record<string, unknown>) => void;
}

/** The PyTorch record for one configuration, or a reason why there is none. */
function torchRecord(
  name: string,
  cfg: TrainBenchConfig,
  steps: number,
  warmup: number,
  threads: number,
  profile: boolean,
  seed: number,
  extraEnv: Record<string, string>,
): Record<string, unknown> | string {
  const script = fileURLToPath(new URL('../../../tools/bench_torch_train.py', import.meta.url));
  if (!existsSync(script)) return `${script} not found`;
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const { OPENBLAS_CORETYPE: _c, OPENBLAS_L2_SIZE: _l, ...env } = process.env;
  const n = String(threads);
  const args = [
    script,
    '--config',
    name,
    '--n-layer',
    String(cfg.nLayer),
    '--n-head',
    String(cfg.nHead),
    '--n-embd',
    String(cfg.nEmbd),
    '--block-size',
    String(cfg.blockSize),
    '--batch-size',
    String(cfg.batchSize),
    '--vocab-size',
    String(cfg.vocabSize),
    '--threads',
    n,
    '--steps',
    String(steps),
    '--warmup',
    String(warmup),
    '--seed',
    String(seed),
    '--lr',
    String(BENCH_OPTIMIZER.lr),
    '--beta2',
    String(BENCH_OPTIMIZER.beta2),
    '--weight-decay',
    String(BENCH_OPTIMIZER.weightDecay),
    '--grad-clip',
    String(BENCH_OPTIMIZER.gradClip),
    ...(profile ? ['--profile'] : []),
  ];
  const torchEnv = { OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, ...extraEnv };
  const run = spawnSync(python, args, {
    env: { ...env, ...torchEnv },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.error) return `${python}: ${run.error.message}`;
  if (run.status !== 0)
    return (run.stderr || `${python} exited with ${run.status ?? run.signal}`).trim().split('\n').pop()!;
  const line = run.stdout.trim().split('\n').filter(Boolean).pop();
  if (!line) return 'bench_torch_train.py printed nothing';
  return { ...(JSON.parse(line) as Record<string, unknown>), torch_env: torchEnv };
}

/**
 * Runs the training benchmark, emitting per configuration the hsm record, the
 * torch record (or a note saying why it was skipped) and their ratio.
 */
export function benchTrain(opts: TrainBenchOptions): void {
  const steps = opts.steps ?? 30,
    warmup = opts.warmup ?? 5,
    seed = opts.seed ?? 1337;
  if (!Number.isInteger(steps) || steps < 1) throw new UserError(`steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new UserError(`warmup must be a non-negative integer, got ${warmup}`);
  const rounds = opts.rounds ?? 1;
  if (!Number.isInteger(rounds) || rounds < 1) throw new UserError(`rounds must be a positive integer, got ${rounds}`);
  const names = opts.configs ?? DEFAULT_TRAIN_BENCH;
  for (const name of names) {
    if (!TRAIN_BENCH_CONFIGS[name]) {
      throw new UserError(
        `unknown benchmark configuration "${name}"; available: ${Object.keys(TRAIN_BENCH_CONFIGS).join(', ')}`,
      );
    }
  }
  const native = nativeBackend();
  const usingNative = native !== null && kernels() === native;
  const initialThreads = native?.threads() ?? 1;
  const threads = opts.threads ?? initialThreads;
  if (!Number.isInteger(threads) || threads < 1)
    throw new UserError(`threads must be a positive integer, got ${threads}`);
  if (!usingNative)
    opts.emit({
      bench: 'train',
      note: `training on the ${kernels().name} backend (single-threaded); threads=${threads} applies to torch only`,
    });
  let torch = opts.torch ?? true;
  const measured = new Map<string, { tps: number; gflops: number }>(); // config → ours, for HSM-vs-GPT ratios
  if (native) native.setThreads(threads);
  try {
    const peak = resolvePeaks(opts.peak ?? { measureMs: 1000 }, [threads], 'train', opts.emit).get(threads);
    const check = ceilingCheck('train', opts.emit);
    const ratios = new Map<string, { torch: number[]; baseline: number[]; gflops: number[] }>();
    const ratiosOf = (name: string) => {
      if (!ratios.has(name)) ratios.set(name, { torch: [], baseline: [], gflops: [] });
      return ratios.get(name)!;
    };
    for (let pass = 1; pass <= rounds; pass++) {
      const tag = rounds > 1 ? { round: pass } : {};
      for (const name of names) {
        const cfg = TRAIN_BENCH_CONFIGS[name];
        const ours = timeTrainingSteps(name, cfg, { steps, warmup, threads, profile: !!opts.profile, seed });
        const r = ours.record;
        opts.emit({
          ...r,
          ...tag,
          ...fractionOfPeak(r.gflops as number, peak),
          ...(peak && { fraction_of_peak_best: round((r.gflops_best as number) / peak.gflops, 5) }),
          // With --profile: each matmul shape's GFLOP/s against the same ceiling.
          ...(peak &&
            Array.isArray(r.profile_matmuls) && {
              profile_matmuls: (r.profile_matmuls as { gflops: number }[]).map((m) => ({
                ...m,
                fraction_of_peak: round(m.gflops / peak.gflops, 4),
              })),
            }),
        });
        check(peak && (r.gflops_best as number) / peak.gflops);
        const gflops = (ours.trainFlopsPerToken * ours.tokensPerS) / 1e9;
        measured.set(name, { tps: ours.tokensPerS, gflops });
        const base = cfg.baseline ? measured.get(cfg.baseline) : undefined;
        if (base) {
          ratiosOf(name).baseline.push(ours.tokensPerS / base.tps);
          ratiosOf(name).gflops.push(gflops / base.gflops);
          opts.emit({
            bench: 'train',
            config: name,
            ...tag,
            threads,
            baseline: cfg.baseline,
            ratio: round(ours.tokensPerS / base.tps),
            ratio_of: `${name}/${cfg.baseline} tokens_per_s (both in our engine)`,
            gflops_ratio: round(gflops / base.gflops),
            gflops_ratio_of: `${name}/${cfg.baseline} training GFLOP/s: efficiency per counted FLOP`,
          });
        }
        // The PyTorch script implements the GPT baseline in GPT-2's block only.
        if (!torch || cfg.plan || (cfg.style && cfg.style !== 'gpt2')) continue;
        const theirs = torchRecord(name, cfg, steps, warmup, threads, !!opts.profile, seed, opts.torchEnv ?? {});
        if (typeof theirs === 'string') {
          opts.emit({ bench: 'train', note: `torch comparison skipped: ${theirs}` });
          torch = false; // the same reason would apply to every other configuration
          continue;
        }
        // The same model, so the same counted FLOPs per token.
        const theirGflops = round((ours.trainFlopsPerToken * Number(theirs.tokens_per_s)) / 1e9, 3);
        opts.emit({
          ...theirs,
          ...tag,
          train_flops_per_token: ours.trainFlopsPerToken,
          gflops: theirGflops,
          ...fractionOfPeak(theirGflops, peak),
        });
        check(peak && theirGflops / peak.gflops);
        const tps = Number(theirs.tokens_per_s),
          tpsBest = Number(theirs.tokens_per_s_best);
        ratiosOf(name).torch.push(ours.tokensPerS / tps);
        opts.emit({
          bench: 'train',
          config: name,
          ...tag,
          threads,
          ratio: round(ours.tokensPerS / tps),
          ratio_best: round(ours.tokensPerSBest / tpsBest),
          ratio_of: 'hsm/torch tokens_per_s from median step times (ratio_best: from best step times)',
          hsm_tokens_per_s: round(ours.tokensPerS, 1),
          torch_tokens_per_s: round(tps, 1),
          torch_attention: theirs.attention,
        });
      }
    }
    if (rounds > 1) for (const [name, r] of ratios) opts.emit(roundsSummary(name, threads, r));
  } finally {
    if (native) native.setThreads(initialThreads);
  }
}

/** One configuration's ratios over the rounds: the median, and each round's in order. */
function roundsSummary(
  name: string,
  threads: number,
  r: { torch: number[]; baseline: number[]; gflops: number[] },
): Record<string, unknown> {
  const summary = (xs: number[]) => ({ median: round(median(xs)), rounds: xs.map((x) => round(x)) });
  return {
    bench: 'train-rounds',
    config: name,
    threads,
    ...(r.torch.length > 0 && { ratio: summary(r.torch), ratio_of: 'hsm/torch tokens_per_s, median over rounds' }),
    ...(r.baseline.length > 0 && {
      baseline_ratio: summary(r.baseline),
      gflops_ratio: summary(r.gflops),
      baseline_ratio_of: 'tokens_per_s and GFLOP/s against the baseline in our engine, median over rounds',
    }),
  };
}
