// The built-in grids of the long-context study: the study itself (sweeps and
// compute curves at context 512) and its sanity bar (context 128 against 512
// at equal tokens). docs/results/context-study/README.md holds their results
// and every choice below.
import type { GridInput } from './grid-schema.js';

/** The study's training: the default corpus in characters, d=128, 4 heads, context 512, AdamW with a 5% warm-up. */
const STUDY_TRAIN = {
  data: 'sotu',
  tokenizer: 'char',
  model: { nEmbd: 128, nHead: 4, blockSize: 512 },
  warmupFraction: 0.05,
  weightDecay: 0.1,
  beta2: 0.99,
  gradClip: 1,
  evalInterval: 200,
  evalIters: 20,
  logInterval: 20,
  checkpointInterval: 100,
};

/**
 * The context study: context 512 on the default corpus (characters), d=128,
 * every model parameter-matched to the 4-block GPT of its own block style and
 * covering the whole context. Families: GPT (GPT-2's block, learned
 * positions), Transformer++ (RMSNorm, SwiGLU, no biases, rotary positions),
 * pure HSM (pair, 9 pow2 blocks) and the hybrid (3 ab[proj] blocks, then
 * attention), the last two in both block styles, competing in the sweep.
 * Protocol (docs/results/context-study/README.md): peak lr and batch swept
 * per model at the smallest budget (one seed), each family keeps its lowest
 * final validation loss, then four budgets 2× apart with 2 seeds (3 at the
 * largest); warm-up 5% of the steps, cosine decay to lr/10 at the last step.
 */
/**
 * The sweep's peak learning rates, and one more wherever a family's best sat
 * at the edge: pair and the hybrid in GPT-2's block had theirs at 4e-3, then
 * the hybrid at 8e-3.
 */
const STUDY_SWEEP_LR = [5e-4, 1e-3, 2e-3, 4e-3];
const HSM_SWEEP_LR = [...STUDY_SWEEP_LR, 8e-3];
const HYBRID_SWEEP_LR = [...HSM_SWEEP_LR, 1.6e-2];

const STUDY_MODELS_BY_STYLE = (['gpt2', 'transformer++'] as const).map((style) => {
  const pp = style === 'transformer++' ? '-pp' : '';
  const model = { style };
  return [
    {
      name: style === 'gpt2' ? 'gpt' : 'tpp',
      plan: 'attn*4',
      model,
      note:
        style === 'gpt2'
          ? "GPT: GPT-2's block, learned positions"
          : 'Transformer++: rotary, SwiGLU, RMSNorm, no biases',
    },
    {
      name: `pair${pp}`,
      plan: 'hsm:pair*{levels}',
      matchParams: 'attn*4',
      model,
      family: 'hsm',
      sweepLr: HSM_SWEEP_LR,
      note: `HSM pair, 9 pow2 blocks (shifts 1…256), ${style} block, parameter-matched`,
    },
    {
      name: `hybrid${pp}`,
      plan: 'hsm:ab[proj]*3,attn',
      matchParams: 'attn*4',
      model,
      family: 'hybrid',
      sweepLr: HYBRID_SWEEP_LR,
      note: `hybrid: 3 HSM ab[proj] blocks (shifts 1, 2, 4), then attention; ${style} block, parameter-matched`,
    },
  ];
});
/**
 * Pure HSM mixers that a later screen in the Transformer++ block put ahead of
 * `pair` at `pair-pp`'s pick (docs/results/context-mixers/: gated 1.451 at lr
 * 4e-3, the edge of its three, and ab[proj] 1.497, against pair-pp's 1.515), so
 * they compete in the pure HSM family's sweep too; gated also at 1.6e-2.
 */
const SCREENED_HSM: GridInput['models'] = [
  { mixer: 'gated', name: 'gated-pp', sweepLr: HYBRID_SWEEP_LR },
  { mixer: 'ab[proj]', name: 'ab-proj-pp', sweepLr: HSM_SWEEP_LR },
].map(({ mixer, name, sweepLr }) => ({
  name,
  plan: `hsm:${mixer}*{levels}`,
  matchParams: 'attn*4',
  model: { style: 'transformer++' as const },
  family: 'hsm',
  sweepLr,
  note: `HSM ${mixer}, 9 pow2 blocks (shifts 1…256), transformer++ block, parameter-matched (added after the mixer screen)`,
}));
// Family by family (the attention baselines' sweeps first: the sanity bar rests on them), both styles side by
// side; the screened mixers last, so the runs trained before them keep their places.
const STUDY_MODELS: GridInput['models'] = [
  ...[0, 1, 2].flatMap((i) => STUDY_MODELS_BY_STYLE.map((models) => models[i])),
  ...SCREENED_HSM,
];

