// Reruns the native-vs-js comparison on the WebAssembly build of the same kernels
// (HSM_KERNELS_UNDER_TEST=wasm), and checks the module imports nothing a page would have to provide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { wasmBackend } from '../src/backend/index.js';
import { WASM_PATH } from '../src/backend/wasm-file.js';
import { assertKernelSuitePasses } from './kernel-suite.js';
import { wasmMissing } from './toolchains.js';

const skip = wasmMissing();

test('wasm kernels equal js (the native-vs-js suite on the WebAssembly build)', { skip }, () => {
  assertKernelSuitePasses({ HSM_KERNELS_UNDER_TEST: 'wasm' }, 'the wasm kernels');
});

test('the wasm module imports nothing and exports the kernel table', { skip }, () => {
  const module = new WebAssembly.Module(readFileSync(WASM_PATH));
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  const exports = WebAssembly.Module.exports(module).map((e) => e.name);
  for (const name of ['memory', '__indirect_function_table', 'kernelTable', 'kernelSignatures', 'allocate', 'release'])
    assert.ok(exports.includes(name), `missing export ${name}`);
  assert.equal(wasmBackend()!.name, 'wasm');
});
