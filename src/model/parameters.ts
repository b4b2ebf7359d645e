import type { FloatArray } from '../backend/kernels.js';
import { allocate, type DType } from '../tensor/buffer-pool.js';
import type { Rng } from '../tensor/random.js';
import { Tensor, type Shape } from '../tensor/tensor.js';

/**
 * A named collection of parameters. Layers register their weights here under
 * dotted names (nanoGPT's, e.g. "h.0.attn.c_attn.weight"), which is also the
 * order and naming of checkpoints.
 */
export class ParameterStore {
  readonly byName = new Map<string, Tensor>();

  constructor(readonly dtype: DType = 'float32') {}

  add(name: string, shape: Shape, init: (data: FloatArray) => void): Tensor {
    if (this.byName.has(name)) throw new Error(`parameter ${name} registered twice`);
    const data = allocate(
      this.dtype,
      shape.reduce((a, b) => a * b, 1),
    );
    init(data);
    const p = Tensor.parameter(data, shape, name);
    this.byName.set(name, p);
    return p;
  }

  get list(): Tensor[] {
    return [...this.byName.values()];
  }

  get count(): number {
    let n = 0;
    for (const p of this.byName.values()) n += p.size;
    return n;
  }

  get(name: string): Tensor {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no parameter named ${name}`);
    return p;
  }

  zeroGrad(): void {
    for (const p of this.byName.values()) p.zeroGrad();
  }
}

export const init = {
  normal: (rng: Rng, std: number) => (d: { length: number; [i: number]: number }) => rng.fillNormal(d, std),
  zeros: () => () => {},
  ones: () => (d: { length: number; [i: number]: number }) => {
    for (let i = 0; i < d.length; i++) d[i] = 1;
  },
};
