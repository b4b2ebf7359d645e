import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdamWStep, FloatArray, Kernels, MatmulEpilogue, MatmulOptions } from './kernels.js';
import { jsKernels } from './js/index.js';

/** The codes of native/kernel_table.h's MatmulEpilogue. */
const EPILOGUES: Record<MatmulEpilogue, number> = { gelu: 1, geluGrad: 2 };

/** The raw functions exported by native/addon.cc (float32 only). */
interface NativeAddon {
  isa(): string;
  threads(): number;
  setThreads(n: number): void;
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number,
    transA: boolean, transB: boolean, accumulate: boolean, batch: number, sa: number, sb: number, sc: number, bias: Float32Array | null,
    epilogue: number, aux: Float32Array | null): void;
  attentionForward(qkv: Float32Array, out: Float32Array, lse: Float32Array, b: number, t: number, h: number, dh: number): void;
  attentionBackward(qkv: Float32Array, out: Float32Array, lse: Float32Array, dout: Float32Array, dqkv: Float32Array,
    b: number, t: number, h: number, dh: number): void;
  attentionDecode(q: Float32Array, keys: Float32Array, values: Float32Array, out: Float32Array, t: number, h: number, dh: number): void;
  layerNormForward(x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, mean: Float32Array,
    rstd: Float32Array, n: number, c: number, eps: number): void;
  layerNormBackward(x: Float32Array, w: Float32Array, mean: Float32Array, rstd: Float32Array, dy: Float32Array,
    dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null, n: number, c: number): void;
  addForward(a: Float32Array, b: Float32Array, out: Float32Array, outer: number, inner: number): void;
  addBackward(dy: Float32Array, da: Float32Array | null, db: Float32Array | null, outer: number, inner: number): void;
  mulForward(a: Float32Array, b: Float32Array, out: Float32Array, outer: number, inner: number): void;
  mulBackward(a: Float32Array, b: Float32Array, dy: Float32Array, da: Float32Array | null, db: Float32Array | null,
    outer: number, inner: number): void;
  scale(x: Float32Array, alpha: number, out: Float32Array, n: number): void;
  axpy(alpha: number, x: Float32Array, y: Float32Array, n: number): void;
  geluForward(x: Float32Array, y: Float32Array, n: number): void;
  geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number, overwrite: boolean): void;
  sigmoidForward(x: Float32Array, y: Float32Array, n: number): void;
  sigmoidBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
  softmaxForward(x: Float32Array, y: Float32Array, n: number, c: number): void;
  softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, n: number, c: number): void;
  crossEntropyForward(logits: Float32Array, targets: Int32Array, lse: Float32Array, losses: Float32Array, n: number, v: number): void;
  crossEntropyBackward(logits: Float32Array, targets: Int32Array, lse: Float32Array, dlogits: Float32Array,
    scale: number, n: number, v: number): void;
  embeddingForward(weight: Float32Array, idx: Int32Array, out: Float32Array, n: number, c: number): void;
  embeddingBackward(idx: Int32Array, dout: Float32Array, dweight: Float32Array, n: number, c: number): void;
  shiftForward(x: Float32Array, y: Float32Array, b: number, t: number, c: number, shifts: Int32Array, groups: number): void;
  shiftBackward(dy: Float32Array, dx: Float32Array, b: number, t: number, c: number, shifts: Int32Array, groups: number): void;
  groupSum(x: Float32Array, out: Float32Array, n: number, c: number, g: number): void;
  groupExpand(x: Float32Array, out: Float32Array, n: number, c: number, g: number, accumulate: boolean): void;
  shiftMixForward(x: Float32Array, a: Float32Array, w: Float32Array, y: Float32Array, b: number, t: number, c: number,
    shifts: Int32Array, groups: number): void;
  shiftMixBackward(x: Float32Array, a: Float32Array, w: Float32Array, dy: Float32Array, dx: Float32Array | null,
    da: Float32Array | null, dw: Float32Array | null, b: number, t: number, c: number, shifts: Int32Array, groups: number): void;
  sumSquares(x: Float32Array, n: number): number;
  sum(x: Float32Array, n: number): number;
  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, gradScale: number, step: number): void;
}

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const NATIVE_ADDON_PATH = join(projectRoot, 'build', 'Release', 'hsm_native.node');

