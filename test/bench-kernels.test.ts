// `hsm bench kernels` on the wasm backend: its records, and TensorFlow.js's wasm backend measured beside it
// (a devDependency: that part is skipped where it is not installed). Each GFLOP/s figure must be the FLOPs
// its kernel does over the time recorded beside it, and the recorded times must fit in the run's wall time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ATTENTION_SHAPE, benchKernels, MATMUL_SHAPES } from '../src/bench/kernels.js';
import { cli } from './helpers.js';
import { wasmMissing } from './toolchains.js';

const noWasm = wasmMissing();

/** FLOP/s no single CPU thread reaches (a core with two AVX-512 FMA units at 5 GHz does 320 G). */
const UNREACHABLE_GFLOPS_PER_THREAD = 1000;

/** The FLOPs of one call of the kernel a record times: 2·M·K·N for a matmul; attention over the causal triangle. */
function countedFlops(r: Record<string, unknown>): number {
  const { b, h, t, dh } = ATTENTION_SHAPE;
  if (r.op === 'attention_forward') return 2 * b * h * t * (t + 1) * dh;
  if (r.op === 'attention_backward') return 5 * b * h * t * (t + 1) * dh;
  const [m, k, n] = String(r.shape).split('x').map(Number);
  return 2 * m * k * n;
}

/** A record's GFLOP/s is its counted FLOPs over its best time; best ≤ median; the rate is physically possible. */
function assertConsistentRate(r: Record<string, unknown>): void {
  const what = JSON.stringify(r);
  const [gflops, ms, median] = [r.gflops, r.ms, r.median_ms] as number[];
  assert.ok(Number.isFinite(gflops) && gflops > 0 && ms > 0, what);
  assert.ok(Math.abs(gflops / (countedFlops(r) / (ms * 1e6)) - 1) < 1e-9, `GFLOP/s is not FLOPs / time: ${what}`);
  if (String(r.op).startsWith('attention_')) {
    // The dense count beside it, for comparison with benchmarks that quote it: 2T/(T+1) times the causal one.
    const { t } = ATTENTION_SHAPE;
    assert.ok(Math.abs((r.gflops_dense as number) / gflops - (2 * t) / (t + 1)) < 1e-9, `dense count: ${what}`);
  }
  assert.ok(ms <= median, `the best time is at most the median: ${what}`);
  assert.ok(gflops < UNREACHABLE_GFLOPS_PER_THREAD * (r.threads as number), `impossible rate: ${what}`);
}

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
  const start = performance.now();
  const args = ['bench', 'kernels', '--json', '--backend', 'wasm', '--threads', '1', '--no-numpy', '--no-tfjs'];
  const run = cli([...args, '--budget-ms', '50'], { timeoutMs: 120_000 });
  const wallMs = performance.now() - start;
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
  // The run measures the CPU's FMA peak first; every kernel record is a fraction of it.
  const peak = records.filter((r) => r.bench === 'peak');
  assert.equal(peak.length, 1, 'one peak record');
  const timed = records.filter((r) => r.gflops !== undefined && r.bench === 'kernels');
  for (const r of timed) assert.equal(r.peak_gflops, peak[0].gflops);
  assert.deepEqual(
    timed.map((r) => `${r.op} ${r.shape}`),
    [
      ...shapes.map((s) => `matmul ${s}`),
      'matmul_Bt 4096x256x768',
      'matmul_At 768x4096x256',
      'attention_forward B8xH4xT256xD64',
      'attention_backward B8xH4xT256xD64',
    ],
  );
  for (const r of timed) {
    assert.equal(r.threads, 1);
    assert.ok((r.reps as number) >= 3, JSON.stringify(r));
    assertConsistentRate(r);
  }
  // Every timed repetition (and one warm-up call each) ran inside the process.
  const timedMs = timed.reduce((sum, r) => sum + ((r.reps as number) + 1) * (r.ms as number), 0);
  assert.ok(timedMs <= wallMs, `${timedMs.toFixed(1)} ms of kernel time in a run of ${wallMs.toFixed(1)} ms`);
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
      assert.ok((r.reps as number) >= 3);
      assertConsistentRate(r);
    }
    // Each ratio is ours over TF.js's at the same shape, from the records above.
    const ratios = records.filter((r) => r.ratio_of === 'wasm/tfjs-wasm');
    assert.deepEqual(
      ratios.map((r) => r.shape),
      shapes,
    );
    const rate = (backend: string, shape: unknown) =>
      records.find((r) => r.backend === backend && r.op === 'matmul' && r.shape === shape)!.gflops as number;
    for (const r of ratios)
      assert.ok(
        Math.abs((r.ratio as number) / (rate('wasm', r.shape) / rate('tfjs-wasm', r.shape)) - 1) < 1e-9,
        JSON.stringify(r),
      );
    const tf = await import('@tensorflow/tfjs-core');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(tf.memory().numTensors, 0, 'every tensor is disposed');
  },
);
