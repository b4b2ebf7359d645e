import type { BatchSource } from '../data/dataset.js';
import { UserError } from '../errors.js';
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
