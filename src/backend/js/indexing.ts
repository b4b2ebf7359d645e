import type { FloatArray } from '../kernels.js';

export function embeddingForward(weight: FloatArray, idx: Int32Array, out: FloatArray, N: number, C: number): void {
  for (let r = 0; r < N; r++) {
    const src = idx[r] * C, dst = r * C;
    for (let i = 0; i < C; i++) out[dst + i] = weight[src + i];
  }
}

export function embeddingBackward(idx: Int32Array, dout: FloatArray, dweight: FloatArray, N: number, C: number): void {
  for (let r = 0; r < N; r++) {
    const dst = idx[r] * C, src = r * C;
    for (let i = 0; i < C; i++) dweight[dst + i] += dout[src + i];
  }
}

/** y[b, t] = x[b, t − s] (zero for t < s); x, y are (B, T, C). */
export function shiftForward(x: FloatArray, y: FloatArray, B: number, T: number, C: number, s: number): void {
  for (let b = 0; b < B; b++) {
    const base = b * T * C;
    const lead = Math.min(s, T) * C;
    y.fill(0, base, base + lead);
    for (let k = lead; k < T * C; k++) y[base + k] = x[base + k - s * C];
  }
}

export function shiftBackward(dy: FloatArray, dx: FloatArray, B: number, T: number, C: number, s: number): void {
  for (let b = 0; b < B; b++) {
    const base = b * T * C;
    for (let k = Math.min(s, T) * C; k < T * C; k++) dx[base + k - s * C] += dy[base + k];
  }
}
