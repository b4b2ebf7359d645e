import type { FloatArray } from '../kernels.js';

/** LayerNorm over the last dimension of x (N, C). */
export function layerNormForward(
  x: FloatArray,
  w: FloatArray,
  bias: FloatArray,
  y: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  N: number,
  C: number,
  eps: number,
): void {
  for (let r = 0; r < N; r++) {
    const o = r * C;
    let mu = 0;
    for (let i = 0; i < C; i++) mu += x[o + i];
    mu /= C;
    let variance = 0;
    for (let i = 0; i < C; i++) {
      const d = x[o + i] - mu;
      variance += d * d;
    }
    variance /= C;
    const rs = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < C; i++) y[o + i] = (x[o + i] - mu) * rs * w[i] + bias[i];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

/**
 * With x̂ = (x − μ)·rstd and g = dy ⊙ w:
 * dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)), dw += Σ dy ⊙ x̂, db += Σ dy.
 */
export function layerNormBackward(
  x: FloatArray,
  w: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  dy: FloatArray,
  dx: FloatArray | null,
  dw: FloatArray | null,
  db: FloatArray | null,
  N: number,
  C: number,
): void {
  for (let r = 0; r < N; r++) {
    const o = r * C;
    const mu = mean[r],
      rs = rstd[r];
    let gMean = 0,
      gxMean = 0;
    for (let i = 0; i < C; i++) {
      const xh = (x[o + i] - mu) * rs;
      const g = dy[o + i] * w[i];
      gMean += g;
      gxMean += g * xh;
      if (dw) dw[i] += dy[o + i] * xh;
      if (db) db[i] += dy[o + i];
    }
    gMean /= C;
    gxMean /= C;
    if (dx) {
      for (let i = 0; i < C; i++) {
        const xh = (x[o + i] - mu) * rs;
        dx[o + i] += rs * (dy[o + i] * w[i] - gMean - xh * gxMean);
      }
    }
  }
}

/** Row softmax of x (N, C), max-subtracted for stability. */
export function softmaxForward(x: FloatArray, y: FloatArray, N: number, C: number): void {
  for (let r = 0; r < N; r++) {
    const o = r * C;
    let max = -Infinity;
    for (let i = 0; i < C; i++) if (x[o + i] > max) max = x[o + i];
    let sum = 0;
    for (let i = 0; i < C; i++) {
      const e = Math.exp(x[o + i] - max);
      y[o + i] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let i = 0; i < C; i++) y[o + i] *= inv;
  }
}

export function softmaxBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, N: number, C: number): void {
  for (let r = 0; r < N; r++) {
    const o = r * C;
    let dot = 0;
    for (let i = 0; i < C; i++) dot += dy[o + i] * y[o + i];
    for (let i = 0; i < C; i++) dx[o + i] += y[o + i] * (dy[o + i] - dot);
  }
}

/** Per-row softmax cross-entropy; a target of −1 marks a row to ignore. */
export function crossEntropyForward(
  logits: FloatArray,
  targets: Int32Array,
  lse: FloatArray,
  losses: FloatArray,
  N: number,
  V: number,
): void {
  for (let r = 0; r < N; r++) {
    const o = r * V;
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (logits[o + i] > max) max = logits[o + i];
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[o + i] - max);
    const l = max + Math.log(sum);
    lse[r] = l;
    const target = targets[r];
    losses[r] = target < 0 ? 0 : l - logits[o + target];
  }
}

export function crossEntropyBackward(
  logits: FloatArray,
  targets: Int32Array,
  lse: FloatArray,
  dlogits: FloatArray,
  scale: number,
  N: number,
  V: number,
): void {
  for (let r = 0; r < N; r++) {
    const target = targets[r];
    if (target < 0) continue;
    const o = r * V,
      l = lse[r];
    for (let i = 0; i < V; i++) dlogits[o + i] += scale * Math.exp(logits[o + i] - l);
    dlogits[o + target] -= scale;
  }
}
