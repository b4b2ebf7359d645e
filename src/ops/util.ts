import type { Shape, Tensor } from '../tensor/tensor.js';

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks that b broadcasts against a: b's shape equals a's trailing dimensions
 * (a bias, a position table, a same-shape operand) or b has one element (a scalar).
 */
export function broadcastSuffix(op: string, a: Tensor, b: Tensor): { outer: number; inner: number } {
  if (b.size === 1) return { outer: a.size, inner: 1 };
  const k = b.ndim;
  const suffix = a.shape.slice(a.ndim - k);
  if (k > a.ndim || !sameShape(suffix, b.shape)) {
    throw new Error(
      `${op}: shape ${fmt(b.shape)} does not broadcast against ${fmt(a.shape)} (it must equal a's trailing dimensions)`,
    );
  }
  return { outer: a.size / Math.max(1, b.size), inner: b.size };
}

export function sameDtype(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== ts[0].dtype) throw new Error(`${op}: mixed dtypes ${ts[0].dtype} and ${t.dtype}`);
  }
}
