// `hsm bench kernels` on the wasm backend: its records, and TensorFlow.js's wasm backend measured beside it
// (a devDependency: that part is skipped where it is not installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { wasmBackend } from '../src/backend/index.js';
import { wasmLoadError } from '../src/backend/wasm-file.js';
import { benchKernels, MATMUL_SHAPES } from '../src/bench/kernels.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const noWasm = wasmBackend() ? false : `wasm module not available: ${wasmLoadError()}`;

function tfjsInstalled(): boolean {
  const require = createRequire(import.meta.url);
  try {
    require.resolve('@tensorflow/tfjs-core');
    require.resolve('@tensorflow/tfjs-backend-wasm');
    return true;
  } catch {
    return false;
  }
}
const noTfjs =
  noWasm || (tfjsInstalled() ? false : '@tensorflow/tfjs-core or @tensorflow/tfjs-backend-wasm not installed');

const shapes = MATMUL_SHAPES.map((s) => s.join('x'));

test('bench kernels --backend wasm --no-tfjs: wasm records only, no TF.js', { skip: noWasm }, () => {
  const run = spawnSync(
    process.execPath,
    [
      CLI,
      'bench',
      'kernels',
      '--json',
      '--backend',
      'wasm',
      '--threads',
      '1',
      '--no-numpy',
      '--no-tfjs',
      '--budget-ms',
      '50',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  const records = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const matmuls = records.filter((r) => r.op === 'matmul' && r.backend === 'wasm');
  assert.deepEqual(
    matmuls.map((r) => r.shape),
    shapes,
  );
  for (const r of matmuls) assert.ok(Number.isFinite(r.gflops) && (r.gflops as number) > 0, JSON.stringify(r));
  assert.ok(!run.stdout.includes('tfjs'), run.stdout);
});

test(
  'bench kernels: TF.js wasm matmul beside ours, one thread, with ratios and no leaked tensors',
  { skip: noTfjs },
  async () => {
    const records: Record<string, unknown>[] = [];
    await benchKernels({ backends: ['wasm'], numpy: false, budgetMs: 20, emit: (r) => records.push(r) });
    const tfjs = records.filter((r) => r.backend === 'tfjs-wasm');
    assert.deepEqual(
      tfjs.map((r) => r.shape),
      shapes,
      JSON.stringify(records),
    );
    for (const r of tfjs) {
      assert.equal(r.op, 'matmul');
      assert.equal(r.threads, 1);
      assert.ok(Number.isFinite(r.gflops) && (r.gflops as number) > 0, JSON.stringify(r));
      assert.ok((r.reps as number) >= 3);
    }
    const ratios = records.filter((r) => r.ratio_of === 'wasm/tfjs-wasm');
    assert.deepEqual(
      ratios.map((r) => r.shape),
      shapes,
    );
    for (const r of ratios) assert.ok(Number.isFinite(r.ratio) && (r.ratio as number) > 0, JSON.stringify(r));
    const tf = await import('@tensorflow/tfjs-core');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(tf.memory().numTensors, 0, 'every tensor is disposed');
  },
);
