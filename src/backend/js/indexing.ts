import type { FloatArray } from '../kernels.js';

export function embeddingForward(weight: FloatArray, idx: Int32Array, out: FloatArray, N: number, C: number): void {
  for (let r = 0; r < N; r++) {
    const src = idx[r] * C,
      dst = r * C;
    for (let i = 0; i < C; i++) out[dst + i] = weight[src + i];
  }
}

export function embeddingBackward(idx: Int32Array, dout: FloatArray, dweight: FloatArray, N: number, C: number): void {
  for (let r = 0; r < N; r++) {
    const dst = idx[r] * C,
      src = r * C;
    for (let i = 0; i < C; i++) dweight[dst + i] += dout[src + i];
  }
}

export function groupSum(x: FloatArray, out: FloatArray, N: number, C: number, G: number): void {
  const width = C / G;
  for (let r = 0; r < N; r++) {
    for (let g = 0; g < G; g++) {
      let s = 0;
      const o = r * C + g * width;
      for (let i = 0; i < width; i++) s += x[o + i];
      out[r * G + g] = s;
    }
  }
}

export function groupExpand(
  x: FloatArray,
  out: FloatArray,
  N: number,
  C: number,
  G: number,
  accumulate: boolean,
): void {
  const width = C / G;
  for (let r = 0; r < N; r++) {
    for (let g = 0; g < G; g++) {
      const v = x[r * G + g],
        o = r * C + g * width;
      if (accumulate) for (let i = 0; i < width; i++) out[o + i] += v;
      else for (let i = 0; i < width; i++) out[o + i] = v;
    }
  }
}

/** out (N, width) = channels [start, start + width) of x (N, C). */
export function columnsForward(
  x: FloatArray,
  out: FloatArray,
  N: number,
  C: number,
  start: number,
  width: number,
): void {
  for (let r = 0; r < N; r++) out.set(x.subarray(r * C + start, r * C + start + width), r * width);
}

/** dx (N, C) channels [start, start + width) += dy (N, width). */
export function columnsBackward(
  dy: FloatArray,
  dx: FloatArray,
  N: number,
  C: number,
  start: number,
  width: number,
): void {
  for (let r = 0; r < N; r++) {
    const o = r * C + start,
      i0 = r * width;
    for (let i = 0; i < width; i++) dx[o + i] += dy[i0 + i];
  }
}

/** Group g of the channels reads y[b, t] = x[b, t − shifts[g]] (zero for t < shift); x, y are (B, T, C). */
export function shiftForward(x: FloatArray, y: FloatArray, B: number, T: number, C: number, shifts: Int32Array): void {
  const width = C / shifts.length;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      for (let g = 0; g < shifts.length; g++) {
        const s = shifts[g],
          c0 = g * width;
        for (let i = c0; i < c0 + width; i++) y[row + i] = t >= s ? x[row - s * C + i] : 0;
      }
    }
  }
}

export function shiftBackward(
  dy: FloatArray,
  dx: FloatArray,
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
        const s = shifts[g],
          c0 = g * width;
        if (t >= s) for (let i = c0; i < c0 + width; i++) dx[row - s * C + i] += dy[row + i];
      }
    }
  }
}
