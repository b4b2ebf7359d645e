// A model may name its own baseline (e.g. the attention model at the same context): the results table compares
// it with that one, seed by seed, and says which; the grid's baseline stays the default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGrid } from '../src/compare/grid.js';
import { summarize, type RunResult } from '../src/compare/results.js';
import { baselineLine, summaryTables } from '../src/compare/tables.js';
import { UserError } from '../src/errors.js';

const GRID = {
  train: { data: 'sotu', maxIters: 10 },
  models: [
    { name: 'attn-256', plan: 'attn*2', model: { blockSize: 256 } },
    { name: 'hsm-256', plan: 'hsm:ab*8', model: { blockSize: 256 } },
    { name: 'attn-512', plan: 'attn*2', model: { blockSize: 512 } },
    { name: 'hsm-512', plan: 'hsm:ab*9', model: { blockSize: 512 }, baseline: 'attn-512' },
  ],
  seeds: [1, 2],
};

/** A finished run with what the summary reads. */
const run = (model: string, seed: number, loss: number) =>
  ({
    id: `${model}-s${seed}`,
    task: 'sotu',
    model,
    seed,
    plan: 'p',
    parameters: 1,
    train_flops_per_token: 1,
    steps: 10,
    train_flops: 10,
    tokens_seen: 10,
    final_val_loss: loss,
    best_val_loss: loss,
    train_tokens_per_s: 1,
    wall_time_s: 1,
    gen_tokens_per_s: {},
  }) as unknown as RunResult;

const RUNS = [
  run('attn-256', 1, 2.0),
  run('attn-256', 2, 2.2),
  run('hsm-256', 1, 1.9),
  run('hsm-256', 2, 2.0),
  run('attn-512', 1, 1.5),
  run('attn-512', 2, 1.7),
  run('hsm-512', 1, 1.6),
  run('hsm-512', 2, 1.9),
];

test('a model that names its own baseline is compared with it, seed by seed; the others with the grid baseline', () => {
  const grid = parseGrid(GRID, 'own-baselines');
  const summary = summarize(grid, RUNS);
  const vs = Object.fromEntries(summary.map((s) => [s.model, s.vs_baseline]));
  assert.equal(vs['attn-256'], null);
  assert.equal(vs['hsm-256']!.model, 'attn-256');
  assert.ok(Math.abs(vs['hsm-256']!.final_val_loss - -0.15) < 1e-12);
  assert.equal(vs['attn-512']!.model, 'attn-256');
  // hsm-512 against attn-512: gaps +0.1 and +0.2 by seed, so +0.15 ± 0.05 (not against attn-256: −0.35).
  assert.equal(vs['hsm-512']!.model, 'attn-512');
  assert.ok(Math.abs(vs['hsm-512']!.final_val_loss - 0.15) < 1e-12);
  assert.ok(Math.abs(vs['hsm-512']!.final_val_loss_spread! - 0.05) < 1e-12);

  const results = { grid, summary } as unknown as Parameters<typeof summaryTables>[0];
  const [table] = summaryTables(results);
  const column = table.header.indexOf('vs baseline');
  assert.ok(column > 0, table.header.join(' | '));
  const cell = (model: string) => table.rows.find((r) => r[0] === model)![column];
  assert.equal(cell('hsm-512'), '+0.150 ± 0.050 (+9.4%) vs attn-512');
  assert.equal(cell('hsm-256'), '−0.150 ± 0.050 (−7.1%) vs attn-256');
  assert.equal(cell('attn-256'), '—');
  assert.match(baselineLine(results), /^attn-256, except for 1 model that name/);
});

test('without own baselines the column keeps the grid baseline in its header', () => {
  const models = GRID.models.map(({ baseline: _b, ...m }) => m);
  const grid = parseGrid({ ...GRID, models }, 'one-baseline');
  const results = { grid, summary: summarize(grid, RUNS) } as unknown as Parameters<typeof summaryTables>[0];
  const [table] = summaryTables(results);
  assert.ok(table.header.includes('vs attn-256'));
  assert.equal(
    table.rows.find((r) => r[0] === 'hsm-512')![table.header.indexOf('vs attn-256')],
    '−0.350 ± 0.050 (−16.7%)',
  );
  assert.equal(baselineLine(results), 'attn-256');
});

test('an own baseline must be another model of the grid', () => {
  const withBaseline = (baseline: string) => GRID.models.map((m) => (m.name === 'hsm-512' ? { ...m, baseline } : m));
  assert.throws(
    () => parseGrid({ ...GRID, models: withBaseline('gpt-512') }, 'bad'),
    (e: unknown) =>
      e instanceof UserError && /model hsm-512: baseline "gpt-512" is not one of its models/.test(e.message),
  );
  assert.throws(
    () => parseGrid({ ...GRID, models: withBaseline('hsm-512') }, 'bad'),
    (e: unknown) =>
      e instanceof UserError && /model hsm-512: baseline: a model is not compared with itself/.test(e.message),
  );
});
