// `hsm bench train` on a tiny run of our engine only (no Python needed), and
// `hsm bench decode`: each figure agrees with the ones it is derived from, and
// the step times agree with the wall time the test measures around the call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernels, nativeBackend } from '../src/backend/index.js';
import { benchTrain, STUDY_TRAIN_BENCH, TRAIN_BENCH_CONFIGS } from '../src/bench/train.js';
import { UserError } from '../src/errors.js';
import { describeModel, matchFfnWidth } from '../src/model/cost.js';
import { Transformer } from '../src/model/transformer.js';

/** FLOP/s no single CPU thread reaches (a core with two AVX-512 FMA units at 5 GHz does 320 G). */
const UNREACHABLE_FLOPS_PER_THREAD = 1e12;

/** |a/b − 1| ≤ tolerance: for figures rounded before they are recorded. */
function assertClose(a: number, b: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(a / b - 1) <= tolerance, `${what}: ${a} vs ${b}`);
}

test('bench train: one hsm record per configuration, its throughput that of its step times', () => {
  const records: Record<string, unknown>[] = [];
  const threadsBefore = nativeBackend()?.threads();
  // The js reference backend takes seconds per step of this model: one step, no profile pass, there.
  const native = kernels() === nativeBackend();
  const steps = native ? 2 : 1;
  const start = performance.now();
  benchTrain({
    steps,
    warmup: native ? 1 : 0,
    torch: false,
    configs: ['shakespeare-char-cpu'],
    threads: 1,
    profile: native,
    emit: (r) => records.push(r),
  });
  const wallMs = performance.now() - start;
  assert.equal(nativeBackend()?.threads(), threadsBefore, 'the thread count is restored');

  const runs = records.filter((r) => r.engine !== undefined);
  assert.equal(runs.length, 1, JSON.stringify(records));
  const r = runs[0];
  const cfg = TRAIN_BENCH_CONFIGS['shakespeare-char-cpu'];
  assert.equal(r.bench, 'train');
  assert.equal(r.config, 'shakespeare-char-cpu');
  assert.equal(r.engine, 'hsm');
  assert.equal(r.steps, steps);
  assert.equal(r.threads, 1);
  assert.equal(r.tokens_per_step, cfg.batchSize * cfg.blockSize);
  for (const key of ['tokens_per_s', 'tokens_per_s_best', 'ms_per_step', 'ms_per_step_best', 'params']) {
    const v = r[key];
    assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${key} = ${v}`);
  }
  assert.ok(
    (r.tokens_per_s_best as number) >= (r.tokens_per_s as number),
    'best step is at least as fast as the median',
  );
  // Throughput is tokens per step over the step time (median, and best); times are rounded to 1 µs.
  const tokens = cfg.batchSize * cfg.blockSize;
  const [median, best, mean] = [r.ms_per_step, r.ms_per_step_best, r.ms_per_step_mean] as number[];
  assertClose(r.tokens_per_s as number, tokens / (median / 1000), 1e-3, 'tokens_per_s = tokens per step / median step');
  assertClose(
    r.tokens_per_s_best as number,
    tokens / (best / 1000),
    1e-3,
    'tokens_per_s_best = tokens per step / best',
  );
  assert.ok(best <= median && best <= mean, `best ${best} ms is the fastest (median ${median}, mean ${mean})`);
  // The timed steps ran inside the call: together no longer than its wall time.
  assert.ok(mean * steps <= wallMs, `${steps} steps of ${mean} ms in a call of ${wallMs.toFixed(1)} ms`);
  // And no faster than the FLOPs they do allow on one thread.
  const model = new Transformer({ ...cfg, plan: undefined });
  const stepFlops = describeModel(model).trainFlopsPerToken * tokens;
  assert.ok(
    best >= (stepFlops / UNREACHABLE_FLOPS_PER_THREAD) * 1000,
    `a step of ${(stepFlops / 1e9).toFixed(2)} GFLOP in ${best} ms on one thread is impossible`,
  );
  // 4 layers, d=128, context 64, vocabulary 65: nanoGPT's count with positions and the tied head once.
  assert.equal(r.params, 65 * 128 + 64 * 128 + 4 * 12 * 128 * 128 + 4 * 13 * 128 + 2 * 128);
  const loss = r.loss_first as number;
  assert.ok(Math.abs(loss - Math.log(65)) < 0.2, `initial loss ${loss} ≈ ln 65`);

  if (!native) return;
  const profile = r.profile as Record<string, number>;
  for (const phase of ['forward_ms', 'backward_ms', 'optimizer_ms']) {
    assert.ok(Number.isFinite(profile[phase]) && profile[phase] > 0, `${phase} = ${profile[phase]}`);
  }
  // The backward pass does about twice the forward's FLOPs; the phases run within the call too.
  assert.ok(profile.backward_ms > profile.forward_ms, JSON.stringify(profile));
  assert.ok(profile.forward_ms + profile.backward_ms + profile.optimizer_ms <= wallMs, JSON.stringify(profile));
  const kernelsMs = r.profile_kernels_ms as Record<string, Record<string, number>>;
  assert.ok(kernelsMs.forward.matmul > 0 && kernelsMs.backward.matmul > 0 && kernelsMs.optimizer.adamw > 0);
  assert.ok(Array.isArray(r.profile_matmuls) && (r.profile_matmuls as unknown[]).length > 0);
  assert.ok(!records.some((x) => x.ratio !== undefined), 'no ratio without torch');
});

test('bench train: unknown configurations and bad step counts are user errors', () => {
  assert.throws(
    () => benchTrain({ configs: ['nope'], torch: false, emit: () => {} }),
    (e: unknown) => e instanceof UserError && /d256-ctx256/.test(e.message),
  );
  assert.throws(() => benchTrain({ steps: 0, torch: false, emit: () => {} }), UserError);
  assert.throws(() => benchTrain({ rounds: 0, torch: false, emit: () => {} }), /rounds must be a positive integer/);
});

test('bench train --rounds: the configurations take turns round by round, then one median per configuration', () => {
  const records: Record<string, unknown>[] = [];
  benchTrain({
    steps: 1,
    warmup: 0,
    torch: false,
    rounds: 3,
    configs: ['d128-ctx256', 'd128-ctx256-hsm-ab'],
    threads: 1,
    peak: 'none',
    emit: (r) => records.push(r),
  });
  const runs = records.filter((r) => r.engine !== undefined);
  assert.deepEqual(
    runs.map((r) => [r.round, r.config]),
    [1, 2, 3].flatMap((round) => [
      [round, 'd128-ctx256'],
      [round, 'd128-ctx256-hsm-ab'],
    ]),
  );
  const ratios = records.filter((r) => r.baseline !== undefined).map((r) => r.ratio as number);
  assert.equal(ratios.length, 3);
  const summary = records.filter((r) => r.bench === 'train-rounds');
  assert.equal(summary.length, 1, JSON.stringify(summary));
  const { median, rounds } = summary[0].baseline_ratio as { median: number; rounds: number[] };
  assert.equal(summary[0].config, 'd128-ctx256-hsm-ab');
  assert.deepEqual(rounds, ratios);
  assert.equal(median, [...ratios].sort((a, b) => a - b)[1]);
});

test('bench decode reports a time per token at every position for every plan, within the time it took', async () => {
  const { benchDecode } = await import('../src/bench/decode.js');
  const records: Record<string, unknown>[] = [];
  const window = 4;
  const start = performance.now();
  benchDecode({
    plans: ['hsm:ab*2', 'attn*2'],
    positions: [4, 40],
    nEmbd: 16,
    nHead: 2,
    window,
    emit: (r) => records.push(r),
  });
  const wallMs = performance.now() - start;
  assert.deepEqual(
    records.map((r) => r.plan),
    ['hsm:ab*2', 'attn*2'],
  );
  let timedMs = 0;
  for (const r of records) {
    const ms = r.ms_per_token as Record<string, number>;
    assert.deepEqual(Object.keys(ms), ['4', '40']);
    for (const v of Object.values(ms)) assert.ok(Number.isFinite(v) && v > 0);
    assertClose(r.ratio_last_to_first as number, ms['40'] / ms['4'], 2e-3, 'ratio_last_to_first');
    // Each figure is the median of `window` decode steps, so half of them took at least that long.
    timedMs += Object.values(ms).reduce((sum, v) => sum + v * Math.ceil(window / 2), 0);
  }
  assert.ok(timedMs <= wallMs, `decode steps of ${timedMs.toFixed(2)} ms in a call of ${wallMs.toFixed(1)} ms`);
});

test('bench train: the context study models are parameter-matched to the 4-block GPT of their style', () => {
  for (const name of STUDY_TRAIN_BENCH) {
    const cfg = TRAIN_BENCH_CONFIGS[name];
    assert.ok(cfg, name);
    if (!cfg.plan) continue;
    const base = TRAIN_BENCH_CONFIGS[cfg.baseline!];
    assert.equal(base.style, cfg.style, `${name} is compared with ${cfg.baseline} of its own block style`);
    const { ffnHidden } = matchFfnWidth({ ...cfg, plan: cfg.plan, style: cfg.style }, 'attn*4');
    assert.equal(
      cfg.ffnHidden,
      ffnHidden,
      `${name}: FFN width ${cfg.ffnHidden}, parameter matching gives ${ffnHidden}`,
    );
    // Each baseline runs first, so its ratio record can be made.
    assert.ok(STUDY_TRAIN_BENCH.indexOf(cfg.baseline!) < STUDY_TRAIN_BENCH.indexOf(name), name);
  }
});

test('bench train: a Transformer++ configuration trains in that style and gets no PyTorch (GPT-2 block) comparison', () => {
  const records: Record<string, unknown>[] = [];
  benchTrain({
    steps: 1,
    warmup: 0,
    torch: true,
    configs: ['long-tpp'],
    threads: 1,
    peak: 'none',
    emit: (r) => records.push(r),
  });
  const runs = records.filter((r) => r.engine !== undefined);
  assert.deepEqual(
    runs.map((r) => [r.engine, r.style]),
    [['hsm', 'transformer++']],
    JSON.stringify(records),
  );
  assert.ok(!records.some((r) => typeof r.note === 'string' && r.note.includes('torch')), JSON.stringify(records));
});
