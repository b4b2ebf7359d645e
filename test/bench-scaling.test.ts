// `hsm bench scaling`: training and generation time against the context. Every
// derived figure (throughput, speedup, exponents, ratios) must follow from the
// measured ones it comes from, and the measured times must fit in the run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DECODE_WINDOW } from '../src/bench/decode.js';
import { logLogSlope } from '../src/bench/scaling.js';
import { scalingTable } from '../src/bench/scaling-report.js';
import { parseScalingModels, resolveScalingModel, SCALING_MODELS } from '../src/bench/scaling-models.js';
import { assertUserError, cli, tmp } from './helpers.js';

const hsm = (...args: string[]) => cli(args);
/** |a − b| ≤ tolerance: for figures rounded before they are recorded. */
const near = (a: unknown, b: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(Number(a) - b) <= tolerance, `${what}: ${String(a)} vs ${b}`);

test('logLogSlope recovers the exponent of a power law', () => {
  const xs = [1024, 2048, 4096, 8192];
  assert.ok(
    Math.abs(
      logLogSlope(
        xs,
        xs.map((x) => 3 * x),
      ) - 1,
    ) < 1e-12,
  );
  assert.ok(
    Math.abs(
      logLogSlope(
        xs,
        xs.map((x) => 0.5 * x * x),
      ) - 2,
    ) < 1e-12,
  );
});

