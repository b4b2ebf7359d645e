import type { FloatArray } from '../kernels.js';

/**
 * Reference causal attention on packed qkv (B, T, 3C), one query row at a time:
 * only a length-(t+1) score row is ever held, never the T×T matrix.
 */
export function attentionForward(
  qkv: FloatArray,
  out: FloatArray,
  lse: FloatArray,
  B: number,
  T: number,
  H: number,
  Dh: number,
): void {
  const C = H * Dh,
    C3 = 3 * C;
  const scale = 1 / Math.sqrt(Dh);
  const p = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const q = (b * T + t) * C3 + h * Dh;
        let max = -Infinity;
        for (let u = 0; u <= t; u++) {
          const k = (b * T + u) * C3 + C + h * Dh;
          let s = 0;
          for (let i = 0; i < Dh; i++) s += qkv[q + i] * qkv[k + i];
          p[u] = s * scale;
          if (p[u] > max) max = p[u];
        }
        let sum = 0;
        for (let u = 0; u <= t; u++) {
          p[u] = Math.exp(p[u] - max);
          sum += p[u];
        }
        lse[(b * H + h) * T + t] = max + Math.log(sum);
        const o = (b * T + t) * C + h * Dh;
        for (let i = 0; i < Dh; i++) out[o + i] = 0;
        for (let u = 0; u <= t; u++) {
          const w = p[u] / sum;
          const v = (b * T + u) * C3 + 2 * C + h * Dh;
          for (let i = 0; i < Dh; i++) out[o + i] += w * qkv[v + i];
        }
      }
    }
  }
}

/** Reference decode step: one query row against t cached key/value rows. */
export function attentionDecode(
  q: FloatArray,
  keys: FloatArray,
  values: FloatArray,
  out: FloatArray,
  t: number,
  H: number,
  Dh: number,
): void {
  const C = H * Dh,
    scale = 1 / Math.sqrt(Dh);
  const scores = new Float64Array(t);
  for (let h = 0; h < H; h++) {
    const hq = h * Dh;
    let max = -Infinity;
    for (let u = 0; u < t; u++) {
      let s = 0;
      for (let i = 0; i < Dh; i++) s += q[hq + i] * keys[u * C + hq + i];
      scores[u] = s * scale;
      if (scores[u] > max) max = scores[u];
    }
    let sum = 0;
    for (let u = 0; u < t; u++) sum += scores[u] = Math.exp(scores[u] - max);
    for (let i = 0; i < Dh; i++) out[hq + i] = 0;
    for (let u = 0; u < t; u++) {
      const w = scores[u] / sum;
      for (let i = 0; i < Dh; i++) out[hq + i] += w * values[u * C + hq + i];
    }
  }
}

/** Reference backward: recomputes each probability row from the saved lse. */
export function attentionBackward(
  qkv: FloatArray,
  out: FloatArray,
  lse: FloatArray,
  dout: FloatArray,
  dqkv: FloatArray,
  B: number,
  T: number,
  H: number,
  Dh: number,
): void {
  const C = H * Dh,
    C3 = 3 * C;
  const scale = 1 / Math.sqrt(Dh);
  const p = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const q = (b * T + t) * C3 + h * Dh;
        const o = (b * T + t) * C + h * Dh;
        const rowLse = lse[(b * H + h) * T + t];
        // D = Σ_u p_u·(dout·v_u) = dout·out
        let D = 0;
        for (let i = 0; i < Dh; i++) D += dout[o + i] * out[o + i];
        for (let u = 0; u <= t; u++) {
          const k = (b * T + u) * C3 + C + h * Dh;
          const v = k + C;
          let s = 0,
            dp = 0;
          for (let i = 0; i < Dh; i++) {
            s += qkv[q + i] * qkv[k + i];
            dp += dout[o + i] * qkv[v + i];
          }
          p[u] = Math.exp(s * scale - rowLse);
          const ds = p[u] * (dp - D) * scale;
          for (let i = 0; i < Dh; i++) {
            dqkv[q + i] += ds * qkv[k + i];
            dqkv[k + i] += ds * qkv[q + i];
            dqkv[v + i] += p[u] * dout[o + i];
          }
        }
      }
    }
  }
}
