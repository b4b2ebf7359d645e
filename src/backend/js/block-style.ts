// Reference kernels of the Transformer++ block options: RMSNorm, SwiGLU and rotary positions.
import type { FloatArray } from '../kernels.js';

/** RMSNorm over the last dimension of x (N, C): y = x · rstd ⊙ w, rstd = 1/√(mean(x²) + eps). */
export function rmsNormForward(
  x: FloatArray,
  w: FloatArray,
  y: FloatArray,
  rstd: FloatArray,
  N: number,
  C: number,
  eps: number,
): void {
  for (let r = 0; r < N; r++) {
    const o = r * C;
    let ms = 0;
    for (let i = 0; i < C; i++) ms += x[o + i] * x[o + i];
    const rs = 1 / Math.sqrt(ms / C + eps);
    for (let i = 0; i < C; i++) y[o + i] = x[o + i] * rs * w[i];
    rstd[r] = rs;
  }
}

/** With x̂ = x·rstd and g = dy ⊙ w: dx += rstd · (g − x̂ · mean(g ⊙ x̂)), dw += Σ dy ⊙ x̂. */
export function rmsNormBackward(
  x: FloatArray,
  w: FloatArray,
  rstd: FloatArray,
  dy: FloatArray,
  dx: FloatArray | null,
  dw: FloatArray | null,
  N: number,
  C: number,
): void {
  for (let r = 0; r < N; r++) {
    const o = r * C,
      rs = rstd[r];
    let gxMean = 0;
    for (let i = 0; i < C; i++) {
      const xh = x[o + i] * rs;
      gxMean += dy[o + i] * w[i] * xh;
      if (dw) dw[i] += dy[o + i] * xh;
    }
    gxMean /= C;
    if (dx) for (let i = 0; i < C; i++) dx[o + i] += rs * (dy[o + i] * w[i] - x[o + i] * rs * gxMean);
  }
}

/** SwiGLU: each row of h (N, 2F) is [gate | up]; y (N, F) = silu(gate) ⊙ up, silu(g) = g·σ(g). */
export function swigluForward(h: FloatArray, y: FloatArray, N: number, F: number): void {
  for (let r = 0; r < N; r++) {
    const o = 2 * r * F;
    for (let i = 0; i < F; i++) {
      const g = h[o + i];
      y[r * F + i] = (g / (1 + Math.exp(-g))) * h[o + F + i];
    }
  }
}

/**
 * dh (N, 2F) from dy (N, F): d gate = dy ⊙ up ⊙ silu'(gate), d up = dy ⊙ silu(gate),
 * with silu'(g) = σ(g)·(1 + g·(1 − σ(g))). Accumulates, or writes when `overwrite`.
 */
export function swigluBackward(
  h: FloatArray,
  dy: FloatArray,
  dh: FloatArray,
  N: number,
  F: number,
  overwrite = false,
): void {
  for (let r = 0; r < N; r++) {
    const o = 2 * r * F;
    for (let i = 0; i < F; i++) {
      const g = h[o + i],
        u = h[o + F + i],
        d = dy[r * F + i];
      const s = 1 / (1 + Math.exp(-g));
      const dg = d * u * s * (1 + g * (1 - s)),
        du = d * g * s;
      if (overwrite) {
        dh[o + i] = dg;
        dh[o + F + i] = du;
      } else {
        dh[o + i] += dg;
        dh[o + F + i] += du;
      }
    }
  }
}

/**
 * Rotary positions on rows x (N, width): in row r, the first `rotated` columns
 * are heads of dh; each head's pair (i, i + dh/2) turns by the angle of
 * positions[r] and frequency i, read from the tables cos, sin (maxPos, dh/2).
 * The other columns are copied. y = R x.
 */
export function rotaryForward(
  x: FloatArray,
  y: FloatArray,
  cos: FloatArray,
  sin: FloatArray,
  positions: Int32Array,
  N: number,
  width: number,
  rotated: number,
  dh: number,
  _maxPos: number,
): void {
  const half = dh / 2;
  for (let r = 0; r < N; r++) {
    const o = r * width,
      t = positions[r] * half;
    for (let h = 0; h < rotated; h += dh) {
      for (let i = 0; i < half; i++) {
        const a = x[o + h + i],
          b = x[o + h + half + i],
          c = cos[t + i],
          s = sin[t + i];
        y[o + h + i] = a * c - b * s;
        y[o + h + half + i] = b * c + a * s;
      }
    }
    for (let i = rotated; i < width; i++) y[o + i] = x[o + i];
  }
}

/** The transpose of rotaryForward: dx += Rᵀ dy (a turn by the opposite angle; the copied columns pass dy). */
export function rotaryBackward(
  dy: FloatArray,
  dx: FloatArray,
  cos: FloatArray,
  sin: FloatArray,
  positions: Int32Array,
  N: number,
  width: number,
  rotated: number,
  dh: number,
  _maxPos: number,
): void {
  const half = dh / 2;
  for (let r = 0; r < N; r++) {
    const o = r * width,
      t = positions[r] * half;
    for (let h = 0; h < rotated; h += dh) {
      for (let i = 0; i < half; i++) {
        const a = dy[o + h + i],
          b = dy[o + h + half + i],
          c = cos[t + i],
          s = sin[t + i];
        dx[o + h + i] += a * c + b * s;
        dx[o + h + half + i] += b * c - a * s;
      }
    }
    for (let i = rotated; i < width; i++) dx[o + i] += dy[o + i];
  }
}
