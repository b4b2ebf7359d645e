// `hsm bench peak` and the fractions of it that `hsm bench kernels` and `hsm bench train` report: the records'
// arithmetic (FLOPs per call, fraction = measured / peak), where the peak comes from, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FMA_PEAK_LANES, nativeBackend, wasmBackend } from '../src/backend/index.js';
import { benchKernels } from '../src/bench/kernels.js';
import { readPeaks } from '../src/bench/peak.js';
import { benchTrain, TRAIN_BENCH_CONFIGS } from '../src/bench/train.js';
import { UserError } from '../src/errors.js';
import { describeModel, modelShapes } from '../src/model/cost.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const native = nativeBackend();
const noNative = native ? false : 'native addon not available';
const dir = mkdtempSync(join(tmpdir(), 'hsm-bench-peak-'));

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** fraction_of_peak is gflops / peak_gflops (rounded to 5 decimals in the record). */
function assertFraction(r: Record<string, unknown>, peak: number, gflops = r.gflops as number): void {
  assert.equal(r.peak_gflops, peak, JSON.stringify(r));
  assert.ok(Math.abs((r.fraction_of_peak as number) - gflops / peak) <= 5e-6, JSON.stringify(r));
}

test(
  'bench peak --json: one record per thread count, its GFLOP/s the FLOPs per call over the best time',
  { skip: noNative },
  () => {
    const run = cli('bench', 'peak', '--json', '--threads', '1,2', '--budget-ms', '30');
    assert.equal(run.status, 0, run.stderr);
    const records = lines(run.stdout);
    assert.deepEqual(
      records.map((r) => r.threads),
      [1, 2],
    );
    for (const r of records) {
      assert.equal(r.bench, 'peak');
      assert.equal(r.backend, 'native');
      assert.equal(r.isa, native!.isa);
      assert.equal(r.op, native!.isa === 'generic' ? 'mul+add' : 'fma');
      assert.equal(r.flops_per_call, 2 * FMA_PEAK_LANES * (r.iterations as number) * (r.tasks as number));
      assert.equal(r.tasks, 4 * (r.threads as number));
      const gflops = (r.flops_per_call as number) / ((r.ms as number) * 1e6);
      assert.ok(Math.abs((r.gflops as number) / gflops - 1) < 1e-3, JSON.stringify(r));
      assert.ok((r.gflops as number) >= (r.gflops_median as number), 'the best call is at least the median');
      assert.ok((r.reps as number) >= 3);
    }
  },
);

test('bench peak: the wasm build one thread, multiply and add; js refused', { skip: noNative }, () => {
  if (wasmBackend()) {
    const run = cli('bench', 'peak', '--json', '--backend', 'wasm', '--budget-ms', '30');
    assert.equal(run.status, 0, run.stderr);
    const [r] = lines(run.stdout);
    assert.deepEqual([r.backend, r.isa, r.op, r.threads], ['wasm', 'wasm32+simd128', 'mul+add', 1]);
    assert.ok((r.gflops as number) > 0);
  }
  const js = cli('bench', 'peak', '--backend', 'js');
  assert.equal(js.status, 2);
  assert.match(js.stderr, /--backend js: .*native or wasm/);
  assert.equal(js.stderr.trim().split('\n').length, 1, js.stderr);
});