let addon: NativeAddon | null | undefined;
let loadError = '';

/** Loads the addon once; null (with loadError set) when it is not built or fails to load. */
export function loadNativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  try {
    if (!existsSync(NATIVE_ADDON_PATH)) throw new Error(`${NATIVE_ADDON_PATH} not found (run npm install to build it)`);
    addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
  } catch (err) {
    addon = null;
    loadError = err instanceof Error ? err.message : String(err);
  }
  return addon;
}

export function nativeLoadError(): string {
  return loadError;
}

const isF32 = (x: FloatArray | null): boolean => x === null || x instanceof Float32Array;

function need(array: FloatArray | Int32Array | null, length: number, what: string): void {
  if (array !== null && array.length < length) {
    throw new RangeError(`native kernel: ${what} has ${array.length} elements, needs ${length}`);
  }
}

function checkGroups(c: number, shifts: Int32Array): void {
  if (shifts.length === 0 || c % shifts.length !== 0) throw new RangeError(`native kernel: ${shifts.length} shift groups do not divide ${c} channels`);
  for (const s of shifts) if (s < 0) throw new RangeError(`native kernel: negative shift ${s}`);
}

/**
 * The native backend: float32 SIMD kernels and a thread pool in C++.
 * Float64 arrays (used by gradient checks) go to the js reference kernels.
 * Every call checks buffer lengths first, so a wrong size is an exception,
 * never a read past the end of a buffer.
 */
