// The built-in grids of the recall task (MQAR): the Zoology protocol's
// baseline check and study, and the first study kept as it was run.
// docs/results/recall/README.md holds their results and every choice below.
import type { GridInput } from './grid-schema.js';
import { BASE5_HEADS } from './head-schedules.js';

type Models = GridInput['models'];

/**
 * The Zoology study's training as far as our trainer has its knobs (its
 * zoology/train.py and the Figure 2 configs): AdamW with β2 0.999, weight
 * decay 0.1, no gradient clipping, cosine decay to 0 with no warm-up, and a
 * stop once validation accuracy reaches 99%. 256 sequences a step (Zoology:
 * 512 at length 128, 256 at 256, and 256 in the Based study), as 8
 * micro-batches of 32. One head. The step cap is ours: 3,000 steps are
 * 768,000 sequences, an eighth of the 64 epochs of 100,000 that Zoology
 * allows.
 */
const ZOOLOGY_TRAIN = {
  model: { nEmbd: 64, nHead: 1 },
  batchSize: 32,
  gradAccum: 8,
  maxIters: 3000,
  minLr: 0,
  warmupIters: 0,
  beta2: 0.999,
  gradClip: 0,
  weightDecay: 0.1,
  evalInterval: 25,
  evalIters: 16,
  stopAtAccuracy: 0.99,
  logInterval: 25,
  checkpointInterval: 50,
};

/** Zoology's task: vocabulary 8,192, 8 and 16 pairs at 128 and 256 tokens; 1,000 held-out sequences. */
const ZOOLOGY_TASK: GridInput['recall'] = {
  vocabSize: 8192,
  lengths: [{ context: 128 }, { context: 256 }],
  heldOutSequences: 1000,
};

/**
 * The learning-rate sweep every model gets, per length, read at its best
 * accuracy: the Based study's sweep on this task, logspace(−3, −1.5, 4),
 * rounded to 1e-3, 3e-3, 1e-2, 3e-2. (Zoology's first paper swept
 * logspace(−4, −2, 4); with our step caps, 1e-4 and 4.6e-4 would barely
 * leave the start.) The cosine decays to 0 (minLr = 0 × lr).
 */
const RECALL_SWEEP = { lr: [1e-3, 3e-3, 1e-2, 3e-2], minLrFraction: 0 };

/**
 * Zoology's two attention baselines: a kernel-3 convolution block before an
 * attention block, with no position table (its later configs, where the
 * Hybrid mixer alternates the two by layer), and attention with one head and
 * learned positions (its ICLR'24 Figure 2). Our conv is a depthwise linear
 * convolution; Zoology's BaseConv gates it with a linear map of its input.
 */
const BASELINES: Models = [
  {
    name: 'conv-attn',
    plan: 'hsm:conv,attn',
    model: { positions: false },
    note: 'baseline: a kernel-3 causal convolution block, then attention (1 head); no position table',
  },
  { name: 'attn', plan: 'attn*2', note: 'baseline: 2 attention blocks, 1 head, learned positions' },
];

/**
 * Every HSM mixer, with and without its output projection (pair always has
 * one), in the order the study trains them: the mixers with an input-dependent
 * or content-based step first (gated, pair), then the linear ones.
 */
const HSM_MIXERS = [
  'gated',
  'gated[proj]',
  'pair',
  'linear',
  'linear[proj]',
  'ab',
  'ab[proj]',
  'channel',
  'channel[proj]',
  'conv',
  'conv[proj]',
] as const;
const slug = (mixer: string) => mixer.replace('[proj]', '-proj');

/** Pure HSM models: ⌈log2 T⌉ blocks of pow2 shifts (every offset reachable). */
const PURE_HSM: Models = HSM_MIXERS.map((mixer) => ({
  name: slug(mixer),
  plan: `hsm:${mixer}*{levels}`,
  note: `HSM ${mixer}, ⌈log2 T⌉ pow2 blocks (covers the context)`,
}));

/** The same mixers in 4 blocks of 4 head groups at base-5 shifts (every offset below 625). */
const PURE_HSM_HEADS: Models = HSM_MIXERS.map((mixer) => ({
  name: `${slug(mixer)}-heads`,
  plan: `hsm:${mixer}*4`,
  model: { hsmHeads: 4, schedule: BASE5_HEADS },
  note: `HSM ${mixer}, 4 blocks of 4 head groups at base-5 shifts (1…500)`,
}));

