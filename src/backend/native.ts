import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../project-root.js';
import { verifyKernelSignatures, type AbiFunctions } from './kernel-abi.js';
import type { Kernels } from './kernels.js';
import { kernelsFromAbi } from './abi-kernels.js';

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
    if (!existsSync(NATIVE_ADDON_PATH))
      throw new Error(`${NATIVE_ADDON_PATH} not found: npm install builds it where g++, make and python3 are`);
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

/**
 * The native backend: float32 SIMD kernels and a thread pool in C++.
 * Float64 arrays (used by gradient checks) go to the js reference kernels.
 * Every call checks its arguments against kernel-abi.ts first, so a wrong size
 * is an exception, never a read past the end of a buffer.
 */
export function createNativeKernels(
  addon: NativeAddon,
): Kernels & { isa: string; threads(): number; setThreads(n: number): void } {
  return {
    ...kernelsFromAbi('native', addon),
    isa: addon.isa(),
    threads: () => addon.threads(),
    setThreads: (n: number) => addon.setThreads(n),
  };
}
