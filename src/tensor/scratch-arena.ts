import { BufferPool, type PoolKey } from './buffer-pool.js';
import { setTemporaryOwner, type TemporaryOwner, type Tensor } from './tensor.js';

/**
 * Scratch memory for inference. Tensors made inside run() borrow their
 * buffers from this arena's pool and give them back when run() returns, so a
 * decode step that repeats the previous one's shapes allocates no arrays: a
 * fresh typed array per op costs its allocation, its zeroing and garbage
 * collection, which at small batches outweighed the kernels themselves.
 *
 * The result of fn must not be a temporary (copy it out); a temporary used
 * after run() has an empty buffer and fails loudly. A server's batch size
 * changes as requests come and go, so buffers come in power-of-two
 * capacities, and those the recent runs used are kept. The bytes kept are
 * bounded by twice the largest recent run's own (a long prompt's prefill,
 * beside the decode steps' shapes): of the order of what the process needed
 * at that moment anyway, while handing a prefill fresh arrays every time made
 * it several times slower.
 */
export class ScratchArena implements TemporaryOwner {
  readonly pool = new BufferPool(true);
  private temporaries: Tensor[] = [];
  private runs = 0;
  /** The run in which each kept shape (pool key) was last used. */
  private readonly lastUse = new Map<PoolKey, number>();

  /** The largest bytes one recent run used, and when. */
  private peak = { bytes: 0, run: 0 };

  constructor(
    /** Shapes unused for this many runs are dropped. */
    private readonly keepRuns = 256,
  ) {}

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
    const run = ++this.runs;
    let bytes = 0;
    for (const t of this.temporaries) bytes += t.data.buffer.byteLength + (t.grad?.buffer.byteLength ?? 0);
    returnTemporaries(this.temporaries, this.pool, (key) => this.lastUse.set(key, run));
    this.temporaries = [];
    if (bytes >= this.peak.bytes || run - this.peak.run >= this.keepRuns) this.peak = { bytes, run };
    for (const [key, last] of this.lastUse) {
      if (last > run - this.keepRuns) continue;
      this.pool.drop(key);
      this.lastUse.delete(key);
    }
    const budget = 2 * this.peak.bytes;
    if (this.pool.heldBytes <= budget) return;
    // Over budget: the largest shapes go first.
    const bySize = [...this.lastUse.keys()].sort((a, b) => this.pool.bytesOf(b) - this.pool.bytesOf(a));
    for (const key of bySize) {
      if (this.pool.heldBytes <= budget) break;
      this.pool.drop(key);
      this.lastUse.delete(key);
    }
  }
}

const RELEASED = new Float32Array(0);

/**
 * Gives temporaries' buffers back to their pool, telling `returned` each free
 * list's key; the tensors are unusable afterwards (empty data).
 */
export function returnTemporaries(
  temporaries: readonly Tensor[],
  pool: BufferPool,
  returned?: (key: PoolKey) => void,
): void {
  for (const t of temporaries) {
    const key = pool.release(t.data); // not inside returned?.(…): without a callback that would skip the release
    returned?.(key);
    if (t.grad) {
      const gradKey = pool.release(t.grad);
      returned?.(gradKey);
    }
    t.grad = null;
    t.data = RELEASED;
  }
}
