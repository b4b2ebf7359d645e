import type { BatchSource } from '../data/dataset.js';
import { scoredRows, type Transformer } from '../model/transformer.js';
import { crossEntropy } from '../ops/index.js';
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

/**
 * estimateLoss with the accuracy beside it: the share of scored positions
 * whose most likely token is the target, on the same batches. The output
 * head runs on the scored positions only.
 */
export function estimateLossAndAccuracy(
  model: Transformer,
  data: BatchSource,
  split: 'train' | 'val',
  iters: number,
  batchSize: number,
  seed: number,
): { loss: number; accuracy: number } {
  const rng = new Rng(seed);
  const T = model.config.blockSize,
    V = model.config.vocabSize;
  let total = 0,
    right = 0,
    scored = 0;
  for (let i = 0; i < iters; i++) {
    const { x, y } = data.sampleBatch(split, rng, batchSize, T);
    const rows = scoredRows(y);
    const targets = rows.map((r) => y[r]);
    const logits = model.forwardRows(x, batchSize, T, rows);
    total += crossEntropy(logits, targets).item();
    right += countRight(logits.data, targets, V);
    scored += rows.length;
  }
  return { loss: total / iters, accuracy: scored ? right / scored : 0 };
}

/** Rows of logits (each V wide) whose largest entry is at the row's target (the first largest, on ties). */
export function countRight(logits: ArrayLike<number>, targets: Int32Array, V: number): number {
  let right = 0;
  for (let r = 0; r < targets.length; r++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[r * V + v] > logits[r * V + best]) best = v;
    if (best === targets[r]) right++;
  }
  return right;
}
