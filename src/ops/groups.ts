import { kernels } from '../backend/index.js';
import { activeTape, needsGrad } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt } from './util.js';

/** (…, C) → (…, G): the sum over each of G equal channel groups (heads). */
export function groupSum(x: Tensor, groups: number): Tensor {
  const C = x.shape[x.ndim - 1];
  if (C % groups !== 0) throw new Error(`groupSum: ${groups} groups do not divide ${fmt(x.shape)}`);
  const N = x.size / C;
  const out = Tensor.empty([...x.shape.slice(0, -1), groups], x.dtype);
  kernels().groupSum(x.data, out.data, N, C, groups);
  if (needsGrad(x)) activeTape()!.push(out, () => kernels().groupExpand(out.grad!, x.ensureGrad(), N, C, groups, true));
  return out;
}

/** (…, G) → (…, C): each group's value repeated over its C/G channels. */
export function groupExpand(x: Tensor, channels: number): Tensor {
  const G = x.shape[x.ndim - 1];
  if (channels % G !== 0) throw new Error(`groupExpand: ${G} groups do not divide ${channels} channels`);
  const N = x.size / G;
  const out = Tensor.empty([...x.shape.slice(0, -1), channels], x.dtype);
  kernels().groupExpand(x.data, out.data, N, channels, G, false);
  if (needsGrad(x)) {
    activeTape()!.push(out, () => {
      // The gradient of a repeat is the sum over the repeated channels.
      const partial = new (x.data.constructor as Float32ArrayConstructor)(x.size);
      kernels().groupSum(out.grad!, partial, N, channels, G);
      kernels().axpy(1, partial, x.ensureGrad(), x.size);
    });
  }
  return out;
}
