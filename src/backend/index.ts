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

/**
 * A backend by name. A missing one falls back to the next in native → wasm → js
 * with one line on stderr saying why and what it costs: wasm runs the same
 * kernels on one thread; js is the reference, far slower than either.
 */
export function backendByName(name: BackendName): Kernels {
  if (name === 'js') return jsKernels;
  const backend = name === 'native' ? nativeBackend() : wasmBackend();
  if (backend) return backend;
  const fallback: BackendName = name === 'native' && wasmBackend() ? 'wasm' : 'js';
  if (!warned.has(name)) {
    warned.add(name);
    globalThis.console?.warn(fallbackNote(name, fallback));
  }
  return backendByName(fallback);
}

function fallbackNote(missing: BackendName, fallback: BackendName): string {
  const noNative = `no native addon (${nativeLoadError()})`,
    noWasm = `no WebAssembly module (${wasmLoadError()})`;
  if (fallback === 'wasm') return `hsm: ${noNative}; using the WebAssembly kernels, one thread, several times slower`;
  const why = missing === 'native' ? `${noNative} and ${noWasm}` : noWasm;
  return `hsm: ${why}; using the js reference kernels, tens of times slower than native or wasm`;
}

/** The kernels ops run on: HSM_BACKEND=js|native|wasm, else the fastest available (native, then wasm, then js). */
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
