import { kernels } from '../backend/index.js';
import { activeTape, gradOf, needsGrad } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt } from './util.js';

/**
 * Fused HSM pair mix: y_t = a ⊙ x_t + w ⊙ x_{t−s} on x (B, T, C) with
 * per-channel a, w (C) and one shift per channel group. Equal to
 * add(mul(x, a), mul(shift(x, s), w)) — the composed form it is tested
 * against — in one pass and without temporaries.
 */
export function shiftMix(x: Tensor, a: Tensor, w: Tensor, shifts: readonly number[]): Tensor {
  if (x.ndim !== 3) throw new Error(`shiftMix: input must be (B, T, C), got ${fmt(x.shape)}`);
  const [B, T, C] = x.shape;
  if (a.size !== C || w.size !== C)
    throw new Error(`shiftMix: a ${fmt(a.shape)} and w ${fmt(w.shape)} must have ${C} elements`);
  const s = Int32Array.from(shifts);
  if (s.length === 0 || C % s.length !== 0)
    throw new RangeError(`shiftMix: ${s.length} groups do not divide ${C} channels`);
  const out = Tensor.empty(x.shape, x.dtype);
  kernels().shiftMixForward(x.data, a.data, w.data, out.data, B, T, C, s);
  if (needsGrad(x, a, w)) {
    activeTape()!.push(out, () =>
      kernels().shiftMixBackward(x.data, a.data, w.data, out.grad!, gradOf(x), gradOf(a), gradOf(w), B, T, C, s),
    );
  }
  return out;
}
