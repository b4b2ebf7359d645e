import type { FloatArray } from '../backend/kernels.js';
import { allocate, type BufferPool, type DType } from './buffer-pool.js';

export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function dtypeOf(data: FloatArray): DType {
  return data instanceof Float64Array ? 'float64' : 'float32';
}

/**
 * Who owns the buffers of tensors made now: the recording tape (autograd sits
 * above this layer, so it installs itself here rather than being imported).
 */
export interface TemporaryOwner {
  readonly pool: BufferPool;
  /** Remembers t so its buffers go back to the pool when the owner releases them. */
  track(t: Tensor): void;
}

let temporaryOwner: TemporaryOwner | null = null;

/** Installs (or with null, removes) the owner of new temporaries; returns the previous one. */
export function setTemporaryOwner(owner: TemporaryOwner | null): TemporaryOwner | null {
  const previous = temporaryOwner;
  temporaryOwner = owner;
  return previous;
}

/**
 * A dense row-major float tensor with an optional gradient buffer.
 *
 * Tensors made while a Tape records are "temporary": their buffers come from
 * the tape's pool and go back to it on tape.release(), after which they must
 * not be used (they are marked released and throw). Parameters and tensors
 * made outside a tape own their buffers.
 */
export class Tensor {
  readonly shape: Shape;
  data: FloatArray;
  requiresGrad: boolean;
  /** For a reshape view: the tensor whose buffers (data and gradient) it shares. */
  readonly base: Tensor | null = null;
  private ownGrad: FloatArray | null = null;
  /** The pool this temporary's buffers come from and return to; null for owned tensors. */
  pooledBy: BufferPool | null = null;
  name?: string;

  constructor(data: FloatArray, shape: Shape, requiresGrad = false, base: Tensor | null = null) {
    if (data.length !== shapeSize(shape)) {
      throw new Error(
        `tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${shapeSize(shape)}`,
      );
    }
    this.data = data;
    this.shape = [...shape];
    this.requiresGrad = requiresGrad;
    this.base = base;
  }

  /** The gradient buffer, or null while nothing has flowed into it. */
  get grad(): FloatArray | null {
    return this.base ? this.base.grad : this.ownGrad;
  }

  set grad(g: FloatArray | null) {
    if (this.base) this.base.grad = g;
    else this.ownGrad = g;
  }

  /** An uninitialised tensor; from the active tape's pool when one is recording. */
  static empty(shape: Shape, dtype: DType = 'float32'): Tensor {
    return Tensor.make(shape, dtype, false);
  }

  static zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
    return Tensor.make(shape, dtype, true);
  }

  private static make(shape: Shape, dtype: DType, zero: boolean): Tensor {
    const owner = temporaryOwner;
    if (!owner) return new Tensor(allocate(dtype, shapeSize(shape)), shape);
    const t = new Tensor(owner.pool.acquire(dtype, shapeSize(shape), zero), shape);
    t.pooledBy = owner.pool;
    owner.track(t);
    return t;
  }

  static from(values: ArrayLike<number>, shape: Shape, dtype: DType = 'float32'): Tensor {
    const data = allocate(dtype, shapeSize(shape));
    data.set(values as ArrayLike<number>);
    return new Tensor(data, shape);
  }

  /** A trainable parameter (owned buffers, requiresGrad). */
  static parameter(data: FloatArray, shape: Shape, name?: string): Tensor {
    const t = new Tensor(data, shape, true);
    t.name = name;
    return t;
  }

  get size(): number {
    return this.data.length;
  }

  get dtype(): DType {
    return dtypeOf(this.data);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item() needs a one-element tensor, got shape [${this.shape.join(', ')}]`);
    return this.data[0];
  }

  /** The gradient buffer, allocated (zeroed) on first use. */
  ensureGrad(): FloatArray {
    if (this.base) return this.base.ensureGrad();
    if (!this.ownGrad) {
      this.ownGrad = this.pooledBy
        ? this.pooledBy.acquire(this.dtype, this.size, true)
        : allocate(this.dtype, this.size);
    }
    return this.ownGrad;
  }

  /**
   * For a backward step that can write (=) its whole contribution: the
   * gradient buffer and whether it is fresh. A fresh buffer of a temporary is
   * not zeroed, so the caller must overwrite every element; an existing one
   * must be accumulated into.
   */
  gradForWrite(): { grad: FloatArray; fresh: boolean } {
    const root = this.base ?? this;
    if (root.ownGrad || !root.pooledBy) return { grad: root.ensureGrad(), fresh: false };
    root.ownGrad = root.pooledBy.acquire(root.dtype, root.size, false);
    return { grad: root.ownGrad, fresh: true };
  }

  /**
   * Takes over `buffer` as this tensor's gradient when it has none yet: a
   * backward step whose input gradient equals its output gradient (a residual
   * add) then needs no copy. Only for temporaries; returns whether it did.
   */
  adoptGrad(buffer: FloatArray): boolean {
    const root = this.base ?? this;
    if (root.ownGrad || !root.pooledBy || !this.requiresGrad || buffer.length !== root.size) return false;
    root.ownGrad = buffer;
    return true;
  }

  /**
   * A view with another shape over the same buffers (no copy). It shares the
   * gradient buffer too, so gradients flow through it with no backward step.
   */
  reshape(shape: Shape): Tensor {
    const root = this.base ?? this;
    return new Tensor(this.data, resolveShape(shape, this.size), this.requiresGrad, root);
  }

  zeroGrad(): void {
    this.grad?.fill(0);
  }
}

function resolveShape(shape: Shape, size: number): number[] {
  const out = [...shape];
  const infer = out.indexOf(-1);
  if (infer >= 0) {
    const known = out.reduce((p, d, i) => (i === infer ? p : p * d), 1);
    out[infer] = size / known;
  }
  if (shapeSize(out) !== size || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`cannot reshape ${size} elements to [${shape.join(', ')}]`);
  }
  return out;
}
