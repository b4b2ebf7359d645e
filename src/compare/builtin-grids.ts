// The grids `hsm compare --grid NAME` knows. Each model's note says how it
// relates to the baseline; README.md holds the results of the full runs.
import type { GridInput } from './grid-schema.js';
import { BASE5_HEADS } from './head-schedules.js';
import { CONTEXT_GRIDS } from './context-grids.js';
import { RECALL_GRIDS } from './recall-grids.js';

const MIXERS = ['ab', 'channel', 'conv', 'linear', 'gated', 'pair'] as const;

/**
 * The paper's comparison on nanoGPT's CPU Shakespeare budget. "Same width and
 * depth" means GPT's 4 blocks of d=128 with a 4d FFN; with pow2 shifts
 * 1, 2, 4, 8 such a model reaches only 15 of the 64 positions (conv's 3 taps:
 * 30), so the parameter-matched ab and gated models use 6 blocks (shifts up to
 * 32: all 64 positions) with FFNs widened to GPT's parameter count. Hybrids
 * are matched too: one attention block last (5 HSM + attn) and one in every
 * four blocks ((3 HSM + attn) × 2).
 */
const paperModels: GridInput['models'] = [
  { name: 'gpt', plan: 'attn*4', note: "baseline: nanoGPT's CPU configuration (4 blocks, d=128, 4 heads)" },
  ...MIXERS.map((mixer) => ({
    name: mixer,
    plan: `hsm:${mixer}*4`,
    note: `HSM ${mixer} at GPT's width and depth (4 blocks, FFN 4d); receptive field ${mixer === 'conv' ? 30 : 15} of 64`,
  })),
  ...(['ab', 'gated'] as const).map((mixer) => ({
    name: `${mixer}-matched`,
    plan: `hsm:${mixer}*6`,
    matchParams: 'attn*4',
    note: `HSM ${mixer}, 6 blocks (reach all 64 positions), FFN sized to GPT's parameter count`,
  })),
  ...(['ab', 'gated'] as const).flatMap((mixer) => [
    {
      name: `${mixer}-attn-last`,
      plan: `hsm:${mixer}*5,attn`,
      matchParams: 'attn*4',
      note: `hybrid: 5 HSM ${mixer} blocks, then attention; parameter-matched`,
    },
    {
      name: `${mixer}-attn-every-4`,
      plan: `(hsm:${mixer}*3,attn)*2`,
      matchParams: 'attn*4',
      note: `hybrid: attention in every fourth of 8 blocks; parameter-matched`,
    },
  ]),
  // The seeds describe each layer as mixing followed by a linear map; the
  // scalar mixers (ab, channel) have none unless asked for with [proj].
  ...(['ab', 'channel'] as const).flatMap((mixer) => [
    {
      name: `${mixer}-proj`,
      plan: `hsm:${mixer}[proj]*4`,
      note: `HSM ${mixer} with its output projection, at GPT's width and depth; receptive field 15 of 64`,
    },
    {
      name: `${mixer}-proj-matched`,
      plan: `hsm:${mixer}[proj]*6`,
      matchParams: 'attn*4',
      note: `HSM ${mixer} with its output projection, 6 blocks, FFN sized to GPT's parameter count`,
    },
    {
      name: `${mixer}-proj-attn-last`,
      plan: `hsm:${mixer}[proj]*5,attn`,
      matchParams: 'attn*4',
      note: `hybrid: 5 HSM ${mixer}[proj] blocks, then attention; parameter-matched`,
    },
    {
      name: `${mixer}-proj-attn-every-4`,
      plan: `(hsm:${mixer}[proj]*3,attn)*2`,
      matchParams: 'attn*4',
      note: `hybrid: attention in every fourth of 8 blocks (HSM ${mixer}[proj] in the others); parameter-matched`,
    },
  ]),
];

/** The long grid's mixers: the leaders at context 64 and ab, with and without its projection. */
const LONG_MIXERS = ['linear', 'gated', 'pair', 'ab', 'ab[proj]'] as const;
const slug = (mixer: string) => mixer.replace('[proj]', '-proj');

