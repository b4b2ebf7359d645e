import { kernels } from '../backend/index.js';
import type { BatchSource } from '../data/dataset.js';
import { UserError } from '../errors.js';
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
 * Refuses a loss that is NaN or infinite: the weights passed every check on loading but overflow float32 on
 * the way (a damaged file), so the error names the largest of them.
 */
export function requireFiniteLoss(model: Transformer, loss: number, where: string): void {
  if (Number.isFinite(loss)) return;
  let name = '',
    largest = 0;
  for (const [n, p] of model.params.byName)
    for (let i = 0; i < p.data.length; i++)
      if (Math.abs(p.data[i]) > largest) [name, largest] = [n, Math.abs(p.data[i])];
  throw new UserError(
    `${where}: the loss is ${loss}: the weights overflow float32 arithmetic (the largest, in "${name}", is ${largest.toExponential(2)}); ` +
      'the file is damaged: restore it or train again',
  );
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
