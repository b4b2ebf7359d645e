import type { BatchSource } from '../data/dataset.js';
import type { Transformer } from '../model/transformer.js';
import { Rng } from '../tensor/random.js';

/**
 * Mean loss over `iters` random batches of a split (no gradients). The batch
 * RNG is seeded from `seed` alone, so an evaluation does not depend on what
 * ran before it — a resumed run evaluates on exactly the same batches.
 */
export function estimateLoss(
  model: Transformer,
  data: BatchSource,
  split: 'train' | 'val',
  iters: number,
  batchSize: number,
  seed: number,
): number {
  const rng = new Rng(seed);
  const T = model.config.blockSize;
  let total = 0;
  for (let i = 0; i < iters; i++) {
    const { x, y } = data.sampleBatch(split, rng, batchSize, T);
    total += model.loss(x, y, batchSize, T).item();
  }
  return total / iters;
}