/**
 * The sanity bar: a model given more context must not be worse at equal
 * tokens. Each attention baseline at context 128 and 512 on the same tokens
 * (2048 a step: 16 windows of 128 or 4 of 512; 1226 steps, the GPT's steps at
 * the study's smallest budget) with its family's recipe from the study's
 * sweep (GPT: lr 2e-3 with 4 windows of 512, its pick; Transformer++: the
 * same, its best with 4 windows), cosine to lr/10, 5% warm-up, 2 seeds.
 * Beside them the candidate remedies for learned positions at 512: rotary
 * positions in GPT-2's block, and a sequence-length warm-up.
 */
const SANITY_STEPS = 1226;
const sanityAt = (T: 128 | 512) => ({ model: { blockSize: T }, train: { batchSize: 2048 / T } });
const SANITY_MODELS: GridInput['models'] = [
  ...([128, 512] as const).flatMap((T) => [
    {
      name: `gpt-${T}`,
      plan: 'attn*4',
      ...sanityAt(T),
      note: `GPT (GPT-2's block, learned positions) at context ${T}`,
    },
    {
      name: `gpt-rope-${T}`,
      plan: 'attn*4',
      ...sanityAt(T),
      model: { blockSize: T, rotary: true },
      note: `GPT-2's block with rotary positions (no position table) at context ${T}`,
    },
  ]),
  ...([128, 512] as const).map((T) => ({
    name: `tpp-${T}`,
    plan: 'attn*4',
    ...sanityAt(T),
    model: { blockSize: T, style: 'transformer++' as const },
    note: `Transformer++ at context ${T}`,
  })),
  {
    name: 'gpt-seqwarm-512',
    plan: 'attn*4',
    ...sanityAt(512),
    train: { batchSize: 4, seqWarmupFraction: 0.3, seqWarmupStart: 64 },
    note: 'GPT at context 512 whose first 30% of steps train on windows of 64, 128, then 256 (as many more of them)',
  },
];

/**
 * Context use: does a longer window help when the number of windows a step is
 * held fixed (4, so a longer window also means more tokens)? Each family's
 * pick of the study's sweep (model and lr, 4 windows) at contexts 256 to 2048,
 * the same steps as the sweep's GPT (1226), 2 seeds. The evidence is the loss
 * by position: a model uses its context only where that keeps falling.
 */
const CONTEXT_USE_T = [256, 512, 1024, 2048] as const;
/** The sweep's picks in the Transformer++ block (its table in the study README): context-use and the finer sweep start from them. */
const PICK_LR = { tpp: 2e-3, 'pair-pp': 2e-3, 'hybrid-pp': 8e-3 } as const;
const CONTEXT_USE_FAMILIES = [
  { name: 'tpp', plan: 'attn*4', style: 'transformer++', lr: PICK_LR.tpp },
  { name: 'pair-pp', plan: 'hsm:pair*{levels}', style: 'transformer++', lr: PICK_LR['pair-pp'], matchParams: 'attn*4' },
  {
    name: 'hybrid-pp',
    plan: 'hsm:ab[proj]*3,attn',
    style: 'transformer++',
    lr: PICK_LR['hybrid-pp'],
    matchParams: 'attn*4',
  },
] as const;
const CONTEXT_USE_MODELS: GridInput['models'] = CONTEXT_USE_T.flatMap((T) =>
  CONTEXT_USE_FAMILIES.map(({ name, plan, style, lr, ...rest }) => ({
    name: `${name}-${T}`,
    plan,
    ...rest,
    model: { blockSize: T, style },
    train: { lr, minLr: lr / 10 },
    // Each HSM family against attention at its own context; Transformer++ against itself at 256 (the window's effect).
    ...(name !== 'tpp' && { baseline: `tpp-${T}` }),
    note: `${name} (the study's pick, lr ${lr}) at context ${T}, 4 windows a step`,
  })),
);

/**
 * A check of the sweep's resolution: its learning rates are 2× apart, and the
 * Transformer++ baseline had 8 cells against the HSM families' 20 and 24. Each
 * Transformer++-block pick again at its sweep's budget, batch and seed, at its
 * pick and the two learning rates √2 either side (the hybrid's pick 8e-3 is
 * between 5.7e-3 and 1.13e-2), so that this grid's own report compares each
 * family at its best of three. The pick's run repeats the study's sweep run
 * exactly, a check that training is deterministic. If a finer value beats a
 * pick by more than the seed spread, the study's picks are in question.
 */
