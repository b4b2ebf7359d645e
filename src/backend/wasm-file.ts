/** Loads the WebAssembly backend from the file `npm run build` writes (Node only; a page fetches it instead). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../project-root.js';
import { wasmKernelsFromModule, type WasmKernels } from './wasm.js';

export const WASM_PATH = join(projectRoot(), 'dist', 'wasm', 'hsm.wasm');

let loaded: WasmKernels | null | undefined;
let loadError = '';

/** The wasm backend, or null (with wasmLoadError set) when the module is not built. */
export function loadWasmFile(): WasmKernels | null {
  if (loaded !== undefined) return loaded;
  if (!existsSync(WASM_PATH)) {
    loadError = `${WASM_PATH} not found: npm run build writes it`;
    return (loaded = null);
  }
  return (loaded = wasmKernelsFromModule(new WebAssembly.Module(readFileSync(WASM_PATH))));
}

export function wasmLoadError(): string {
  return loadError;
}
