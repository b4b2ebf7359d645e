import { kernels } from '../backend/index.js';
import { activeTape, gradOf, needsGrad } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { broadcastSuffix, sameDtype } from './util.js';

/** a + b, with b equal to a's trailing dimensions (a bias, a position table) or the same shape. */
export function add(a: Tensor, b: Tensor): Tensor {
  sameDtype('add', a, b);
  const { outer, inner } = broadcastSuffix('add', a, b);
  const out = Tensor.empty(a.shape, a.dtype);
  kernels().addForward(a.data, b.data, out.data, outer, inner);
  if (needsGrad(a, b)) {
    activeTape()!.push(out, () => {
      const dy = out.grad!;
      // A residual add passes its gradient through unchanged: a temporary input
      // without a gradient yet can take over the output's buffer (out's gradient
      // is not read again once its own backward step has run).
      if (a !== b && b.size === a.size && a.adoptGrad(dy)) {
        out.grad = null;
        // The other input of a same-shape add gets a copy when its buffer is fresh.
        const g = b.requiresGrad ? b.gradForWrite() : null;
        if (g?.fresh) g.grad.set(dy);
        else kernels().addBackward(dy, null, g?.grad ?? null, outer, inner);
      } else {
        kernels().addBackward(dy, gradOf(a), gradOf(b), outer, inner);
      }
    });
  }
  return out;
}

/** a − b (same shape). */
export function sub(a: Tensor, b: Tensor): Tensor {
  sameDtype('sub', a, b);
  if (a.size !== b.size) throw new Error(`sub: shapes [${a.shape}] and [${b.shape}] differ`);
  const K = kernels();
  const out = Tensor.empty(a.shape, a.dtype);
  out.data.set(a.data);
  K.axpy(-1, b.data, out.data, a.size);
  if (needsGrad(a, b)) {
    activeTape()!.push(out, () => {
      if (a.requiresGrad) K.axpy(1, out.grad!, a.ensureGrad(), a.size);
      if (b.requiresGrad) K.axpy(-1, out.grad!, b.ensureGrad(), b.size);
    });
  }
  return out;
}

/** a ⊙ b, with b equal to a's trailing dimensions or the same shape. */
export function mul(a: Tensor, b: Tensor): Tensor {
  sameDtype('mul', a, b);
  const { outer, inner } = broadcastSuffix('mul', a, b);
  const out = Tensor.empty(a.shape, a.dtype);
  kernels().mulForward(a.data, b.data, out.data, outer, inner);
  if (needsGrad(a, b)) {
    activeTape()!.push(out, () => kernels().mulBackward(a.data, b.data, out.grad!, gradOf(a), gradOf(b), outer, inner));
  }
  return out;
}

/** alpha · x for a constant alpha. */
export function scale(x: Tensor, alpha: number): Tensor {
  const out = Tensor.empty(x.shape, x.dtype);
  kernels().scale(x.data, alpha, out.data, x.size);
  if (needsGrad(x)) activeTape()!.push(out, () => kernels().axpy(alpha, out.grad!, x.ensureGrad(), x.size));
  return out;
}

/**
 * GELU with GPT-2's tanh approximation. Part of the public op set (gradient-checked); the models use the
 * fused `mlp`, and test/mlp.test.ts holds it equal to linear → gelu → linear.
 */
export function gelu(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape, x.dtype);
  kernels().geluForward(x.data, out.data, x.size);
  if (needsGrad(x)) {
    activeTape()!.push(out, () => {
      const { grad, fresh } = x.gradForWrite();
      kernels().geluBackward(x.data, out.grad!, grad, x.size, fresh);
    });
  }
  return out;
}

export function sigmoid(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape, x.dtype);
  kernels().sigmoidForward(x.data, out.data, x.size);
  if (needsGrad(x))
    activeTape()!.push(out, () => kernels().sigmoidBackward(out.data, out.grad!, x.ensureGrad(), x.size));
  return out;
}

/** Σ of all elements, as a one-element tensor. Part of the public op set (gradient-checked); the models' losses are fused. */
export function sum(x: Tensor): Tensor {
  const out = Tensor.empty([1], x.dtype);
  out.data[0] = kernels().sum(x.data, x.size);
  if (needsGrad(x)) {
    activeTape()!.push(out, () => {
      const g = x.ensureGrad(),
        dy = out.grad![0];
      for (let i = 0; i < g.length; i++) g[i] += dy;
    });
  }
  return out;
}
