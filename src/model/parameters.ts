import type { FloatArray } from '../backend/kernels.js';
import { allocate, type DType } from '../tensor/buffer-pool.js';
import type { Rng } from '../tensor/random.js';
import { shapeSize, Tensor, type Shape } from '../tensor/tensor.js';

/**
 * A named collection of parameters. Layers register their weights here under
 * dotted names (nanoGPT's, e.g. "h.0.attn.c_attn.weight"), which is also the
 * order and naming of checkpoints.
 */
export class ParameterStore {
  readonly byName = new Map<string, Tensor>();
  /** Every parameter's declared shape (in a shapes-only store, the tensors themselves are empty). */
  readonly shapes = new Map<string, Shape>();

  /**
   * @param shapesOnly record names and shapes but allocate nothing: how a
   *   model's size is measured before anything of that size is allocated.
   */
  constructor(
    readonly dtype: DType = 'float32',
    readonly shapesOnly = false,
  ) {}

  add(name: string, shape: Shape, init: (data: FloatArray) => void): Tensor {
    if (this.byName.has(name)) throw new Error(`parameter ${name} registered twice`);
    this.shapes.set(name, [...shape]);
    if (this.shapesOnly) {
      const empty = Tensor.parameter(allocate(this.dtype, 0), [0], name);
      this.byName.set(name, empty);
      return empty;
    }
    const data = allocate(this.dtype, shapeSize(shape));
    init(data);
    const p = Tensor.parameter(data, shape, name);
    this.byName.set(name, p);
    return p;
  }

  /** Elements of one parameter, as declared. */
  sizeOf(name: string): number {
    return shapeSize(this.shapes.get(name) ?? [0]);
  }

  get list(): Tensor[] {
    return [...this.byName.values()];
  }

  get count(): number {
    let n = 0;
    for (const shape of this.shapes.values()) n += shapeSize(shape);
    return n;
  }

  has(name: string): boolean {
    return this.byName.has(name);
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