test('bench kernels: every measurement as a fraction of a given peak (--peak-from)', { skip: noNative }, async () => {
  const file = join(dir, 'peak.jsonl');
  // A peak file as bench peak writes it, two runs of one thread count: the higher counts (far below this CPU's).
  const peak = { bench: 'peak', backend: 'native', isa: native!.isa, op: 'fma', threads: 1 };
  writeFileSync(
    file,
    [
      { ...peak, gflops: 0.5 },
      { ...peak, gflops: 1 },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  const records: Record<string, unknown>[] = [];
  await benchKernels({
    backends: ['native'],
    threads: [1],
    numpy: false,
    budgetMs: 1,
    peak: { file },
    emit: (r) => records.push(r),
  });
  const measured = records.filter((r) => typeof r.gflops === 'number');
  assert.ok(measured.length >= 7, JSON.stringify(records));
  assert.ok(!records.some((r) => r.bench === 'peak'), 'a given peak is not measured again');
  for (const r of measured) assertFraction(r, 1);
  // Every native kernel beats 1 GFLOP/s: one note says the fractions read high, not one per record.
  const notes = records.filter((r) => /exceeds the measured peak/.test(String(r.note)));
  assert.equal(notes.length, 1, JSON.stringify(records));

  await assert.rejects(
    benchKernels({ backends: ['native'], threads: [2], numpy: false, budgetMs: 1, peak: { file }, emit: () => {} }),
    (e: unknown) => e instanceof UserError && /no peak at 2 thread\(s\); it has 1/.test(e.message),
  );
});

test('bench kernels: the peak measured in the same run, at each thread count', { skip: noNative }, async () => {
  const records: Record<string, unknown>[] = [];
  await benchKernels({
    backends: ['native'],
    threads: [1, 2],
    numpy: false,
    budgetMs: 1,
    peak: { measureMs: 20 },
    emit: (r) => records.push(r),
  });
  const peaks = new Map(records.filter((r) => r.bench === 'peak').map((r) => [r.threads, r.gflops as number]));
  assert.deepEqual([...peaks.keys()], [1, 2]);
  const measured = records.filter((r) => r.bench === 'kernels' && typeof r.gflops === 'number');
  for (const r of measured) assertFraction(r, peaks.get(r.threads)!);
});

test('--peak-from: unreadable, non-JSON or empty files are one-line user errors', { skip: noNative }, () => {
  const bad = (name: string, text: string | null, pattern: RegExp) => {
    const file = join(dir, name);
    if (text !== null) writeFileSync(file, text);
    assert.throws(
      () => readPeaks(file),
      (e: unknown) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n'),
    );
  };
  bad('missing.jsonl', null, /cannot read it \(ENOENT\)/);
  bad('text.jsonl', 'not json\n', /line 1 is not JSON/);
  bad('other.jsonl', JSON.stringify({ bench: 'kernels', gflops: 3 }), /no native peak records/);
  bad(
    'zero.jsonl',
    JSON.stringify({ bench: 'peak', backend: 'native', threads: 1, gflops: 0 }),
    /line 1 has no positive/,
  );
  const run = cli('bench', 'train', '--no-torch', '--peak-from', join(dir, 'missing.jsonl'));
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /--peak-from .*cannot read it/);
});

test(
  "bench train: training GFLOP/s from hsm info's FLOPs per token, and its fraction of the peak",
  { skip: noNative },
  () => {
    const records: Record<string, unknown>[] = [];
    benchTrain({
      steps: 2,
      warmup: 1,
      torch: false,
      configs: ['shakespeare-char-cpu', 'd128-ctx256-hsm-ab'],
      threads: 1,
      profile: true,
      peak: { measureMs: 20 },
      emit: (r) => records.push(r),
    });
    const [peak] = records.filter((r) => r.bench === 'peak');
    assert.equal(peak.threads, 1);
    const runs = records.filter((r) => r.engine === 'hsm');
    assert.equal(runs.length, 2);
    for (const r of runs) {
      const cfg = TRAIN_BENCH_CONFIGS[r.config as string];
      const model = modelShapes({ ...cfg, plan: cfg.plan, ffnHidden: cfg.ffnHidden });
      const perToken = describeModel(model).trainFlopsPerToken;
      assert.equal(r.train_flops_per_token, perToken, `${r.config}: the count hsm info prints`);
      for (const [gflops, tokens] of [
        ['gflops', 'tokens_per_s'],
        ['gflops_best', 'tokens_per_s_best'],
      ]) {
        const want = (perToken * (r[tokens] as number)) / 1e9;
        assert.ok(Math.abs((r[gflops] as number) / want - 1) < 1e-3, `${r.config} ${gflops}: ${r[gflops]} vs ${want}`);
      }
      assertFraction(r, peak.gflops as number);
      const matmuls = r.profile_matmuls as { gflops: number; fraction_of_peak: number }[];
      assert.ok(matmuls.length > 0);
      for (const m of matmuls) assert.ok(Math.abs(m.fraction_of_peak - m.gflops / (peak.gflops as number)) <= 5e-5);
      assert.ok(
        Math.abs((r.fraction_of_peak_best as number) - (r.gflops_best as number) / (peak.gflops as number)) <= 5e-6,
      );
    }
    const none: Record<string, unknown>[] = [];
    benchTrain({
      steps: 1,
      warmup: 0,
      torch: false,
      configs: ['shakespeare-char-cpu'],
      threads: 1,
      peak: 'none',
      emit: (r) => none.push(r),
    });
    assert.ok(!none.some((r) => 'fraction_of_peak' in r || r.bench === 'peak'), JSON.stringify(none));
  },
);