/** Zoology's conv-attention with an HSM shift mixer in the convolution's place (shift 1: the previous token). */
const HYBRIDS: Models = (['ab', 'ab[proj]', 'gated'] as const).map((mixer) => ({
  name: `${slug(mixer)}-attn`,
  plan: `hsm:${mixer},attn`,
  model: { positions: false },
  note: `hybrid: one HSM ${mixer} block (shift 1), then attention (1 head); no position table`,
}));

/**
 * The study's budget: length 128 only, and at most 600 steps (twice what the
 * convolution–attention baseline needs to reach 99% there); the bar grid
 * keeps 3,000 steps and both lengths for the baseline.
 */
const STUDY_TRAIN = { ...ZOOLOGY_TRAIN, maxIters: 600 };
const STUDY_TASK: GridInput['recall'] = { ...ZOOLOGY_TASK, lengths: [{ context: 128 }] };

export const RECALL_GRIDS: Record<string, GridInput> = {
  // 8 sweep runs (4 learning rates × 2 lengths, seed 1), then seed 2 at each length's best.
  'recall-bar': {
    description:
      "Zoology's MQAR (vocabulary 8,192, 8 / 16 pairs at 128 / 256 tokens) on its protocol: the convolution–attention baseline at d=64, the best of four learning rates per length, 2 seeds",
    train: ZOOLOGY_TRAIN,
    recall: ZOOLOGY_TASK,
    models: [BASELINES[0]],
    sweep: RECALL_SWEEP,
    seeds: [1, 2],
    eval: { sampleTokens: 0, decodeRepeats: 1 },
  },
  // 64 runs (16 models × 4 learning rates), each at most 600 steps.
  recall: {
    description:
      "Zoology's MQAR on its protocol at length 128 and d=64 (at most 600 steps): the attention baselines, shift–attention hybrids and every pure HSM mixer with and without [proj], each at the best of four learning rates",
    train: STUDY_TRAIN,
    recall: STUDY_TASK,
    models: [...BASELINES, ...HYBRIDS, ...PURE_HSM],
    sweep: RECALL_SWEEP,
    seeds: [1],
    eval: { sampleTokens: 0, decodeRepeats: 1 },
  },
  // 44 runs: the recall study's pure mixers with head groups, on its protocol.
  'recall-heads': {
    description:
      "Zoology's MQAR on its protocol at length 128 and d=64 (at most 600 steps): every pure HSM mixer with and without [proj] in 4 blocks of 4 head groups, each at the best of four learning rates",
    train: STUDY_TRAIN,
    recall: STUDY_TASK,
    models: PURE_HSM_HEADS,
    sweep: RECALL_SWEEP,
    seeds: [1],
    eval: { sampleTokens: 0, decodeRepeats: 1 },
  },
  // The first recall study (about an hour on 2 cores: 36 runs of 35–140 s at length 64), kept to reproduce
  // docs/results/recall/report.md: the legacy generator, 64 tokens, one untuned learning rate.
  'recall-legacy': {
    description:
      'multi-query associative recall (MQAR, as in the Zoology study): key–value pairs, then queries; accuracy on held-out sequences',
    train: {
      model: { nEmbd: 64, nHead: 4 },
      batchSize: 32,
      maxIters: 3000,
      lr: 1e-3,
      minLr: 1e-4,
      warmupIters: 100,
      evalInterval: 250,
      evalIters: 8,
      logInterval: 25,
      checkpointInterval: 500,
    },
    // 2048 tokens per step at every length; pairs grow with the length as in Zoology.
    recall: {
      generator: 'legacy',
      vocabSize: 64,
      lengths: [
        { context: 64, pairs: 4, batchSize: 32 },
        { context: 128, pairs: 8, batchSize: 16 },
        { context: 256, pairs: 16, batchSize: 8 },
      ],
    },
    models: [
      { name: 'gpt', plan: 'attn*2', note: 'baseline: 2 attention blocks, as in Zoology' },
      { name: 'ab', plan: 'hsm:ab*{levels}', note: 'HSM ab, ⌈log2 context⌉ blocks (covers the context)' },
      { name: 'conv', plan: 'hsm:conv*{levels}', note: 'HSM conv (3 taps), ⌈log2 context⌉ blocks' },
      { name: 'gated', plan: 'hsm:gated*{levels}', note: 'HSM gated, ⌈log2 context⌉ blocks' },
      { name: 'ab-attn', plan: 'hsm:ab,attn', note: 'hybrid: one HSM ab block (shift 1), then attention' },
      {
        name: 'gated-attn',
        plan: 'hsm:gated*{levels},attn',
        note: 'hybrid: HSM gated blocks covering the context, then attention',
      },
    ],
    seeds: [1, 2],
    eval: { sampleTokens: 0 },
  },
};
