/**
 * The browser's answer for src/backend/native.ts (package.json's "browser" field
 * maps one to the other when bundling): a page has no native addon, so the
 * backend selection finds none and uses the wasm or js kernels.
 */
import type { AbiFunctions } from '../../backend/kernel-abi.js';
import type { Kernels } from '../../backend/kernels.js';

export type NativeAddon = AbiFunctions & { isa(): string; threads(): number; setThreads(n: number): void };

export const NATIVE_ADDON_PATH = '';

export function loadNativeAddon(): NativeAddon | null {
  return null;
}

export function nativeLoadError(): string {
  return 'a web page has no native addon';
}

export function createNativeKernels(
  addon: NativeAddon,
): Kernels & { isa: string; threads(): number; setThreads(n: number): void } {
  throw new Error(`no native kernels in a web page (asked for ${addon.isa()})`);
}
