import { kernels } from '../backend/index.js';
import { activeTape, needsGrad } from '../autograd/tape.js';
import { Tensor, type Shape } from '../tensor/tensor.js';
import { fmt } from './util.js';

/** Embedding lookup: rows of weight (V, C) picked by idx → (…idxShape, C); backward scatter-adds. */
export function embedding(weight: Tensor, idx: Int32Array, idxShape: Shape = [idx.length]): Tensor {
  if (weight.ndim !== 2) throw new Error(`embedding: weight must be (V, C), got ${fmt(weight.shape)}`);
  const [V, C] = weight.shape;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= V)
      throw new RangeError(`embedding: index ${idx[i]} at position ${i} is outside [0, ${V})`);
  }
  const N = idx.length;
  const out = Tensor.empty([...idxShape, C], weight.dtype);
  if (out.size !== N * C) throw new Error(`embedding: index shape ${fmt(idxShape)} does not hold ${N} indices`);
  kernels().embeddingForward(weight.data, idx, out.data, N, C);
  if (needsGrad(weight))
    activeTape()!.push(out, () => kernels().embeddingBackward(idx, out.grad!, weight.ensureGrad(), N, C));
  return out;
}

/**
 * HSM's shifted read along time: y[b, t] = x[b, t − s], zero for t < s.
 * x is (B, T, C). `s` is one shift, or one per channel group (the C channels
 * split into shifts.length equal groups, e.g. heads).
 */
export function shift(x: Tensor, s: number | readonly number[]): Tensor {
  if (x.ndim !== 3) throw new Error(`shift: input must be (B, T, C), got ${fmt(x.shape)}`);
  const shifts = Int32Array.from(typeof s === 'number' ? [s] : s);
  const [B, T, C] = x.shape;
  if (shifts.length === 0 || C % shifts.length !== 0)
    throw new RangeError(`shift: ${shifts.length} groups do not divide ${C} channels`);
  for (const v of shifts)
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`shift: shifts must be non-negative integers, got ${v}`);
  const out = Tensor.empty(x.shape, x.dtype);
  kernels().shiftForward(x.data, out.data, B, T, C, shifts);
  if (needsGrad(x)) activeTape()!.push(out, () => kernels().shiftBackward(out.grad!, x.ensureGrad(), B, T, C, shifts));
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
    activeTape()!.push(out, () =>
      kernels().axpy(1, out.grad!, x.ensureGrad().subarray(start * C, (start + count) * C), count * C),
    );
  }
  return out;
}

/** Channels [start, start + width) of the last dimension (a copy; the backward adds into them). */
export function columns(x: Tensor, start: number, width: number): Tensor {
  const C = x.shape[x.ndim - 1];
  if (start < 0 || width < 1 || start + width > C)
    throw new RangeError(`columns: cannot take [${start}, ${start + width}) of ${fmt(x.shape)}`);
  const N = x.size / C;
  const out = Tensor.empty([...x.shape.slice(0, -1), width], x.dtype);
  kernels().columnsForward(x.data, out.data, N, C, start, width);
  if (needsGrad(x)) {
    activeTape()!.push(out, () => kernels().columnsBackward(out.grad!, x.ensureGrad(), N, C, start, width));
  }
  return out;
}
