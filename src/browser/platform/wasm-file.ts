/**
 * The browser's answer for src/backend/wasm-file.ts (package.json's "browser"
 * field): a page cannot read the module from disk synchronously; it fetches it
 * with loadWasmKernels(fetch(url)) and installs it with useKernels (worker.ts).
 */
import type { WasmKernels } from '../../backend/wasm.js';

export const WASM_PATH = '';

export function loadWasmFile(): WasmKernels | null {
  return null;
}

export function wasmLoadError(): string {
  return 'in a web page the module is fetched: loadWasmKernels(fetch(url)), then useKernels';
}
