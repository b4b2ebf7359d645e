import { kernels } from '../backend/index.js';
import { activeTape, needsGrad } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt } from './util.js';

/**
 * Fused softmax cross-entropy: logits (…, V) against integer targets (one per
 * row; −1 ignores a row). Returns the mean loss over the counted rows as a
 * one-element tensor. The softmax is never stored: the backward pass
 * recomputes it from the saved per-row log-sum-exp.
 */
export function crossEntropy(logits: Tensor, targets: Int32Array): Tensor {
  const V = logits.shape[logits.ndim - 1];
  const N = logits.size / V;
  if (targets.length !== N)
    throw new Error(`crossEntropy: ${targets.length} targets for logits ${fmt(logits.shape)} (${N} rows)`);
  let counted = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t === -1) continue;
    if (!Number.isInteger(t) || t < 0 || t >= V)
      throw new RangeError(`crossEntropy: target ${t} at row ${i} is outside [0, ${V})`);
    counted++;
  }
  const lse = Tensor.empty([N], logits.dtype);
  const losses = Tensor.empty([N], logits.dtype);
  const K = kernels();
  K.crossEntropyForward(logits.data, targets, lse.data, losses.data, N, V);
  const out = Tensor.empty([1], logits.dtype);
  out.data[0] = counted === 0 ? 0 : K.sum(losses.data, N) / counted;
  if (needsGrad(logits) && counted > 0) {
    activeTape()!.push(out, () =>
      kernels().crossEntropyBackward(logits.data, targets, lse.data, logits.ensureGrad(), out.grad![0] / counted, N, V),
    );
  }
  return out;
}
