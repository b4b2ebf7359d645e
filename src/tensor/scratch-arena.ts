import { BufferPool, poolKey } from './buffer-pool.js';
import { setTemporaryOwner, type TemporaryOwner, type Tensor } from './tensor.js';

/**
 * Scratch memory for inference. Tensors made inside run() borrow their
 * buffers from this arena's pool and give them back when run() returns, so a
 * decode step that repeats the previous one's shapes allocates no arrays: a
 * fresh typed array per op costs its allocation, its zeroing and garbage
 * collection, which at small batches outweighed the kernels themselves.
 *
 * The result of fn must not be a temporary (copy it out); a temporary used
 * after run() has an empty buffer and fails loudly. Free buffers whose shape
 * the last run did not use are dropped, so memory stays at one step's
 * working set when the batch size changes.
 */
export class ScratchArena implements TemporaryOwner {
  readonly pool = new BufferPool();
  private temporaries: Tensor[] = [];

  run<T>(fn: () => T): T {
    const outer = setTemporaryOwner(this);
    if (outer) {
      // A tape or another arena already owns temporaries (e.g. decoding inside a recorded step): leave them to it.
      setTemporaryOwner(outer);
      return fn();
    }
    try {
      return fn();
    } finally {
      setTemporaryOwner(null);
      this.release();
    }
  }

  track(t: Tensor): void {
    this.temporaries.push(t);
  }

  private release(): void {
    const used = new Set(this.temporaries.map((t) => poolKey(t.data)));
    returnTemporaries(this.temporaries, this.pool);
    this.temporaries = [];
    this.pool.keepOnly(used);
  }
}

const RELEASED = new Float32Array(0);

/** Gives temporaries' buffers back to their pool; the tensors are unusable afterwards (empty data). */
export function returnTemporaries(temporaries: readonly Tensor[], pool: BufferPool): void {
  for (const t of temporaries) {
    pool.release(t.data);
    if (t.grad) pool.release(t.grad);
    t.grad = null;
    t.data = RELEASED;
  }
}
