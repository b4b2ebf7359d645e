import type { FloatArray } from '../backend/kernels.js';

export type DType = 'float32' | 'float64';

/**
 * Free lists of typed arrays keyed by dtype and length.
 *
 * A training step allocates the same set of activation and gradient buffers
 * every time; returning them here at the end of a step (Tape.release) lets the
 * next step reuse them, so steady-state training allocates no large arrays.
 *
 * With `roundUp`, buffers are made with a power-of-two capacity and handed
 * out as views of the requested length, so requests of many nearby lengths
 * (a server's decode batch grows and shrinks by one sequence at a time)
 * share a few free lists instead of keeping one per length.
 */
export class BufferPool {
  private readonly free = new Map<PoolKey, FloatArray[]>();
  /** The whole array behind each view handed out (making a new view to find it cost more than the lookup). */
  private readonly views = new WeakMap<FloatArray, FloatArray>();
  private bytesHeld = 0;
  /** Buffers created because no free one fitted (steady-state training adds none). */
  allocations = 0;

  constructor(private readonly roundUp = false) {}

  acquire(dtype: DType, length: number, zero: boolean): FloatArray {
    const capacity = this.roundUp ? nextPowerOfTwo(length) : length;
    const full = this.free.get(key(dtype, capacity))?.pop();
    let buf: FloatArray;
    if (full) {
      this.bytesHeld -= full.byteLength;
      buf = capacity === length ? full : this.view(full, length);
      if (zero) buf.fill(0);
    } else {
      this.allocations++;
      const fresh = allocate(dtype, capacity);
      buf = capacity === length ? fresh : this.view(fresh, length);
    }
    return buf;
  }

  private view(full: FloatArray, length: number): FloatArray {
    const v = full.subarray(0, length);
    this.views.set(v, full);
    return v;
  }

  /** The whole array behind one of this pool's views (or the array itself). */
  private whole(buf: FloatArray): FloatArray {
    return buf.byteLength === buf.buffer.byteLength ? buf : (this.views.get(buf) ?? whole(buf));
  }

  /** Parks a buffer (or one of this pool's views) in its free list; returns that list's key. */
  release(buf: FloatArray): PoolKey {
    const full = this.whole(buf);
    const k = fullKey(full);
    let list = this.free.get(k);
    if (!list) this.free.set(k, (list = []));
    list.push(full);
    this.bytesHeld += full.byteLength;
    return k;
  }

  /** Bytes currently parked in free lists. */
  get heldBytes(): number {
    return this.bytesHeld;
  }

  /** Bytes parked in the free list of one dtype and length (a key from release). */
  bytesOf(key: PoolKey): number {
    return (this.free.get(key) ?? []).reduce((sum, buf) => sum + buf.byteLength, 0);
  }

  /** Drops the free buffers of one dtype and length. */
  drop(key: PoolKey): void {
    this.bytesHeld -= this.bytesOf(key);
    this.free.delete(key);
  }

  clear(): void {
    this.free.clear();
    this.bytesHeld = 0;
  }
}

/** A free list's key: dtype and length in one number (a string key cost more to build and hash per op). */
export type PoolKey = number;

function key(dtype: DType, length: number): PoolKey {
  return 2 * length + (dtype === 'float64' ? 1 : 0);
}

function fullKey(full: FloatArray): PoolKey {
  return key(full instanceof Float64Array ? 'float64' : 'float32', full.length);
}

/** The whole array behind a pool's view (pool buffers own their ArrayBuffer, from offset 0). */
function whole(buf: FloatArray): FloatArray {
  if (buf.byteLength === buf.buffer.byteLength) return buf;
  return buf instanceof Float64Array ? new Float64Array(buf.buffer) : new Float32Array(buf.buffer);
}

function nextPowerOfTwo(n: number): number {
  if (n <= 1) return 1;
  return n <= 2 ** 30 ? 2 ** (32 - Math.clz32(n - 1)) : 2 ** Math.ceil(Math.log2(n));
}

export function allocate(dtype: DType, length: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}
