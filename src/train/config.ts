import { z } from 'zod';
import { describeZodError, UserError } from '../errors.js';
import { matchFfnWidth } from '../model/cost.js';
import { MAX_BLOCKS, parsePlan } from '../model/plan.js';
import type { ModelConfig } from '../model/transformer.js';

/**
 * Everything a training run needs, validated by a schema: an unknown key or a
 * bad value is a UserError naming it. Names follow nanoGPT where one exists.
 */
/** An integer in [min, max]; the message states the range (limits are checked before anything is allocated). */
const intIn = (min: number, max: number) => {
  const message = `must be an integer from ${min} to ${max}`;
  return z.number({ invalid_type_error: message }).int(message).min(min, message).max(max, message);
};
const numberIn = (min: number, max: number) => {
  const message = `must be a number from ${min} to ${max}`;
  return z.number({ invalid_type_error: message }).min(min, message).max(max, message);
};
/** Loop counts and intervals: a billion steps is far beyond any CPU run, and keeps arithmetic exact. */
const MAX_STEPS = 1e9;

export const ModelSectionSchema = z
  .object({
    /** Blocks; taken from the plan when a plan is given without it. */
    nLayer: intIn(1, MAX_BLOCKS).optional(),
    nHead: intIn(1, 1024).default(4),
    nEmbd: intIn(1, 16384).default(128),
    blockSize: intIn(1, 1 << 20).default(64),
    dropout: z.number().min(0).lt(1).default(0),
    /** Layer plan, e.g. "hsm:ab*3,attn" (default: attention in every block, i.e. GPT). */
    plan: z.string().min(1).optional(),
    schedule: z
      .union([
        z.enum(['pow2', 'pow2-heads']),
        z
          .array(intIn(1, 1 << 20))
          .nonempty()
          .max(MAX_BLOCKS),
        z
          .array(
            z
              .array(intIn(1, 1 << 20))
              .nonempty()
              .max(1024),
          )
          .nonempty()
          .max(MAX_BLOCKS),
      ])
      .default('pow2'),
    hsmHeads: intIn(1, 1024).optional(),
    /** Learned positions (default: when the plan has attention). */
    positions: z.boolean().optional(),
    ffnHidden: intIn(1, 1 << 20).optional(),
    /** The block around each mixer: gpt2 (default) or transformer++ (RMSNorm, SwiGLU, no biases, rotary positions). */
    style: z.enum(['gpt2', 'transformer++']).optional(),
    /** Overrides of the style's options. */
    norm: z.enum(['layernorm', 'rmsnorm']).optional(),
    ffn: z.enum(['gelu', 'swiglu']).optional(),
    bias: z.boolean().optional(),
    rotary: z.boolean().optional(),
    /** Size the FFN so the model has the parameter count of this plan (e.g. "attn*4", the GPT baseline). */
    matchParams: z.string().min(1).optional(),
  })
  .strict()
  .refine((m) => m.nEmbd % m.nHead === 0, { message: 'nEmbd must be divisible by nHead', path: ['nEmbd'] })
  .refine((m) => !(m.ffnHidden && m.matchParams), {
    message: 'give ffnHidden or matchParams, not both',
    path: ['matchParams'],
  })
  .transform((m) => ({ ...m, nLayer: m.nLayer ?? (m.plan ? parsePlan(m.plan).length : 4) }));

