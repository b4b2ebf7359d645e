// Tiny grids for the compare tests: seconds, not minutes.
import type { GridInput } from '../src/compare/grid.js';

const TINY_TRAIN = {
  model: { nHead: 2, nEmbd: 16, blockSize: 16 },
  batchSize: 2,
  maxIters: 12,
  warmupIters: 2,
  evalInterval: 4,
  evalIters: 2,
  logInterval: 1,
  checkpointInterval: 100,
};

/** A text grid: GPT and two HSM models, two seeds. */
export function tinyTextGrid(corpus: string): GridInput {
  return {
    description: 'tiny test grid',
    train: { ...TINY_TRAIN, data: corpus },
    models: [
      { name: 'gpt', plan: 'attn*2' },
      { name: 'ab', plan: 'hsm:ab*4', note: 'covers the context' },
      { name: 'gated-attn', plan: 'hsm:gated,attn', matchParams: 'attn*2' },
    ],
    seeds: [1, 2],
    eval: { decodePositions: [4, 15], decodeRepeats: 1, sampleTokens: 20 },
  };
}

/** A recall grid at two lengths. */
export function tinyRecallGrid(): GridInput {
  return {
    description: 'tiny recall grid',
    train: { ...TINY_TRAIN, model: { nHead: 2, nEmbd: 16 }, batchSize: 4 },
    recall: {
      vocabSize: 32,
      lengths: [
        { context: 16, pairs: 2 },
        { context: 32, pairs: 4, batchSize: 2 },
      ],
      heldOutSequences: 16,
    },
    models: [
      { name: 'gpt', plan: 'attn*2' },
      { name: 'ab', plan: 'hsm:ab*{levels}' },
    ],
    seeds: [1, 2],
  };
}
