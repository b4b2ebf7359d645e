import { kernels } from '../backend/index.js';
import { activeTape, gradOf, needsGrad } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt, sameDtype } from './util.js';

/** LayerNorm over the last dimension: x (…, C), weight (C) and bias (C, or null for none). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps = 1e-5): Tensor {
  sameDtype('layerNorm', x, weight, ...(bias ? [bias] : []));
  const C = x.shape[x.ndim - 1];
  if (weight.size !== C || (bias && bias.size !== C)) {
    throw new Error(
      `layerNorm: weight ${fmt(weight.shape)} and bias ${bias ? fmt(bias.shape) : '(none)'} must have ${C} elements for input ${fmt(x.shape)}`,
    );
  }
  const N = x.size / C;
  const out = Tensor.empty(x.shape, x.dtype);
  const mean = Tensor.empty([N], x.dtype),
    rstd = Tensor.empty([N], x.dtype);
  // Without a bias the kernel adds zeros: one temporary row, not a parameter.
  const b = bias ?? Tensor.zeros([C], x.dtype);
  kernels().layerNormForward(x.data, weight.data, b.data, out.data, mean.data, rstd.data, N, C, eps);
  if (needsGrad(x, weight, bias)) {
    activeTape()!.push(out, () =>
      kernels().layerNormBackward(
        x.data,
        weight.data,
        mean.data,
        rstd.data,
        out.grad!,
        gradOf(x),
        gradOf(weight),
        gradOf(bias),
        N,
        C,
      ),
    );
  }
  return out;
}

/** Softmax over the last dimension. Part of the public op set (gradient-checked); attention and the losses fuse their own. */
export function softmax(x: Tensor): Tensor {
  const C = x.shape[x.ndim - 1],
    N = x.size / C;
  const out = Tensor.empty(x.shape, x.dtype);
  kernels().softmaxForward(x.data, out.data, N, C);
  if (needsGrad(x)) activeTape()!.push(out, () => kernels().softmaxBackward(out.data, out.grad!, x.ensureGrad(), N, C));
  return out;
}

/** RMSNorm over the last dimension (Transformer++'s): x (…, C) · rstd ⊙ weight (C), no mean and no bias. */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  sameDtype('rmsNorm', x, weight);
  const C = x.shape[x.ndim - 1];
  if (weight.size !== C)
    throw new Error(`rmsNorm: weight ${fmt(weight.shape)} must have ${C} elements for input ${fmt(x.shape)}`);
  const N = x.size / C;
  const out = Tensor.empty(x.shape, x.dtype);
  const rstd = Tensor.empty([N], x.dtype);
  kernels().rmsNormForward(x.data, weight.data, out.data, rstd.data, N, C, eps);
  if (needsGrad(x, weight)) {
    activeTape()!.push(out, () =>
      kernels().rmsNormBackward(x.data, weight.data, rstd.data, out.grad!, gradOf(x), gradOf(weight), N, C),
    );
  }
  return out;
}
