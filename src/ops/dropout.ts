import { kernels } from '../backend/index.js';
import { activeTape, needsGrad } from '../autograd/tape.js';
import type { Rng } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Inverted dropout: zeroes each element with probability p and scales the
 * rest by 1/(1−p), so inference needs no rescaling. The mask comes from the
 * caller's seeded generator, which keeps training reproducible and resumable.
 */
export function dropout(x: Tensor, p: number, rng: Rng): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout probability must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const mask = Tensor.empty(x.shape, x.dtype);
  const keep = 1 / (1 - p);
  for (let i = 0; i < mask.size; i++) mask.data[i] = rng.uniform() < p ? 0 : keep;
  const out = Tensor.empty(x.shape, x.dtype);
  kernels().mulForward(x.data, mask.data, out.data, 1, x.size);
  if (needsGrad(x))
    activeTape()!.push(out, () => kernels().mulBackward(x.data, mask.data, out.grad!, x.ensureGrad(), null, 1, x.size));
  return out;
}
