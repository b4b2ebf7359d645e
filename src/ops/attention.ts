import { kernels } from '../backend/index.js';
import { activeTape, needsGrad } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt } from './util.js';

/**
 * Fused causal multi-head softmax attention.
 * qkv (B, T, 3C) packs queries, keys and values; returns (B, T, C).
 * Only a (B, H, T) row log-sum-exp is kept for the backward pass: the
 * B·H·T·T score tensor is never materialised.
 */
export function causalAttention(qkv: Tensor, nHead: number): Tensor {
  if (qkv.ndim !== 3 || qkv.shape[2] % (3 * nHead) !== 0) {
    throw new Error(
      `causalAttention: qkv must be (B, T, 3·C) with C divisible by ${nHead} heads, got ${fmt(qkv.shape)}`,
    );
  }
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3,
    Dh = C / nHead;
  const out = Tensor.empty([B, T, C], qkv.dtype);
  const lse = Tensor.empty([B, nHead, T], qkv.dtype);
  kernels().attentionForward(qkv.data, out.data, lse.data, B, T, nHead, Dh);
  if (needsGrad(qkv)) {
    activeTape()!.push(out, () =>
      kernels().attentionBackward(qkv.data, out.data, lse.data, out.grad!, qkv.ensureGrad(), B, T, nHead, Dh),
    );
  }
  return out;
}
