// `hsm bench train`: record shapes on a tiny run of our engine only (no Python needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernels, nativeBackend } from '../src/backend/index.js';
import { benchTrain, TRAIN_BENCH_CONFIGS } from '../src/bench/train.js';
import { UserError } from '../src/errors.js';

test('bench train: one hsm record per configuration with positive, finite throughput', () => {
  const records: Record<string, unknown>[] = [];
  const threadsBefore = nativeBackend()?.threads();
  // The js reference backend takes seconds per step of this model: one step, no profile pass, there.
  const native = kernels() === nativeBackend();
  const steps = native ? 2 : 1;
  benchTrain({
    steps,
    warmup: native ? 1 : 0,
    torch: false,
    configs: ['shakespeare-char-cpu'],
    threads: 1,
    profile: native,
    emit: (r) => records.push(r),
  });
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
  // 4 layers, d=128, context 64, vocabulary 65: nanoGPT's count with positions and the tied head once.
  assert.equal(r.params, 65 * 128 + 64 * 128 + 4 * 12 * 128 * 128 + 4 * 13 * 128 + 2 * 128);
  const loss = r.loss_first as number;
  assert.ok(Math.abs(loss - Math.log(65)) < 0.2, `initial loss ${loss} ≈ ln 65`);

  if (!native) return;
  const profile = r.profile as Record<string, number>;
  for (const phase of ['forward_ms', 'backward_ms', 'optimizer_ms']) {
    assert.ok(Number.isFinite(profile[phase]) && profile[phase] > 0, `${phase} = ${profile[phase]}`);
  }
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
});

test('bench decode reports a time per token at every position for every plan', async () => {
  const { benchDecode } = await import('../src/bench/decode.js');
  const records: Record<string, unknown>[] = [];
  benchDecode({
    plans: ['hsm:ab*2', 'attn*2'],
    positions: [4, 40],
    nEmbd: 16,
    nHead: 2,
    window: 4,
    emit: (r) => records.push(r),
  });
  assert.deepEqual(
    records.map((r) => r.plan),
    ['hsm:ab*2', 'attn*2'],
  );
  for (const r of records) {
    const ms = r.ms_per_token as Record<string, number>;
    assert.deepEqual(Object.keys(ms), ['4', '40']);
    for (const v of Object.values(ms)) assert.ok(Number.isFinite(v) && v > 0);
  }
});
