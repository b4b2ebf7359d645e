import type { Kernels } from './kernels.js';
import { jsKernels } from './js/index.js';
import { createNativeKernels, loadNativeAddon, nativeLoadError } from './native.js';

export type BackendName = 'js' | 'native';
export type { Kernels, FloatArray, MatmulOptions, AdamWStep } from './kernels.js';
export { jsKernels } from './js/index.js';

type NativeKernels = ReturnType<typeof createNativeKernels>;
let nativeKernels: NativeKernels | null | undefined;
let current: Kernels | undefined;
let warned = false;

/** The native backend, or null when the addon is unavailable. */
export function nativeBackend(): NativeKernels | null {
  if (nativeKernels === undefined) {
    const addon = loadNativeAddon();
    nativeKernels = addon ? createNativeKernels(addon) : null;
  }
  return nativeKernels;
}

/** A backend by name; asking for `native` when it is missing falls back to `js` with one warning. */
export function backendByName(name: BackendName): Kernels {
  if (name === 'js') return jsKernels;
  const native = nativeBackend();
  if (native) return native;
  if (!warned) {
    warned = true;
    process.emitWarning(`hsm: native kernels unavailable (${nativeLoadError()}); using the slower js backend`);
  }
  return jsKernels;
}

/** The kernels ops run on: HSM_BACKEND=js|native, else native when built. */
export function kernels(): Kernels {
  if (!current) {
    const env = process.env.HSM_BACKEND;
    if (env !== undefined && env !== 'js' && env !== 'native') {
      throw new Error(`HSM_BACKEND must be "js" or "native", got "${env}"`);
    }
    current = backendByName((env as BackendName | undefined) ?? 'native');
  }
  return current;
}

export function setBackend(name: BackendName): Kernels {
  current = backendByName(name);
  return current;
}

/** Runs fn with the given backend, restoring the previous one afterwards. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const previous = kernels();
  current = backendByName(name);
  try {
    return fn();
  } finally {
    current = previous;
  }
}