const longModels: GridInput['models'] = [
  { name: 'gpt', plan: 'attn*4', note: 'baseline: GPT, 4 blocks of d=128 with 4 heads' },
  ...LONG_MIXERS.map((mixer) => ({
    name: slug(mixer),
    plan: `hsm:${mixer}*{levels}`,
    matchParams: 'attn*4',
    note: `HSM ${mixer}, 9 pow2 blocks (shifts 1…256 cover the context), FFN sized to GPT's parameter count`,
  })),
  ...LONG_MIXERS.map((mixer) => ({
    name: `${slug(mixer)}-heads`,
    plan: `hsm:${mixer}*4`,
    matchParams: 'attn*4',
    model: { hsmHeads: 4, schedule: BASE5_HEADS },
    note: `HSM ${mixer}, GPT's 4 blocks with 4 head groups at base-5 shifts (1…500 cover the context); parameter-matched`,
  })),
  ...(['gated', 'ab[proj]'] as const).flatMap((mixer) => [
    {
      name: `${slug(mixer)}-attn-last`,
      plan: `hsm:${mixer}*3,attn`,
      matchParams: 'attn*4',
      note: `hybrid: 3 HSM ${mixer} blocks (shifts 1, 2, 4), then attention; parameter-matched`,
    },
    {
      name: `${slug(mixer)}-attn-every-4`,
      plan: `(hsm:${mixer}*3,attn)*2`,
      matchParams: 'attn*4',
      note: `hybrid: attention in every fourth of 8 blocks (HSM ${mixer} in the others); parameter-matched`,
    },
  ]),
];

/**
 * The long-context budget: the default corpus at context 512, 2048 tokens a
 * step, and a fixed number of training FLOPs, so a model that is cheaper per
 * token (HSM's linear cost against attention's quadratic one) trains longer.
 * 8e12 FLOPs are 614 GPT steps (1.26M tokens).
 */
const LONG_TRAIN = {
  data: 'sotu',
  tokenizer: 'char',
  model: { nEmbd: 128, nHead: 4, blockSize: 512 },
  batchSize: 4,
  budget: { flops: 8e12 },
  lr: 1e-3,
  minLr: 1e-4,
  warmupIters: 50,
  evalInterval: 100,
  evalIters: 10,
  logInterval: 10,
  checkpointInterval: 100,
};

/** Context lengths of the context sweep; each trains on 2048 tokens a step (batch 2048 / T). */
const SWEEP_CONTEXTS = [256, 512, 1024, 2048] as const;

const contextSweepModels: GridInput['models'] = SWEEP_CONTEXTS.flatMap((T) => {
  const at = { model: { blockSize: T }, train: { batchSize: 2048 / T } };
  return [
    { name: `gpt-${T}`, plan: 'attn*4', ...at, note: `GPT at context ${T}` },
    {
      name: `pair-${T}`,
      plan: 'hsm:pair*{levels}',
      matchParams: 'attn*4',
      ...at,
      note: `HSM pair, ⌈log2 ${T}⌉ pow2 blocks, parameter-matched, at context ${T}`,
    },
    {
      name: `ab-proj-attn-last-${T}`,
      plan: 'hsm:ab[proj]*3,attn',
      matchParams: 'attn*4',
      ...at,
      note: `hybrid: 3 HSM ab[proj] blocks, then attention; parameter-matched, at context ${T}`,
    },
  ];
});

/** FFN widths of the FFN sweep, in multiples of GPT's 4d = 512. */
const FFN_MULTIPLES = [1, 2, 4, 6] as const;

const ffnSweepModels: GridInput['models'] = [
  { name: 'gpt', plan: 'attn*4', note: 'baseline: GPT, 4 blocks of d=128, FFN 4d' },
  ...(['ab', 'ab[proj]'] as const).flatMap((mixer) =>
    FFN_MULTIPLES.map((k) => ({
      name: `${slug(mixer)}-ffn${k}x`,
      plan: `hsm:${mixer}*{levels}`,
      model: { ffnHidden: k * 512 },
      note: `HSM ${mixer}, 9 pow2 blocks, FFN ${k} × 4d (${k * 512} wide)`,
    })),
  ),
];