// The neighbours are written out, not computed: their rounding names the run folders.
const FINE_LR: Record<string, number[]> = {
  tpp: [1.4e-3, PICK_LR.tpp, 2.8e-3],
  'pair-pp': [1.4e-3, PICK_LR['pair-pp'], 2.8e-3],
  'hybrid-pp': [5.7e-3, PICK_LR['hybrid-pp'], 1.13e-2],
};
const FINE_MODELS: GridInput['models'] = STUDY_MODELS_BY_STYLE[1].map((m) => ({ ...m, sweepLr: FINE_LR[m.name] }));

/**
 * The batch axis at its edge: every family picked 4 windows a step, the
 * smaller of the sweep's two, so each family's pick again with 2 windows (twice
 * the steps at the same budget), at its learning rate and at half of it (a
 * smaller batch tends to want a smaller one), at the sweep's budget and seed.
 * If one beats its family's pick by more than the seed spread, the recipe of
 * the budget runs is in question.
 */
const EDGE_LR: Record<string, number[]> = {
  gpt: [1e-3, 2e-3],
  tpp: [1e-3, 2e-3],
  'gated-pp': [2e-3, 4e-3],
  'hybrid-pp': [4e-3, 8e-3],
};
const EDGE_MODELS: GridInput['models'] = STUDY_MODELS.filter((m) => m.name in EDGE_LR).map((m) => ({
  ...m,
  sweepLr: EDGE_LR[m.name],
}));

export const CONTEXT_GRIDS: Record<string, GridInput> = {
  // 82 sweep runs, then 36 budget runs of which 4 are picked sweep runs: about 22 core-hours; two `--worker` processes, HSM_THREADS=1.
  'context-study': {
    description:
      'GPT, Transformer++, the best pure HSM model and the best hybrid at context 512: lr × batch sweep per model, then compute curves from 1.6e13 to 1.28e14 training FLOPs',
    train: STUDY_TRAIN,
    models: STUDY_MODELS,
    sweep: {
      lr: STUDY_SWEEP_LR,
      batchSize: [4, 8],
      minLrFraction: 0.1,
      train: { budget: { flops: 1.6e13 } },
    },
    budgets: [{ flops: 1.6e13 }, { flops: 3.2e13 }, { flops: 6.4e13 }, { flops: 1.28e14, seeds: [1, 2, 3] }],
    // Gaps against Transformer++, the attention baseline that passes the sanity bar (GPT's learned positions fail it).
    baseline: 'tpp',
    seeds: [1, 2],
    eval: { decodePositions: [8, 256, 511], sampleTokens: 300 },
  },
  // 9 runs, about 45 minutes on one core: the sweep's picks and the learning rates √2 either side.
  'context-lr-fine': {
    description:
      "the context study's sweep at a finer step: each Transformer++-block pick at its learning rate and √2 either side, at the sweep's budget, batch and seed",
    // The budget in train too, so that each family's pick is its sweep run, not another run without the budget.
    train: { ...STUDY_TRAIN, budget: { flops: 1.6e13 } },
    models: FINE_MODELS,
    sweep: { batchSize: [4], minLrFraction: 0.1 }, // every model gives its own sweepLr
    baseline: 'tpp',
    seeds: [1],
    eval: { decodePositions: [8, 256, 511], sampleTokens: 300 },
  },
  // 8 runs, about 1.5 core-hours on one core.
  'context-batch-edge': {
    description:
      "the context study's batch axis at its edge: each family's pick with 2 windows a step (the sweep had 4 and 8), at its learning rate and half of it, at the sweep's budget and seed",
    train: { ...STUDY_TRAIN, budget: { flops: 1.6e13 } },
    models: EDGE_MODELS,
    sweep: { batchSize: [2], minLrFraction: 0.1 },
    baseline: 'tpp',
    seeds: [1],
    eval: { decodePositions: [8, 256, 511], sampleTokens: 300 },
  },
  'context-sanity': {
    description:
      'the sanity bar of the context study: GPT, GPT with rotary positions and Transformer++ at context 128 against 512 on equal tokens, and GPT with a sequence-length warm-up, 2 seeds',
    train: { ...STUDY_TRAIN, maxIters: SANITY_STEPS, lr: 2e-3, minLr: 2e-4 },
    models: SANITY_MODELS,
    seeds: [1, 2],
    eval: { decodePositions: [8, 127], sampleTokens: 200 },
  },
  // 24 runs, about 5 core-hours (the 2048 windows dominate).
  'context-use': {
    description:
      "context use: Transformer++, pure HSM and the hybrid (the study's picks) at contexts 256 to 2048 with 4 windows a step and equal steps, loss by position, 2 seeds",
    train: { ...STUDY_TRAIN, batchSize: 4, maxIters: SANITY_STEPS },
    models: CONTEXT_USE_MODELS,
    baseline: 'tpp-256',
    seeds: [1, 2],
    eval: { decodePositions: [8, 255], sampleTokens: 200 },
  },
};
