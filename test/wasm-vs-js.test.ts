// Reruns the native-vs-js comparison on the WebAssembly build of the same kernels
// (HSM_KERNELS_UNDER_TEST=wasm), and checks the module imports nothing a page would have to provide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { wasmBackend } from '../src/backend/index.js';
import { WASM_PATH, wasmLoadError } from '../src/backend/wasm-file.js';

const wasm = wasmBackend();
const skip = wasm ? false : `wasm module not available: ${wasmLoadError()}`;
if (!wasm && process.env.HSM_REQUIRE_WASM === '1') throw new Error(`CI must build the wasm module: ${wasmLoadError()}`);
const suite = fileURLToPath(new URL('./native-vs-js.test.js', import.meta.url));

test('wasm kernels equal js (the native-vs-js suite on the WebAssembly build)', { skip }, () => {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', suite], {
    env: { ...env, HSM_KERNELS_UNDER_TEST: 'wasm' },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, `wasm kernels failed:\n${run.stdout}\n${run.stderr}`);
  const passed = Number(/# pass (\d+)/.exec(run.stdout)?.[1] ?? 0);
  assert.ok(passed >= 10, `expected the whole suite to pass, saw ${passed} passing tests:\n${run.stdout}`);
});

test('the wasm module imports nothing and exports the kernel table', { skip }, () => {
  const module = new WebAssembly.Module(readFileSync(WASM_PATH));
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  const exports = WebAssembly.Module.exports(module).map((e) => e.name);
  for (const name of ['memory', '__indirect_function_table', 'kernelTable', 'kernelSignatures', 'allocate', 'release'])
    assert.ok(exports.includes(name), `missing export ${name}`);
  assert.equal(wasm!.name, 'wasm');
});
