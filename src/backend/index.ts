import type { Kernels } from './kernels.js';
import { jsKernels } from './js/index.js';
import { createNativeKernels, loadNativeAddon, nativeLoadError } from './native.js';
import { loadWasmFile, wasmLoadError } from './wasm-file.js';
import type { WasmKernels } from './wasm.js';

export const BACKEND_NAMES = ['js', 'native', 'wasm'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type { Kernels, FloatArray, MatmulOptions, AdamWStep } from './kernels.js';
export { FMA_PEAK_LANES } from './kernels.js';
export { jsKernels } from './js/index.js';
export { loadWasmKernels, wasmKernelsFromModule, type WasmKernels } from './wasm.js';

type NativeKernels = ReturnType<typeof createNativeKernels>;
let nativeKernels: NativeKernels | null | undefined;
let current: Kernels | undefined;
const warned = new Set<BackendName>();

/** The native backend, or null when the addon is unavailable. */
export function nativeBackend(): NativeKernels | null {
  if (nativeKernels === undefined) {
    const addon = loadNativeAddon();
    nativeKernels = addon ? createNativeKernels(addon) : null;
  }
  return nativeKernels;
}

/** The WebAssembly backend, or null when its module is not built. */
export function wasmBackend(): WasmKernels | null {
  return loadWasmFile();
}

/** A backend by name; asking for `native` or `wasm` when it is missing falls back to `js` with one warning. */
export function backendByName(name: BackendName): Kernels {
  if (name === 'js') return jsKernels;
  const backend = name === 'native' ? nativeBackend() : wasmBackend();
  if (backend) return backend;
  if (!warned.has(name)) {
    warned.add(name);
    const why = name === 'native' ? nativeLoadError() : wasmLoadError();
    globalThis.process?.emitWarning(`hsm: ${name} kernels unavailable (${why}); using the slower js backend`);
  }
  return jsKernels;
}

/** The kernels ops run on: HSM_BACKEND=js|native|wasm, else native when built. */
export function kernels(): Kernels {
  if (!current) {
    const env = globalThis.process?.env.HSM_BACKEND;
    if (env !== undefined && !(BACKEND_NAMES as readonly string[]).includes(env)) {
      throw new Error(`HSM_BACKEND must be one of ${BACKEND_NAMES.join(', ')}, got "${env}"`);
    }
    current = backendByName((env as BackendName | undefined) ?? 'native');
  }
  return current;
}

export function setBackend(name: BackendName): Kernels {
  current = backendByName(name);
  return current;
}

/** Makes `backend` the one ops run on (a page's wasm backend, loaded asynchronously). */
export function useKernels(backend: Kernels): void {
  current = backend;
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
