import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../project-root.js';
import {
  DIRECT_KERNELS,
  verifyKernelSignatures,
  withArgChecks,
  type AbiFunctions,
  type DirectKernel,
} from './kernel-abi.js';
import type { FloatArray, Kernels, MatmulEpilogue, MatmulOptions } from './kernels.js';
import { jsKernels } from './js/index.js';

/** The codes of native/kernel_table.h's MatmulEpilogue. */
const EPILOGUES: Record<MatmulEpilogue, number> = { gelu: 1, geluGrad: 2 };

/** What native/addon.cc exports: the kernels of kernel-abi.ts (float32 only) and a few controls. */
export type NativeAddon = AbiFunctions & {
  isa(): string;
  threads(): number;
  setThreads(n: number): void;
  /** Each kernel's parameter kinds, deduced from its C++ types (see verifyKernelSignatures). */
  readonly kernelSignatures: Record<string, string>;
};

export const NATIVE_ADDON_PATH = join(projectRoot(), 'build', 'Release', 'hsm_native.node');

let addon: NativeAddon | null | undefined;
let loadError = '';

/**
 * Loads the addon once; null (with loadError set) when it is not built or fails to load.
 * An addon whose kernels do not match kernel-abi.ts throws: calling it could read past buffers.
 */
export function loadNativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  let loaded: NativeAddon;
  try {
    if (!existsSync(NATIVE_ADDON_PATH)) throw new Error(`${NATIVE_ADDON_PATH} not found (run npm install to build it)`);
    loaded = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
  } catch (err) {
    loadError = err instanceof Error ? err.message : String(err);
    return (addon = null);
  }
  verifyKernelSignatures(loaded.kernelSignatures);
  return (addon = loaded);
}

export function nativeLoadError(): string {
  return loadError;
}

/** Float32 (or an absent optional array) goes to the addon; anything else to the js reference. */
const f32 = (x: FloatArray | null): x is Float32Array | null => x === null || x instanceof Float32Array;

const pick = <T extends object>(from: T, names: readonly (keyof T)[]): Partial<T> =>
  Object.fromEntries(names.map((name) => [name, from[name]])) as Partial<T>;

/**
 * The native backend: float32 SIMD kernels and a thread pool in C++.
 * Float64 arrays (used by gradient checks) go to the js reference kernels.
 * Every call checks its arguments against kernel-abi.ts first, so a wrong size
 * is an exception, never a read past the end of a buffer.
 */
export function createNativeKernels(
  addon: NativeAddon,
): Kernels & { isa: string; threads(): number; setThreads(n: number): void } {
  const js = jsKernels;
  const native = withArgChecks(addon, pick(js, DIRECT_KERNELS));
  // The kernels whose Kernels signature is the flat ABI (kernel-abi.ts checks that at compile time).
  const flat = pick(native, DIRECT_KERNELS) as unknown as Pick<Kernels, DirectKernel>;

  return {
    name: 'native',
    isa: addon.isa(),
    threads: () => addon.threads(),
    setThreads: (n: number) => addon.setThreads(n),
    ...flat,

    // The adapters: Kernels signatures that differ from the flat ABI.
    geluBackward: (x, dy, dx, n, overwrite = false) => flat.geluBackward(x, dy, dx, n, overwrite),
    matmul(a, b, c, m, k, n, opts: MatmulOptions = {}) {
      const { bias = null, aux = null, epilogue } = opts;
      if (!(f32(a) && f32(b) && f32(c) && f32(bias) && f32(aux))) return js.matmul(a, b, c, m, k, n, opts);
      if (epilogue && !aux) throw new TypeError(`matmul: epilogue '${epilogue}' needs aux`);
      native.matmul(
        a,
        b,
        c,
        m,
        k,
        n,
        !!opts.transA,
        !!opts.transB,
        !!opts.accumulate,
        opts.batch ?? 1,
        opts.strideA ?? m * k,
        opts.strideB ?? k * n,
        opts.strideC ?? m * n,
        bias,
        epilogue ? EPILOGUES[epilogue] : 0,
        aux,
      );
    },
    adamw(param, grad, m, v, n, h) {
      if (!(f32(param) && f32(grad) && f32(m) && f32(v))) return js.adamw(param, grad, m, v, n, h);
      native.adamw(param, grad, m, v, n, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.gradScale, h.step);
    },
    // The shift kernels take the group count (shifts.length) explicitly.
    shiftForward(x, y, b, t, c, shifts) {
      if (!(f32(x) && f32(y))) return js.shiftForward(x, y, b, t, c, shifts);
      native.shiftForward(x, y, b, t, c, shifts, shifts.length);
    },
    shiftBackward(dy, dx, b, t, c, shifts) {
      if (!(f32(dy) && f32(dx))) return js.shiftBackward(dy, dx, b, t, c, shifts);
      native.shiftBackward(dy, dx, b, t, c, shifts, shifts.length);
    },
    shiftMixForward(x, a, w, y, b, t, c, shifts) {
      if (!(f32(x) && f32(a) && f32(w) && f32(y))) return js.shiftMixForward(x, a, w, y, b, t, c, shifts);
      native.shiftMixForward(x, a, w, y, b, t, c, shifts, shifts.length);
    },
    shiftMixBackward(x, a, w, dy, dx, da, dw, b, t, c, shifts) {
      if (!(f32(x) && f32(a) && f32(w) && f32(dy) && f32(dx) && f32(da) && f32(dw))) {
        return js.shiftMixBackward(x, a, w, dy, dx, da, dw, b, t, c, shifts);
      }
      native.shiftMixBackward(x, a, w, dy, dx, da, dw, b, t, c, shifts, shifts.length);
    },
  };
}
