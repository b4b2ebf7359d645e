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
    const k = key(buf instanceof Float64Array ? 'float64' : 'float32', buf.length);
    let list = this.free.get(k);
    if (!list) this.free.set(k, (list = []));
    list.push(buf);
    this.bytesHeld += buf.byteLength;
  }

  /** Bytes currently parked in free lists. */
  get heldBytes(): number {
    return this.bytesHeld;
  }

  clear(): void {
    this.free.clear();
    this.bytesHeld = 0;
  }
}

function key(dtype: DType, length: number): string {
  return `${dtype}:${length}`;
}

export function allocate(dtype: DType, length: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}
