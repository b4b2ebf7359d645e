import { kernels } from '../backend/index.js';
import { activeTape, needsGrad } from '../autograd/tape.js';
import { Tensor, type Shape } from '../tensor/tensor.js';
import { fmt } from './util.js';

/** Embedding lookup: rows of weight (V, C) picked by idx → (…idxShape, C); backward scatter-adds. */
export function embedding(weight: Tensor, idx: Int32Array, idxShape: Shape = [idx.length]): Tensor {
  if (weight.ndim !== 2) throw new Error(`embedding: weight must be (V, C), got ${fmt(weight.shape)}`);
  const [V, C] = weight.shape;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= V) throw new RangeError(`embedding: index ${idx[i]} at position ${i} is outside [0, ${V})`);
  }
  const N = idx.length;
  const out = Tensor.empty([...idxShape, C], weight.dtype);
  if (out.size !== N * C) throw new Error(`embedding: index shape ${fmt(idxShape)} does not hold ${N} indices`);
  kernels().embeddingForward(weight.data, idx, out.data, N, C);
  if (needsGrad(weight)) activeTape()!.push(out, () => kernels().embeddingBackward(idx, out.grad!, weight.ensureGrad(), N, C));
  return out;
}

/**
 * HSM's shifted read along time: y[b, t] = x[b, t − s], zero for t < s.
 * x is (B, T, C); s ≥ 0.
 */
export function shift(x: Tensor, s: number): Tensor {
  if (x.ndim !== 3) throw new Error(`shift: input must be (B, T, C), got ${fmt(x.shape)}`);
  if (!Number.isInteger(s) || s < 0) throw new RangeError(`shift: s must be a non-negative integer, got ${s}`);
  const [B, T, C] = x.shape;
  const out = Tensor.empty(x.shape, x.dtype);
  kernels().shiftForward(x.data, out.data, B, T, C, s);
  if (needsGrad(x)) activeTape()!.push(out, () => kernels().shiftBackward(out.grad!, x.ensureGrad(), B, T, C, s));
  return out;
}

/** Rows [start, start + count) of a 2-D tensor (a copy; the backward adds into those rows). */
export function rows(x: Tensor, start: number, count: number): Tensor {
  if (x.ndim !== 2 || start < 0 || count < 0 || start + count > x.shape[0]) {
    throw new RangeError(`rows: cannot take rows [${start}, ${start + count}) of ${fmt(x.shape)}`);
  }
  const C = x.shape[1];
  const out = Tensor.empty([count, C], x.dtype);
  out.data.set(x.data.subarray(start * C, (start + count) * C));
  if (needsGrad(x)) {
    activeTape()!.push(out, () => kernels().axpy(1, out.grad!, x.ensureGrad().subarray(start * C, (start + count) * C), count * C));
  }
  return out;
}
