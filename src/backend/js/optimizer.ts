import type { AdamWStep, FloatArray } from '../kernels.js';

/**
 * One AdamW step with torch.optim.AdamW's exact arithmetic:
 * p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε).
 */
export function adamw(
  param: FloatArray,
  grad: FloatArray,
  m: FloatArray,
  v: FloatArray,
  n: number,
  h: AdamWStep,
): void {
  const decay = 1 - h.lr * h.weightDecay;
  const bc1 = 1 - Math.pow(h.beta1, h.step);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(h.beta2, h.step));
  const stepSize = h.lr / bc1;
  for (let i = 0; i < n; i++) {
    const g = grad[i] * h.gradScale;
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    param[i] = param[i] * decay - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + h.eps);
  }
}