test('hsm bench scaling: records per model and context, exponents, and charts', () => {
  const out = tmp('scaling');
  const start = performance.now();
  const run = hsm(
    'bench',
    'scaling',
    '--json',
    '--models',
    'gpt,mine=hsm:ab*3',
    '--contexts',
    '32,64,128',
    '--tokens-per-step',
    '256',
    '--positions',
    '4,40',
    '--n-embd',
    '16',
    '--steps',
    '1',
    '--warmup',
    '1',
    '--fit-from',
    '32',
    '--out',
    out,
  );
  const wallMs = performance.now() - start;
  assert.equal(run.status, 0, run.stderr);
  const records = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const perContext = records.filter((r) => r.context !== undefined);
  assert.equal(perContext.length, 6);
  for (const r of perContext) {
    for (const key of [
      'model',
      'context',
      'train_tokens_per_s',
      'peak_rss_mb',
      'gen_ms_per_token',
      'params',
      'receptive_field',
      'covers_context',
    ])
      assert.ok(key in r, `${key} in ${JSON.stringify(r)}`);
    assert.ok(
      Number(r.train_tokens_per_s) > 0 &&
        Number(r.peak_rss_mb) >= Number(r.baseline_rss_mb) &&
        Number(r.baseline_rss_mb) > 10,
    );
    assert.equal(Number(r.batch) * Number(r.context), 256);
    // Only positions whose timing window (64 tokens) fits in the context are reported with it.
    assert.deepEqual(
      Object.keys(r.gen_ms_per_token as object),
      [4, 40].filter((p) => p + DECODE_WINDOW <= Number(r.context)).map(String),
    );
  }
  assert.ok(perContext.filter((r) => r.model === 'gpt').every((r) => 'attention_gflops' in r));
  // Three pow2 HSM blocks reach offsets 0…7: never the whole context here, and the table says so.
  for (const r of perContext)
    if (r.model === 'mine') assert.ok(r.receptive_field === 8 && r.covers_context === false, JSON.stringify(r));
    else assert.ok(r.receptive_field === r.context && r.covers_context === true, JSON.stringify(r));
  assert.match(run.stderr, /^mine \*/m);
  assert.match(run.stderr, /^\* does not see the whole context/m);
  // Throughput is the tokens of a step over its median time; the speedup is against gpt at the same context.
  const at = (model: string, context: number) => perContext.find((r) => r.model === model && r.context === context)!;
  for (const r of perContext) {
    const tps = Number(r.train_tokens_per_s);
    near(tps, 256 / (Number(r.train_ms_per_step) / 1000), tps * 2e-3, `train_tokens_per_s ${r.model} T=${r.context}`);
    near(r.train_ms_per_token, 1000 / tps, 1e-4, `train_ms_per_token ${r.model} T=${r.context}`);
    assert.ok(Number(r.train_ms_per_step_best) <= Number(r.train_ms_per_step), JSON.stringify(r));
    if (r.model === 'mine') {
      const speedup = tps / Number(at('gpt', Number(r.context)).train_tokens_per_s);
      near(r.train_speedup_vs_baseline, speedup, 1e-3, `speedup at T=${r.context}`);
    }
  }
  // One warm-up and one timed step per model and context, each in its own worker, one after another.
  const stepsMs = perContext.reduce((sum, r) => sum + 2 * Number(r.train_ms_per_step_best), 0);
  assert.ok(stepsMs <= wallMs, `${stepsMs.toFixed(1)} ms of training steps in a run of ${wallMs.toFixed(1)} ms`);
  const exponents = records.filter((r) => r.exponent !== undefined);
  assert.deepEqual(
    exponents.map((r) => [r.model, r.covers_context]),
    [
      ['gpt', true],
      ['mine', false],
    ],
  );
  for (const r of exponents) {
    const model = String(r.model);
    // The exponent is the log-log slope of the time per sequence (step time / batch) against the context.
    const contexts = [32, 64, 128];
    const perSequence = contexts.map((T) => Number(at(model, T).train_ms_per_step) / Number(at(model, T).batch));
    near(r.exponent, logLogSlope(contexts, perSequence), 2e-3, `${model} exponent`);
    const local = r.exponent_by_interval as Record<string, number>;
    assert.deepEqual(Object.keys(local), ['32-64', '64-128']);
    near(local['32-64'], logLogSlope(contexts.slice(0, 2), perSequence.slice(0, 2)), 2e-3, `${model} 32-64`);
    near(local['64-128'], logLogSlope(contexts.slice(1), perSequence.slice(1)), 2e-3, `${model} 64-128`);
    const gen = r.gen_ms_per_token as Record<string, number>;
    assert.deepEqual(Object.keys(gen), ['4', '40']);
    near(r.gen_ratio_last_to_first, gen['40'] / gen['4'], 2e-3 * (gen['40'] / gen['4']), `${model} generation ratio`);
    assert.ok(Number(r.gen_peak_rss_mb) > 10, JSON.stringify(r));
  }
  assert.match(run.stderr, /exponent/); // the table goes to stderr with --json

  const saved = readFileSync(join(out, 'scaling.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(String(saved[0].command).startsWith('hsm bench scaling'));
  assert.equal(saved.length, records.length + 1);
  for (const chart of ['scaling-train.svg', 'scaling-generate.svg']) {
    const svg = readFileSync(join(out, chart), 'utf8');
    assert.match(svg, /^<svg/);
    assert.match(svg, /mark-line/); // the lines were drawn, not just the axes
  }
});

test('hsm bench scaling: {levels} covers every context, matched models have the baseline parameters', () => {
  const run = hsm(
    'bench',
    'scaling',
    '--json',
    '--models',
    'tpp,pair-pp,hybrid-pp,mine=hsm:ab*{levels}/style=transformer++/match=attn*4',
    '--contexts',
    '16,32',
    '--tokens-per-step',
    '64',
    '--n-embd',
    '16',
    '--steps',
    '1',
    '--warmup',
    '0',
    '--fit-from',
    '16',
    '--no-generate',
  );
  assert.equal(run.status, 0, run.stderr);
  const records = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const at = (model: string, context: number) =>
    records.find((r) => r.model === model && r.context === context) as Record<string, unknown>;
  for (const context of [16, 32]) {
    const levels = Math.log2(context);
    assert.equal(at('pair-pp', context).plan, `hsm:pair*${levels}`);
    assert.equal(at('pair-pp', context).n_layer, levels);
    assert.equal(at('mine', context).plan, `hsm:ab*${levels}`);
    const baseline = Number(at('tpp', context).params);
    for (const model of ['pair-pp', 'hybrid-pp', 'mine']) {
      const r = at(model, context);
      assert.equal(r.style, 'transformer++');
      assert.equal(r.matched_to, 'attn*4');
      assert.equal(r.matched_params_target, baseline);
      assert.equal(r.params_matched, true);
      assert.ok(
        Math.abs(Number(r.params) / baseline - 1) < 0.01,
        `${model} at ${context}: ${String(r.params)} vs ${baseline}`,
      );
    }
    for (const model of ['tpp', 'pair-pp', 'hybrid-pp', 'mine'])
      assert.ok(at(model, context).covers_context === true && at(model, context).receptive_field === context);
  }
  const summary = records.find((r) => r.model === 'pair-pp' && r.exponent !== undefined)!;
  assert.equal(summary.plan, 'hsm:pair*{levels}');
  assert.deepEqual(summary.n_layer_by_context, { 16: 4, 32: 5 });
  assert.equal(summary.covers_context, true);
  assert.doesNotMatch(run.stderr, /does not see the whole context/);
});

test('scaling models at d=128: matched to tpp within 1% where the FFN allows, and flagged where not', () => {
  const shape = { nEmbd: 128, nHead: 4, vocabSize: 65 };
  for (const context of [256, 512, 1024, 2048, 4096, 8192]) {
    const facts = (name: string) => resolveScalingModel(SCALING_MODELS[name], { ...shape, context }).facts;
    const tpp = Number(facts('tpp').params);
    for (const name of ['pair-pp', 'hybrid-pp']) {
      const m = facts(name);
      const within = Math.abs(Number(m.params) / tpp - 1) <= 0.01;
      assert.equal(m.matched_params_target, tpp);
      assert.equal(m.params_matched, within, `${name} at ${context}`);
      assert.equal(m.covers_context, true, `${name} at ${context}`);
    }
    assert.equal(facts('hybrid-pp').params_matched, true);
    // ⌈log2 T⌉ pair blocks cost 4C² each, as attention does: past 12 of them (T > 4096) no FFN width matches.
    assert.equal(facts('pair-pp').n_layer, Math.log2(context));
    assert.equal(facts('pair-pp').params_matched, context <= 4096, `pair-pp at ${context}`);
    // The old models' four pow2 blocks reach offsets 0…15 (15 earlier tokens), whatever the context.
    const old = facts('hsm-ab');
    assert.ok(old.receptive_field === 16 && old.covers_context === false);
  }
});

test('scaling table: parameters and receptive field beside each model, unmatched ones marked', () => {
  const summary = (model: string, covers: boolean, matched?: boolean) => ({
    model,
    exponent: 1,
    params_by_context: { 64: 795392 },
    receptive_field_by_context: { 64: covers ? 64 : 16 },
    covers_context: covers,
    ...(matched === undefined ? {} : { params_matched: matched }),
  });
  const row = (model: string) => ({ model, context: 64, train_tokens_per_s: 1000 });
  const table = scalingTable([
    row('tpp'),
    row('old'),
    row('deep'),
    summary('tpp', true),
    summary('old', false),
    summary('deep', true, false),
  ]);
  assert.match(table, /^tpp +795,392 +64 +1000/m);
  assert.match(table, /^old \* +795,392 +16 /m);
  assert.match(table, /^deep † /m);
  assert.match(table, /^\* does not see the whole context/m);
  assert.match(table, /^† not within 1%/m);
});

test('scaling models: a custom plan keeps its commas, modifiers give style and matching', () => {
  assert.deepEqual(parseScalingModels('mine=hsm:conv[k=3,proj]*2,attn/style=transformer++/match=attn*4, gpt'), [
    ['mine', { plan: 'hsm:conv[k=3,proj]*2,attn', style: 'transformer++', matchParams: 'attn*4' }],
    ['gpt', SCALING_MODELS.gpt],
  ]);
  assert.deepEqual(
    parseScalingModels('gpt,hsm-ab,hsm-gated,hybrid-gated').map(([name]) => name),
    ['gpt', 'hsm-ab', 'hsm-gated', 'hybrid-gated'],
  );
});

test('hsm bench scaling: a bad option is a clear error', () => {
  assertUserError(
    hsm('bench', 'scaling', '--contexts', '300', '--tokens-per-step', '1024'),
    /multiple of every context/,
  );
  assertUserError(
    hsm('bench', 'scaling', '--models', 'gpt,transformerXL'),
    /unknown model "transformerXL"; use one of tpp, gpt, pair-pp, hybrid-pp, hsm-ab, hsm-gated, hybrid-gated or name=PLAN/,
  );
  assertUserError(
    hsm('bench', 'scaling', '--models', 'mine=attn*2/style=llama'),
    /model "mine": unknown "\/style=llama"/,
  );
  assertUserError(hsm('bench', 'scaling', '--models', 'mine=hsm:nope*2'), /nope/);
  assertUserError(hsm('bench', 'scaling', '--models', 'gpt,gpt'), /model "gpt" is named twice/);
});
