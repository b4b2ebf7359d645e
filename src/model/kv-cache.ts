import { kernels } from '../backend/index.js';
import type { FloatArray } from '../backend/kernels.js';

/**
 * Keys and values of one attention layer for one sequence, so that a new
 * token attends to the past without recomputing it: (capacity, C) tables
 * filled row by row as tokens arrive.
 */
export class KVCache {
  readonly keys: Float32Array;
  readonly values: Float32Array;
  length = 0;

  constructor(
    readonly capacity: number,
    readonly channels: number,
  ) {
    this.keys = new Float32Array(capacity * channels);
    this.values = new Float32Array(capacity * channels);
  }

  /** Stores position `pos` from a packed qkv row (3C: q, k, v) starting at `offset`. */
  store(pos: number, qkv: FloatArray, offset: number): void {
    const C = this.channels;
    if (pos >= this.capacity) throw new RangeError(`KV cache is full (${this.capacity} positions)`);
    this.keys.set(qkv.subarray(offset + C, offset + 2 * C), pos * C);
    this.values.set(qkv.subarray(offset + 2 * C, offset + 3 * C), pos * C);
  }
}

/**
 * One query row (the q part of a packed qkv row) against cached keys/values
 * 0..pos, all heads: out (C) = Σ_u softmax_u(q·k_u/√Dh) v_u per head. O(pos·C).
 */
export function attendCached(qkv: FloatArray, cache: KVCache, pos: number, nHead: number, out: FloatArray): void {
  const C = cache.channels;
  kernels().attentionDecode(qkv.subarray(0, C), cache.keys, cache.values, out, pos + 1, nHead, C / nHead);
}
