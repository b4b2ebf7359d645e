import { BufferPool } from './buffer-pool.js';
import { setTemporaryOwner, type TemporaryOwner, type Tensor } from './tensor.js';

const RELEASED = new Float32Array(0);

/**
 * Pooled buffers for work that records no gradients, such as a decode step:
 * tensors made inside `run` come from this pool, and `release` returns them,
 * so a server decoding step after step reuses the same buffers instead of
 * leaving each step's temporaries to the garbage collector (whose timing,
 * and the allocator's, made resident memory drift). What must outlive the
 * step is copied out before `release`.
 */
export class Scratch implements TemporaryOwner {
  readonly pool = new BufferPool();
  private temporaries: Tensor[] = [];

  run<T>(fn: () => T): T {
    const previous = setTemporaryOwner(this);
    try {
      return fn();
    } finally {
      setTemporaryOwner(previous);
    }
  }

  track(t: Tensor): void {
    this.temporaries.push(t);
  }

  /** Returns every buffer made inside `run` to the pool; those tensors must not be used again. */
  release(): void {
    for (const t of this.temporaries) {
      this.pool.release(t.data);
      t.data = RELEASED;
    }
    this.temporaries = [];
  }
}