export function createNativeKernels(native: NativeAddon): Kernels & { isa: string; threads(): number; setThreads(n: number): void } {
  const js = jsKernels;
  const f32 = (...xs: (FloatArray | null)[]): boolean => xs.every(isF32);
  return {
    name: 'native',
    isa: native.isa(),
    threads: () => native.threads(),
    setThreads: (n: number) => native.setThreads(n),

    matmul(a, b, c, m, k, n, opts: MatmulOptions = {}) {
      if (!f32(a, b, c) || (opts.bias && !f32(opts.bias)) || (opts.aux && !f32(opts.aux))) return js.matmul(a, b, c, m, k, n, opts);
      const batch = opts.batch ?? 1;
      const sa = opts.strideA ?? m * k, sb = opts.strideB ?? k * n, sc = opts.strideC ?? m * n;
      need(a, (batch - 1) * sa + m * k, 'A');
      need(b, (batch - 1) * sb + k * n, 'B');
      need(c, (batch - 1) * sc + m * n, 'C');
      if (opts.bias) need(opts.bias, n, 'bias');
      if (opts.epilogue && !opts.aux) throw new TypeError(`matmul: epilogue '${opts.epilogue}' needs aux`);
      if (opts.epilogue) need(opts.aux!, m * n, 'aux');
      native.matmul(a as Float32Array, b as Float32Array, c as Float32Array, m, k, n,
        !!opts.transA, !!opts.transB, !!opts.accumulate, batch, sa, sb, sc, (opts.bias as Float32Array | undefined) ?? null,
        opts.epilogue ? EPILOGUES[opts.epilogue] : 0, (opts.aux as Float32Array | undefined) ?? null);
    },
    attentionForward(qkv, out, lse, b, t, h, dh) {
      if (!f32(qkv, out, lse)) return js.attentionForward(qkv, out, lse, b, t, h, dh);
      need(qkv, b * t * 3 * h * dh, 'qkv'); need(out, b * t * h * dh, 'out'); need(lse, b * h * t, 'lse');
      native.attentionForward(qkv as Float32Array, out as Float32Array, lse as Float32Array, b, t, h, dh);
    },
    attentionBackward(qkv, out, lse, dout, dqkv, b, t, h, dh) {
      if (!f32(qkv, out, lse, dout, dqkv)) return js.attentionBackward(qkv, out, lse, dout, dqkv, b, t, h, dh);
      const C = h * dh;
      need(qkv, b * t * 3 * C, 'qkv'); need(out, b * t * C, 'out'); need(lse, b * h * t, 'lse');
      need(dout, b * t * C, 'dout'); need(dqkv, b * t * 3 * C, 'dqkv');
      native.attentionBackward(qkv as Float32Array, out as Float32Array, lse as Float32Array,
        dout as Float32Array, dqkv as Float32Array, b, t, h, dh);
    },
    attentionDecode(q, keys, values, out, t, h, dh) {
      if (!f32(q, keys, values, out)) return js.attentionDecode(q, keys, values, out, t, h, dh);
      const C = h * dh;
      need(q, C, 'q'); need(keys, t * C, 'keys'); need(values, t * C, 'values'); need(out, C, 'out');
      native.attentionDecode(q as Float32Array, keys as Float32Array, values as Float32Array, out as Float32Array, t, h, dh);
    },
    layerNormForward(x, w, bias, y, mean, rstd, n, c, eps) {
      if (!f32(x, w, bias, y, mean, rstd)) return js.layerNormForward(x, w, bias, y, mean, rstd, n, c, eps);
      need(x, n * c, 'x'); need(y, n * c, 'y'); need(w, c, 'weight'); need(bias, c, 'bias');
      need(mean, n, 'mean'); need(rstd, n, 'rstd');
      native.layerNormForward(x as Float32Array, w as Float32Array, bias as Float32Array, y as Float32Array,
        mean as Float32Array, rstd as Float32Array, n, c, eps);
    },
    layerNormBackward(x, w, mean, rstd, dy, dx, dw, db, n, c) {
      if (!f32(x, w, mean, rstd, dy, dx, dw, db)) return js.layerNormBackward(x, w, mean, rstd, dy, dx, dw, db, n, c);
      need(x, n * c, 'x'); need(dy, n * c, 'dy'); need(dx, n * c, 'dx'); need(w, c, 'weight');
      need(dw, c, 'dweight'); need(db, c, 'dbias'); need(mean, n, 'mean'); need(rstd, n, 'rstd');
      native.layerNormBackward(x as Float32Array, w as Float32Array, mean as Float32Array, rstd as Float32Array,
        dy as Float32Array, dx as Float32Array | null, dw as Float32Array | null, db as Float32Array | null, n, c);
    },
    addForward(a, b, out, outer, inner) {
      if (!f32(a, b, out)) return js.addForward(a, b, out, outer, inner);
      need(a, outer * inner, 'a'); need(b, inner, 'b'); need(out, outer * inner, 'out');
      native.addForward(a as Float32Array, b as Float32Array, out as Float32Array, outer, inner);
    },
    addBackward(dy, da, db, outer, inner) {
      if (!f32(dy, da, db)) return js.addBackward(dy, da, db, outer, inner);
      need(dy, outer * inner, 'dy'); need(da, outer * inner, 'da'); need(db, inner, 'db');
      native.addBackward(dy as Float32Array, da as Float32Array | null, db as Float32Array | null, outer, inner);
    },
    mulForward(a, b, out, outer, inner) {
      if (!f32(a, b, out)) return js.mulForward(a, b, out, outer, inner);
      need(a, outer * inner, 'a'); need(b, inner, 'b'); need(out, outer * inner, 'out');
      native.mulForward(a as Float32Array, b as Float32Array, out as Float32Array, outer, inner);
    },
    mulBackward(a, b, dy, da, db, outer, inner) {
      if (!f32(a, b, dy, da, db)) return js.mulBackward(a, b, dy, da, db, outer, inner);
      need(a, outer * inner, 'a'); need(b, inner, 'b'); need(dy, outer * inner, 'dy');
      need(da, outer * inner, 'da'); need(db, inner, 'db');
      native.mulBackward(a as Float32Array, b as Float32Array, dy as Float32Array,
        da as Float32Array | null, db as Float32Array | null, outer, inner);
    },
    scale(x, alpha, out, n) {
      if (!f32(x, out)) return js.scale(x, alpha, out, n);
      need(x, n, 'x'); need(out, n, 'out');
      native.scale(x as Float32Array, alpha, out as Float32Array, n);
    },
    axpy(alpha, x, y, n) {
      if (!f32(x, y)) return js.axpy(alpha, x, y, n);
      need(x, n, 'x'); need(y, n, 'y');
      native.axpy(alpha, x as Float32Array, y as Float32Array, n);
    },
    geluForward(x, y, n) {
      if (!f32(x, y)) return js.geluForward(x, y, n);
      need(x, n, 'x'); need(y, n, 'y');
      native.geluForward(x as Float32Array, y as Float32Array, n);
    },
    geluBackward(x, dy, dx, n, overwrite = false) {
      if (!f32(x, dy, dx)) return js.geluBackward(x, dy, dx, n, overwrite);
      need(x, n, 'x'); need(dy, n, 'dy'); need(dx, n, 'dx');
      native.geluBackward(x as Float32Array, dy as Float32Array, dx as Float32Array, n, overwrite);
    },
    sigmoidForward(x, y, n) {
      if (!f32(x, y)) return js.sigmoidForward(x, y, n);
      need(x, n, 'x'); need(y, n, 'y');
      native.sigmoidForward(x as Float32Array, y as Float32Array, n);
    },
    sigmoidBackward(y, dy, dx, n) {
      if (!f32(y, dy, dx)) return js.sigmoidBackward(y, dy, dx, n);
      need(y, n, 'y'); need(dy, n, 'dy'); need(dx, n, 'dx');
      native.sigmoidBackward(y as Float32Array, dy as Float32Array, dx as Float32Array, n);
    },
    softmaxForward(x, y, n, c) {
      if (!f32(x, y)) return js.softmaxForward(x, y, n, c);
      need(x, n * c, 'x'); need(y, n * c, 'y');
      native.softmaxForward(x as Float32Array, y as Float32Array, n, c);
    },
    softmaxBackward(y, dy, dx, n, c) {
      if (!f32(y, dy, dx)) return js.softmaxBackward(y, dy, dx, n, c);
      need(y, n * c, 'y'); need(dy, n * c, 'dy'); need(dx, n * c, 'dx');
      native.softmaxBackward(y as Float32Array, dy as Float32Array, dx as Float32Array, n, c);
    },
    crossEntropyForward(logits, targets, lse, losses, n, v) {
      if (!f32(logits, lse, losses)) return js.crossEntropyForward(logits, targets, lse, losses, n, v);
      need(logits, n * v, 'logits'); need(targets, n, 'targets'); need(lse, n, 'lse'); need(losses, n, 'losses');
      native.crossEntropyForward(logits as Float32Array, targets, lse as Float32Array, losses as Float32Array, n, v);
    },
    crossEntropyBackward(logits, targets, lse, dlogits, scale, n, v) {
      if (!f32(logits, lse, dlogits)) return js.crossEntropyBackward(logits, targets, lse, dlogits, scale, n, v);
      need(logits, n * v, 'logits'); need(targets, n, 'targets'); need(lse, n, 'lse'); need(dlogits, n * v, 'dlogits');
      native.crossEntropyBackward(logits as Float32Array, targets, lse as Float32Array, dlogits as Float32Array, scale, n, v);
    },
    embeddingForward(weight, idx, out, n, c) {
      if (!f32(weight, out)) return js.embeddingForward(weight, idx, out, n, c);
      need(idx, n, 'idx'); need(out, n * c, 'out');
      native.embeddingForward(weight as Float32Array, idx, out as Float32Array, n, c);
    },
    embeddingBackward(idx, dout, dweight, n, c) {
      if (!f32(dout, dweight)) return js.embeddingBackward(idx, dout, dweight, n, c);
      need(idx, n, 'idx'); need(dout, n * c, 'dout');
      native.embeddingBackward(idx, dout as Float32Array, dweight as Float32Array, n, c);
    },
    shiftForward(x, y, b, t, c, shifts) {
      if (!f32(x, y)) return js.shiftForward(x, y, b, t, c, shifts);
      need(x, b * t * c, 'x'); need(y, b * t * c, 'y'); checkGroups(c, shifts);
      native.shiftForward(x as Float32Array, y as Float32Array, b, t, c, shifts, shifts.length);
    },
    shiftBackward(dy, dx, b, t, c, shifts) {
      if (!f32(dy, dx)) return js.shiftBackward(dy, dx, b, t, c, shifts);
      need(dy, b * t * c, 'dy'); need(dx, b * t * c, 'dx'); checkGroups(c, shifts);
      native.shiftBackward(dy as Float32Array, dx as Float32Array, b, t, c, shifts, shifts.length);
    },
    shiftMixForward(x, a, w, y, b, t, c, shifts) {
      if (!f32(x, a, w, y)) return js.shiftMixForward(x, a, w, y, b, t, c, shifts);
      need(x, b * t * c, 'x'); need(y, b * t * c, 'y'); need(a, c, 'a'); need(w, c, 'w'); checkGroups(c, shifts);
      native.shiftMixForward(x as Float32Array, a as Float32Array, w as Float32Array, y as Float32Array, b, t, c, shifts, shifts.length);
    },
    shiftMixBackward(x, a, w, dy, dx, da, dw, b, t, c, shifts) {
      if (!f32(x, a, w, dy, dx, da, dw)) return js.shiftMixBackward(x, a, w, dy, dx, da, dw, b, t, c, shifts);
      need(x, b * t * c, 'x'); need(dy, b * t * c, 'dy'); need(dx, b * t * c, 'dx'); need(a, c, 'a'); need(w, c, 'w');
      need(da, c, 'da'); need(dw, c, 'dw'); checkGroups(c, shifts);
      native.shiftMixBackward(x as Float32Array, a as Float32Array, w as Float32Array, dy as Float32Array,
        dx as Float32Array | null, da as Float32Array | null, dw as Float32Array | null, b, t, c, shifts, shifts.length);
    },
    groupSum(x, out, n, c, g) {
      if (!f32(x, out)) return js.groupSum(x, out, n, c, g);
      if (g < 1 || c % g !== 0) throw new RangeError(`native kernel: ${g} groups do not divide ${c} channels`);
      need(x, n * c, 'x'); need(out, n * g, 'out');
      native.groupSum(x as Float32Array, out as Float32Array, n, c, g);
    },
    groupExpand(x, out, n, c, g, accumulate) {
      if (!f32(x, out)) return js.groupExpand(x, out, n, c, g, accumulate);
      if (g < 1 || c % g !== 0) throw new RangeError(`native kernel: ${g} groups do not divide ${c} channels`);
      need(x, n * g, 'x'); need(out, n * c, 'out');
      native.groupExpand(x as Float32Array, out as Float32Array, n, c, g, accumulate);
    },
    sumSquares(x, n) {
      if (!f32(x)) return js.sumSquares(x, n);
      need(x, n, 'x');
      return native.sumSquares(x as Float32Array, n);
    },
    sum(x, n) {
      if (!f32(x)) return js.sum(x, n);
      need(x, n, 'x');
      return native.sum(x as Float32Array, n);
    },
    adamw(param, grad, m, v, n, h: AdamWStep) {
      if (!f32(param, grad, m, v)) return js.adamw(param, grad, m, v, n, h);
      need(param, n, 'param'); need(grad, n, 'grad'); need(m, n, 'm'); need(v, n, 'v');
      native.adamw(param as Float32Array, grad as Float32Array, m as Float32Array, v as Float32Array, n,
        h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.gradScale, h.step);
    },
  };
}
