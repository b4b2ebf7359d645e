import { kernels } from '../backend/index.js';
import { packedMatmulBLength } from '../backend/kernels.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Inference weights packed once (Kernels.packMatmulB) for every later product
 * against them. The blocked GEMM otherwise packs a weight on every call: at a
 * decode batch's 16 rows that copy costs about as much as the product, and on
 * a model whose weights do not fit in cache it reads them twice. Each
 * weight is packed on its first use inside run(), so exactly the weights of
 * linear layers, FFNs and the output head are.
 *
 * The packed copies do not follow later changes to the weights: a model
 * packs for serving, never while it trains (see Transformer.packWeights). Native backend only: the js reference gains
 * nothing, and the wasm glue would copy each packed weight into the module's
 * memory on every call.
 */
export class PackedWeights {
  private readonly packed = new Map<Tensor, { backend: string; data: Float32Array }>();

  /** Runs fn with linear(), mlp() and matmul() against a shared transposed weight (the output head) reading these packed weights. */
  run<T>(fn: () => T): T {
    return withActive(this, fn);
  }

  /** Bytes the packed copies hold. */
  get bytes(): number {
    let sum = 0;
    for (const p of this.packed.values()) sum += p.data.byteLength;
    return sum;
  }

  /** weight (out, in), used as x · weightᵀ, packed for the backend in use; undefined where packing does not apply. */
  of(weight: Tensor): Float32Array | undefined {
    const K = kernels();
    if (K.name !== 'native' || weight.ndim !== 2 || !(weight.data instanceof Float32Array)) return undefined;
    const known = this.packed.get(weight);
    if (known?.backend === K.name) return known.data;
    const [outF, inF] = weight.shape;
    const data = new Float32Array(packedMatmulBLength(inF, outF));
    K.packMatmulB(weight.data, data, inF, outF, true);
    this.packed.set(weight, { backend: K.name, data });
    return data;
  }
}

let active: PackedWeights | null = null;

function withActive<T>(weights: PackedWeights, fn: () => T): T {
  const outer = active;
  active = weights;
  try {
    return fn();
  } finally {
    active = outer;
  }
}

/**
 * Fewer rows than this keep the plain product: natively up to 3 rows take dot
 * products that read the weight once, unpacked, which makes one sequence's
 * decode step faster than the packed GEMM does (`hsm bench decode` times
 * batches of 1 and 16).
 */
export const PACKED_MIN_ROWS = 4;

/**
 * The packed copy of weight (out, in) while a PackedWeights.run is active and x is float32 without gradients, for a
 * product of x's rows (x.size over its last dimension, which an FFN's second weight does not share: its rows are
 * x's, its input is the hidden layer) against the weight.
 */
export function packedWeight(weight: Tensor, x: Tensor, needsGrad: boolean): Float32Array | undefined {
  if (!active || needsGrad || !(x.data instanceof Float32Array)) return undefined;
  if (x.size / x.shape[x.ndim - 1] < PACKED_MIN_ROWS) return undefined;
  return active.of(weight);
}
