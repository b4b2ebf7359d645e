import type { FloatArray } from '../kernels.js';

/** y[b,t] = a ⊙ x[b,t] + w ⊙ x[b,t−s_g] per channel group g; zero-padded for t < s_g. */
export function shiftMixForward(
  x: FloatArray,
  a: FloatArray,
  w: FloatArray,
  y: FloatArray,
  B: number,
  T: number,
  C: number,
  shifts: Int32Array,
): void {
  const width = C / shifts.length;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      for (let g = 0; g < shifts.length; g++) {
        const s = shifts[g];
        for (let i = g * width; i < (g + 1) * width; i++) {
          y[row + i] = a[i] * x[row + i] + (t >= s ? w[i] * x[row - s * C + i] : 0);
        }
      }
    }
  }
}

export function shiftMixBackward(
  x: FloatArray,
  a: FloatArray,
  w: FloatArray,
  dy: FloatArray,
  dx: FloatArray | null,
  da: FloatArray | null,
  dw: FloatArray | null,
  B: number,
  T: number,
  C: number,
  shifts: Int32Array,
): void {
  const width = C / shifts.length;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      for (let g = 0; g < shifts.length; g++) {
        const s = shifts[g];
        for (let i = g * width; i < (g + 1) * width; i++) {
          if (dx) dx[row + i] += a[i] * dy[row + i] + (t + s < T ? w[i] * dy[row + s * C + i] : 0);
          if (da) da[i] += dy[row + i] * x[row + i];
          if (dw && t >= s) dw[i] += dy[row + i] * x[row - s * C + i];
        }
      }
    }
  }
}
