import type { FloatArray } from '../kernels.js';

export function addForward(a: FloatArray, b: FloatArray, out: FloatArray, outer: number, inner: number): void {
  for (let o = 0, k = 0; o < outer; o++) for (let i = 0; i < inner; i++, k++) out[k] = a[k] + b[i];
}

export function addBackward(
  dy: FloatArray,
  da: FloatArray | null,
  db: FloatArray | null,
  outer: number,
  inner: number,
): void {
  const n = outer * inner;
  if (da) for (let k = 0; k < n; k++) da[k] += dy[k];
  if (db) for (let o = 0, k = 0; o < outer; o++) for (let i = 0; i < inner; i++, k++) db[i] += dy[k];
}

export function mulForward(a: FloatArray, b: FloatArray, out: FloatArray, outer: number, inner: number): void {
  for (let o = 0, k = 0; o < outer; o++) for (let i = 0; i < inner; i++, k++) out[k] = a[k] * b[i];
}

export function mulBackward(
  a: FloatArray,
  b: FloatArray,
  dy: FloatArray,
  da: FloatArray | null,
  db: FloatArray | null,
  outer: number,
  inner: number,
): void {
  for (let o = 0, k = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++, k++) {
      if (da) da[k] += dy[k] * b[i];
      if (db) db[i] += dy[k] * a[k];
    }
  }
}

export function scale(x: FloatArray, alpha: number, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = alpha * x[i];
}

export function axpy(alpha: number, x: FloatArray, y: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluForward(x: FloatArray, y: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + GELU_A * v * v * v)));
  }
}

export function geluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray, n: number, overwrite = false): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const th = Math.tanh(GELU_C * (v + GELU_A * v * v * v));
    const dudx = GELU_C * (1 + 3 * GELU_A * v * v);
    const g = dy[i] * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * dudx);
    dx[i] = overwrite ? g : dx[i] + g;
  }
}

export function sigmoidForward(x: FloatArray, y: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-x[i]));
}

export function sigmoidBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) dx[i] += dy[i] * y[i] * (1 - y[i]);
}

export function sumSquares(x: FloatArray, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}

export function sum(x: FloatArray, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  return s;
}
