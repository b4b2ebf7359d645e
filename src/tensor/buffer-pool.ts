import type { FloatArray } from '../backend/kernels.js';

export type DType = 'float32' | 'float64';

/**
 * Free lists of typed arrays keyed by dtype and exact length.
 *
 * A training step allocates the same set of activation and gradient buffers
 * every time; returning them here at the end of a step (Tape.release) lets the
 * next step reuse them, so steady-state training allocates no large arrays.
 */
export class BufferPool {
  private readonly free = new Map<string, FloatArray[]>();
  private bytesHeld = 0;
  /** Buffers created because no free one fitted (steady-state training adds none). */
  allocations = 0;

  acquire(dtype: DType, length: number, zero: boolean): FloatArray {
    const list = this.free.get(key(dtype, length));
    const buf = list?.pop();
    if (buf) {
      this.bytesHeld -= buf.byteLength;
      if (zero) buf.fill(0);
      return buf;
    }
    this.allocations++;
    return allocate(dtype, length);
  }

  release(buf: FloatArray): void {
    const k = poolKey(buf);
    let list = this.free.get(k);
    if (!list) this.free.set(k, (list = []));
    list.push(buf);
    this.bytesHeld += buf.byteLength;
  }

  /** Bytes currently parked in free lists. */
  get heldBytes(): number {
    return this.bytesHeld;
  }

  /** Drops the free buffers of every dtype and length not in `keys` (from poolKey). */
  keepOnly(keys: ReadonlySet<string>): void {
    for (const [k, list] of this.free) {
      if (keys.has(k)) continue;
      for (const buf of list) this.bytesHeld -= buf.byteLength;
      this.free.delete(k);
    }
  }

  clear(): void {
    this.free.clear();
    this.bytesHeld = 0;
  }
}

function key(dtype: DType, length: number): string {
  return `${dtype}:${length}`;
}

/** The free list a buffer goes back to. */
export function poolKey(buf: FloatArray): string {
  return key(buf instanceof Float64Array ? 'float64' : 'float32', buf.length);
}

export function allocate(dtype: DType, length: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}