export const TrainConfigSchema = z
  .object({
    data: z.string().min(1).default('sotu'),
    /** `ids` only names the integer tokens of a synthetic task (compare's recall grid); corpora use the others. */
    tokenizer: z.enum(['char', 'byte', 'gpt2', 'ids']).default('char'),
    valFraction: z.number().gt(0).lt(1).default(0.1),
    model: ModelSectionSchema.default({}),
    batchSize: intIn(1, 65536).default(12),
    gradAccum: intIn(1, 65536).default(1),
    maxIters: intIn(1, MAX_STEPS).default(2000),
    /** Fix the training FLOPs instead of the steps: maxIters and lrDecayIters then follow from the model (budget.ts). */
    budget: z
      .object({ flops: z.number().positive().max(1e24) })
      .strict()
      .optional(),
    lr: numberIn(0, 10).positive('must be a number above 0, at most 10').default(1e-3),
    minLr: numberIn(0, 10).default(1e-4),
    warmupIters: intIn(0, MAX_STEPS).default(100),
    /** Warm-up as a fraction of the run's steps (known once a FLOP budget fixes them); replaces warmupIters. */
    warmupFraction: numberIn(0, 0.5).optional(),
    lrDecayIters: intIn(1, MAX_STEPS).optional(),
    /** Sequence-length warm-up (seq-warmup.ts): the share of the steps that train on shorter windows, and the first length. */
    seqWarmupFraction: numberIn(0, 1).optional(),
    seqWarmupStart: intIn(1, 1 << 20).optional(),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.99),
    weightDecay: numberIn(0, 10).default(0.1),
    gradClip: numberIn(0, 1e6).default(1.0),
    evalInterval: intIn(1, MAX_STEPS).default(250),
    /**
     * Stop at the first evaluation whose validation accuracy (the share of
     * scored positions whose most likely token is the target) reaches this,
     * e.g. 0.99 as the Zoology study stops its recall runs. Resuming a run
     * stopped so trains no further unless the threshold is raised.
     */
    stopAtAccuracy: numberIn(0, 1).optional(),
    evalIters: intIn(1, 100_000).default(20),
    logInterval: intIn(1, MAX_STEPS).default(10),
    checkpointInterval: intIn(1, MAX_STEPS).default(500),
    seed: intIn(0, 2 ** 31 - 1).default(1337),
    out: z.string().min(1).default('runs/latest'),
  })
  .strict();

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
/** The `model` section of a training configuration (before parameter matching). */
export type ModelSection = TrainConfig['model'];

/** Committed runs a preset's runs are compared with; paths are relative to the project root. */
export interface PresetReference {
  /** What the reference model is called in the printout, e.g. "GPT". */
  name: string;
  /** The reference model's committed run summary (`hsm train --summary`). */
  baseline: string;
  /** This preset's own committed run, measured with the baseline on one machine under the same conditions: the speed ratio. */
  own?: string;
}

/** A named configuration: training fields, plus what it is and which committed runs its runs are compared with. */
export type Preset = z.input<typeof TrainConfigSchema> & { description: string; reference?: PresetReference };

/** The quick start's budget on the default corpus, shared by its GPT and HSM presets so that the two compare. */
const SOTU_QUICK = {
  data: 'sotu',
  tokenizer: 'char',
  batchSize: 12,
  maxIters: 3000,
  lr: 1e-3,
  minLr: 1e-4,
  warmupIters: 100,
  lrDecayIters: 3000,
  beta2: 0.99,
  evalInterval: 500,
  evalIters: 20,
} as const;

