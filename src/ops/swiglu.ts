import { activeTape, needsGrad } from '../autograd/tape.js';
import { kernels } from '../backend/index.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt } from './util.js';

/**
 * SwiGLU's gating (Shazeer 2020; the Transformer++ FFN): h (…, 2F) holds
 * [gate | up] side by side, as one product of x with the stacked weights
 * gives them; the result (…, F) is silu(gate) ⊙ up.
 */
export function swiglu(h: Tensor): Tensor {
  const width = h.shape[h.ndim - 1];
  if (width % 2 !== 0) throw new Error(`swiglu: the last dimension of ${fmt(h.shape)} must hold gate and up halves`);
  const F = width / 2,
    rows = h.size / width;
  const out = Tensor.empty([...h.shape.slice(0, -1), F], h.dtype);
  kernels().swigluForward(h.data, out.data, rows, F);
  if (needsGrad(h)) {
    activeTape()!.push(out, () => {
      const { grad, fresh } = h.gradForWrite();
      kernels().swigluBackward(h.data, out.grad!, grad, rows, F, fresh);
    });
  }
  return out;
}
