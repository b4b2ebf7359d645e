import { activeTape, needsGrad } from '../autograd/tape.js';
import { kernels } from '../backend/index.js';
import type { FloatArray } from '../backend/kernels.js';
import type { DType } from '../tensor/buffer-pool.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt } from './util.js';

/** The angles of rotary positions: cos and sin of p·θ_i, θ_i = base^(−2i/dh), for p < maxPos and i < dh/2. */
export interface RotaryTables {
  readonly cos: FloatArray;
  readonly sin: FloatArray;
  readonly maxPos: number;
  readonly dh: number;
}

/** The tables for heads of dh channels (even), positions 0..maxPos−1, in float64 then stored as dtype. */
export function rotaryTables(maxPos: number, dh: number, base: number, dtype: DType = 'float32'): RotaryTables {
  if (dh < 2 || dh % 2 !== 0) throw new Error(`rotary positions need an even head width, got ${dh}`);
  const half = dh / 2;
  const make = (n: number) => (dtype === 'float64' ? new Float64Array(n) : new Float32Array(n));
  const cos = make(maxPos * half),
    sin = make(maxPos * half);
  for (let i = 0; i < half; i++) {
    const theta = Math.pow(base, (-2 * i) / dh);
    for (let p = 0; p < maxPos; p++) {
      cos[p * half + i] = Math.cos(p * theta);
      sin[p * half + i] = Math.sin(p * theta);
    }
  }
  return { cos, sin, maxPos, dh };
}

/**
 * Rotary positions (RoFormer; GPT-NeoX's half-split pairing): x (…, width)
 * rows, the first `rotated` columns being heads of tables.dh channels that
 * turn by their row's position, positions (one per row); the other columns
 * (an attention layer's values) pass unchanged. Rotating queries and keys
 * makes their dot product depend only on the offset between positions.
 */
export function rotary(x: Tensor, rotated: number, positions: Int32Array, tables: RotaryTables): Tensor {
  const width = x.shape[x.ndim - 1],
    rows = x.size / width;
  if (positions.length !== rows)
    throw new Error(`rotary: ${positions.length} positions for the ${rows} rows of ${fmt(x.shape)}`);
  if (tables.cos instanceof Float64Array !== (x.dtype === 'float64'))
    throw new Error(`rotary: tables and input ${x.dtype} differ in precision`);
  for (const p of positions)
    if (p < 0 || p >= tables.maxPos)
      throw new RangeError(`rotary: position ${p} is beyond the tables' ${tables.maxPos}`);
  const { cos, sin, dh, maxPos } = tables;
  const out = Tensor.empty(x.shape, x.dtype);
  kernels().rotaryForward(x.data, out.data, cos, sin, positions, rows, width, rotated, dh, maxPos);
  if (needsGrad(x)) {
    activeTape()!.push(out, () =>
      kernels().rotaryBackward(out.grad!, x.ensureGrad(), cos, sin, positions, rows, width, rotated, dh, maxPos),
    );
  }
  return out;
}