export const BUILTIN_GRIDS: Record<string, GridInput> = {
  paper: {
    description:
      "HSM mixers and hybrids against GPT on Tiny Shakespeare (characters) at nanoGPT's CPU budget: 2000 steps of 12×64 tokens, 3 seeds",
    preset: 'shakespeare-char-cpu',
    models: paperModels,
    seeds: [1337, 2, 3],
    eval: { decodePositions: [8, 32, 63], sampleTokens: 300 },
  },
  smoke: {
    description:
      "the paper grid's models at a tiny FLOP budget (d=64, 1.01e10 training FLOPs: 30 GPT steps of 4×64 tokens, 2 seeds): checks the pipeline, not the models",
    preset: 'shakespeare-char-cpu',
    train: {
      model: { nEmbd: 64 },
      batchSize: 4,
      budget: { flops: 1.01e10 },
      warmupIters: 5,
      evalInterval: 10,
      evalIters: 2,
      logInterval: 5,
      checkpointInterval: 30,
    },
    models: paperModels,
    seeds: [1, 2],
    eval: { decodePositions: [8, 63], decodeRepeats: 1, sampleTokens: 60 },
  },
  long: {
    description:
      'HSM mixers and hybrids against GPT at context 512 on the default corpus (characters), at equal training FLOPs (8e12), 2 seeds',
    train: LONG_TRAIN,
    models: longModels,
    seeds: [1337, 2],
    eval: { decodePositions: [8, 256, 511], sampleTokens: 300 },
  },
  // The long grid's leaders on its first seed (pair among the pure HSM models, ab[proj] with attention
  // last among the hybrids) against GPT at four times the budget: does GPT's deficit close with compute?
  'long-4x': {
    description:
      'GPT, the best HSM model and the best hybrid of the long grid at 4× its budget (3.2e13 training FLOPs), context 512, 2 seeds',
    train: { ...LONG_TRAIN, budget: { flops: 3.2e13 }, evalInterval: 250, checkpointInterval: 250 },
    models: longModels.filter((m) => ['gpt', 'pair', 'ab-proj-attn-last'].includes(m.name)),
    seeds: [1337, 2],
    eval: { decodePositions: [8, 256, 511], sampleTokens: 300 },
  },
  // Where along the context does the ordering change? 24 runs.
  'context-sweep': {
    description:
      'GPT, HSM pair and the ab[proj] hybrid at context 256, 512, 1024 and 2048 on an equal budget of 1.6e13 training FLOPs, 2048 tokens a step, 2 seeds',
    train: { ...LONG_TRAIN, budget: { flops: 1.6e13 } },
    models: contextSweepModels,
    seeds: [1337, 2],
    eval: { decodePositions: [8, 255], sampleTokens: 200 },
  },
  // The paper's FFN claim: does ab close its gap to GPT when capacity moves into the FFN? Capacity is the
  // question, so every model trains the same steps (GPT's 614 at the long budget) and its FLOPs are recorded:
  // on an equal-FLOP budget the widest FFNs would get a sixth of the steps. 18 runs.
  'ffn-sweep': {
    description:
      "ab and ab[proj] (9 pow2 blocks) with FFNs of 1, 2, 4 and 6 × GPT's 4d against GPT at context 512, 614 steps of 2048 tokens each (FLOPs recorded), 2 seeds",
    train: (({ budget: _, ...fixedSteps }) => ({ ...fixedSteps, maxIters: 614 }))(LONG_TRAIN),
    models: ffnSweepModels,
    seeds: [1337, 2],
    eval: { decodePositions: [8, 256, 511], sampleTokens: 200 },
  },
  ...CONTEXT_GRIDS,
  ...RECALL_GRIDS,
};
