import { kernels } from '../backend/index.js';
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

/** Mean loss of the window positions [from, to) over the evaluated batches. */
export interface PositionBucket {
  from: number;
  to: number;
  loss: number;
  /** Predictions averaged in this bucket. */
  tokens: number;
}

/**
 * The validation loss by position in the window, on the batches estimateLoss
 * draws with the same arguments: position 0, then buckets doubling in width
 * ([1, 2), [2, 4), … up to the context). A model that uses its context has a
 * loss that keeps falling along the buckets; the buckets' token-weighted mean
 * is estimateLoss's loss.
 */
export function lossByPosition(
  model: Transformer,
  data: BatchSource,
  split: 'train' | 'val',
  iters: number,
  batchSize: number,
  seed: number,
): PositionBucket[] {
  const rng = new Rng(seed);
  const T = model.config.blockSize,
    V = model.config.vocabSize;
  const edges = [0, 1];
  while (edges.at(-1)! < T) edges.push(Math.min(T, 2 * edges.at(-1)!));
  const sums = new Float64Array(edges.length - 1),
    counts = new Float64Array(edges.length - 1);
  const bucketOf = Int32Array.from({ length: T }, (_, t) => edges.findIndex((e, i) => t >= e && t < edges[i + 1]));
  const n = batchSize * T;
  const lse = new Float32Array(n),
    losses = new Float32Array(n);
  for (let i = 0; i < iters; i++) {
    const { x, y } = data.sampleBatch(split, rng, batchSize, T);
    const logits = model.forward(x, batchSize, T).data;
    kernels().crossEntropyForward(logits, y, lse, losses, n, V);
    for (let r = 0; r < n; r++) {
      if (y[r] < 0) continue;
      const b = bucketOf[r % T];
      sums[b] += losses[r];
      counts[b]++;
    }
  }
  return [...sums].map((s, b) => ({ from: edges[b], to: edges[b + 1], loss: s / counts[b], tokens: counts[b] }));
}