/** Named configurations; flags and config files override their fields. */
export const PRESETS: Record<string, Preset> = {
  // nanoGPT's CPU run of config/train_shakespeare_char.py (its README: val loss ≈ 1.88).
  'shakespeare-char-cpu': {
    description:
      "nanoGPT's CPU Shakespeare configuration: 4 layers, 4 heads, d=128, context 64, batch 12, 2000 iterations",
    data: 'shakespeare',
    tokenizer: 'char',
    model: { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64 },
    batchSize: 12,
    maxIters: 2000,
    lr: 1e-3,
    minLr: 1e-4,
    warmupIters: 100,
    lrDecayIters: 2000,
    beta2: 0.99,
    weightDecay: 0.1,
    gradClip: 1.0,
    evalInterval: 250,
    evalIters: 20,
    out: 'runs/shakespeare-char-cpu',
  },
  // nanoGPT's GPU run of config/train_shakespeare_char.py (its README: val 1.4697 after 5000 iterations on an A100).
  // About 5.5e15 training FLOPs: minutes on a GPU with --engine torch --device cuda, days on 2 CPU cores.
  'shakespeare-char': {
    description:
      "nanoGPT's GPU Shakespeare configuration: 6 layers, 6 heads, d=384, context 256, batch 64, dropout 0.2, 5000 iterations (for --engine torch --device cuda)",
    data: 'shakespeare',
    tokenizer: 'char',
    model: { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, dropout: 0.2 },
    batchSize: 64,
    maxIters: 5000,
    lr: 1e-3,
    minLr: 1e-4,
    warmupIters: 100,
    lrDecayIters: 5000,
    beta2: 0.99,
    weightDecay: 0.1,
    gradClip: 1.0,
    evalInterval: 250,
    evalIters: 200,
    checkpointInterval: 250,
    out: 'runs/shakespeare-char',
  },
  // The GPT twin of the quick start: the same data, budget and schedule as sotu-hsm-quick.
  'sotu-char-quick': {
    description:
      "a small character GPT (attn*4) on the State of the Union corpus, about three minutes on 2 cores: the quick start's baseline",
    ...SOTU_QUICK,
    model: { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 128 },
    out: 'runs/sotu-char-quick',
  },
  // The README's quick start (`npm start`): HSM parameter-matched to the GPT above, seven blocks
  // whose shifts 1, 2, …, 64 reach the whole context. Of the candidates tried at this budget
  // (docs/results/quickstart/README.md) the linear mixer had the lowest validation loss and
  // trained fastest; gated was a close second.
  'sotu-hsm-quick': {
    description:
      "the quick start: HSM (hsm:linear*7, shifts 1…64) parameter-matched to sotu-char-quick's GPT, same data and budget",
    ...SOTU_QUICK,
    model: { nHead: 4, nEmbd: 128, blockSize: 128, plan: 'hsm:linear*7', schedule: 'pow2', matchParams: 'attn*4' },
    out: 'runs/sotu-hsm-quick',
    reference: { name: 'GPT', baseline: 'docs/results/quickstart/gpt.json', own: 'docs/results/quickstart/hsm.json' },
  },
};

/** Validates a raw config object (from JSON and flags); errors name the offending key. */
export function parseTrainConfig(raw: unknown, source = 'config'): TrainConfig {
  const result = TrainConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new UserError(`${source}: ${describeZodError(result.error)}; see \`hsm train --help\` for the valid options`);
  }
  return result.data;
}

/**
 * Preset (if any) ← config file ← flags, merged with nested model fields.
 * A layer that sets a plan without nLayer drops any earlier nLayer: the plan
 * implies its own depth.
 */
export function mergeConfigs(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      if (k === 'model' && typeof v === 'object' && v !== null) {
        const model = { ...(out.model as Record<string, unknown>) };
        const next = v as Record<string, unknown>;
        if (next.plan !== undefined && next.nLayer === undefined) delete model.nLayer;
        out.model = { ...model, ...next };
      } else out[k] = v;
    }
  }
  return out;
}

export function presetConfig(name: string): Record<string, unknown> {
  const preset = PRESETS[name];
  if (!preset) throw new UserError(`unknown preset "${name}"; available: ${Object.keys(PRESETS).join(', ')}`);
  const { description: _, reference: __, ...fields } = preset;
  return fields;
}

/** The committed runs a preset's runs are compared with at their end, if it names any. */
export function presetReference(name: string): PresetReference | undefined {
  return PRESETS[name]?.reference;
}

/** Learning rate at an iteration: linear warm-up, then cosine decay to minLr (nanoGPT's get_lr). */
export function learningRate(cfg: TrainConfig, iter: number): number {
  const decayIters = cfg.lrDecayIters ?? cfg.maxIters;
  if (iter < cfg.warmupIters) return (cfg.lr * (iter + 1)) / (cfg.warmupIters + 1);
  if (iter > decayIters) return cfg.minLr;
  const ratio = (iter - cfg.warmupIters) / Math.max(1, decayIters - cfg.warmupIters);
  return cfg.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (cfg.lr - cfg.minLr);
}

/** The model a training configuration describes, with parameter matching applied. */
export function resolveModelConfig(m: ModelSection, vocabSize: number): ModelConfig {
  const { matchParams, ...rest } = m;
  const config: ModelConfig = { vocabSize, ...rest };
  if (matchParams) config.ffnHidden = matchFfnWidth(config, matchParams).ffnHidden;
  return config;
}
