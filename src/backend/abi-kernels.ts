/**
 * A `Kernels` backend from any implementation of the flat kernel ABI
 * (kernel-abi.ts): the native addon and the WebAssembly module alike. Every
 * call is checked against the ABI table first (withArgChecks); float64 arrays
 * (gradient checks) go to the js reference, as compiled kernels are float32.
 */
import { DIRECT_KERNELS, withArgChecks, type AbiFunctions, type DirectKernel } from './kernel-abi.js';
import type { FloatArray, Kernels, MatmulEpilogue, MatmulOptions } from './kernels.js';
import { jsKernels } from './js/index.js';

/** The codes of native/kernel_table.h's MatmulEpilogue. */
const EPILOGUES: Record<MatmulEpilogue, number> = { gelu: 1, geluGrad: 2 };

/** Float32 (or an absent optional array) goes to the compiled kernels; anything else to the js reference. */
const f32 = (x: FloatArray | null): x is Float32Array | null => x === null || x instanceof Float32Array;

const pick = <T extends object>(from: T, names: readonly (keyof T)[]): Partial<T> =>
  Object.fromEntries(names.map((name) => [name, from[name]])) as Partial<T>;

export function kernelsFromAbi(name: string, abi: AbiFunctions): Kernels {
  const js = jsKernels;
  const checkedAbi = withArgChecks(abi, pick(js, DIRECT_KERNELS), name);
  // The kernels whose Kernels signature is the flat ABI (kernel-abi.ts checks that at compile time).
  const flat = pick(checkedAbi, DIRECT_KERNELS) as unknown as Pick<Kernels, DirectKernel>;

  return {
    name,
    ...flat,

    // The adapters: Kernels signatures that differ from the flat ABI.
    geluBackward: (x, dy, dx, n, overwrite = false) => flat.geluBackward(x, dy, dx, n, overwrite),
    matmul(a, b, c, m, k, n, opts: MatmulOptions = {}) {
      const { bias = null, aux = null, epilogue } = opts;
      if (!(f32(a) && f32(b) && f32(c) && f32(bias) && f32(aux))) return js.matmul(a, b, c, m, k, n, opts);
      if (epilogue && !aux) throw new TypeError(`matmul: epilogue '${epilogue}' needs aux`);
      checkedAbi.matmul(
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
    matmulPackedB(a, packed, c, m, k, n, opts = {}) {
      const { bias = null, aux = null, epilogue } = opts;
      if (!(f32(bias) && f32(aux))) throw new TypeError('matmulPackedB: float32 only (an inference weight)');
      checkedAbi.matmulPackedB(a, packed, c, m, k, n, bias, epilogue ? EPILOGUES[epilogue] : 0, aux);
    },
    adamw(param, grad, m, v, n, h) {
      if (!(f32(param) && f32(grad) && f32(m) && f32(v))) return js.adamw(param, grad, m, v, n, h);
      checkedAbi.adamw(param, grad, m, v, n, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.gradScale, h.step);
    },
    // The shift kernels take the group count (shifts.length) explicitly.
    shiftForward(x, y, b, t, c, shifts) {
      if (!(f32(x) && f32(y))) return js.shiftForward(x, y, b, t, c, shifts);
      checkedAbi.shiftForward(x, y, b, t, c, shifts, shifts.length);
    },
    shiftBackward(dy, dx, b, t, c, shifts) {
      if (!(f32(dy) && f32(dx))) return js.shiftBackward(dy, dx, b, t, c, shifts);
      checkedAbi.shiftBackward(dy, dx, b, t, c, shifts, shifts.length);
    },
    shiftMixForward(x, a, w, y, b, t, c, shifts) {
      if (!(f32(x) && f32(a) && f32(w) && f32(y))) return js.shiftMixForward(x, a, w, y, b, t, c, shifts);
      checkedAbi.shiftMixForward(x, a, w, y, b, t, c, shifts, shifts.length);
    },
    shiftMixBackward(x, a, w, dy, dx, da, dw, b, t, c, shifts) {
      if (!(f32(x) && f32(a) && f32(w) && f32(dy) && f32(dx) && f32(da) && f32(dw))) {
        return js.shiftMixBackward(x, a, w, dy, dx, da, dw, b, t, c, shifts);
      }
      checkedAbi.shiftMixBackward(x, a, w, dy, dx, da, dw, b, t, c, shifts, shifts.length);
    },
  };
}
