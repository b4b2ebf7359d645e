// A grid's settings sweep and compute budgets: the pick is the lowest final validation loss of each
// family, diverged combinations never win, the pick carries into every budget, and a budget run
// that would repeat a sweep run is that run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompare } from '../src/compare/compare.js';
import { expandGrid, expandSweep, parseGrid, type GridInput } from '../src/compare/grid.js';
import type { CompareResults, RunResult } from '../src/compare/results.js';
import { pickSettings } from '../src/compare/sweep.js';
import { UserError } from '../src/errors.js';
import { tmp } from './helpers.js';

const GRID: GridInput = {
  description: 'sweep test grid',
  train: {
    data: 'sotu',
    model: { nHead: 2, nEmbd: 16, blockSize: 16 },
    batchSize: 2,
    warmupFraction: 0.1,
    evalInterval: 5,
    evalIters: 2,
    logInterval: 5,
    checkpointInterval: 100,
  },
  models: [
    { name: 'gpt', plan: 'attn*2' },
    { name: 'ab', plan: 'hsm:ab*4', family: 'hsm' },
    { name: 'ab-pp', plan: 'hsm:ab*4', model: { style: 'transformer++' }, family: 'hsm' },
  ],
  sweep: { lr: [3e-4, 3e-3], batchSize: [2, 3], train: { budget: { flops: 2e8 } } },
  budgets: [{ flops: 2e8 }, { flops: 4e8, seeds: [1, 2] }],
  seeds: [1],
  eval: { decodePositions: [4], decodeRepeats: 1, sampleTokens: 0 },
};

/** A finished sweep run's result with just what picking reads. */
const fake = (id: string, loss: number, diverged?: string) =>
  ({ id, seed: 1, final_val_loss: loss, steps: 10, train_flops: 1, diverged }) as unknown as RunResult;

test('pickSettings keeps each family its lowest final loss, never a diverged one, and waits for the whole family', () => {
  const grid = parseGrid(GRID, 'sweep');
  const runs = expandSweep(grid, '/x');
  assert.equal(runs.length, 3 * 2 * 2);
  const results = new Map<string, RunResult>();
  runs.forEach((r, i) => results.set(r.id, fake(r.id, 3 - i * 0.01)));
  // the lowest loss of family hsm is its last run; make it diverge: the one before wins
  const hsm = runs.filter((r) => r.sweep!.family === 'hsm');
  results.set(hsm.at(-1)!.id, fake(hsm.at(-1)!.id, NaN, 'diverged'));
  const { picks, rows } = pickSettings(runs, results);
  const want = hsm.at(-2)!;
  assert.deepEqual(picks.get('hsm'), {
    model: want.model,
    lr: want.sweep!.lr,
    minLr: want.sweep!.minLr,
    batchSize: want.sweep!.batchSize,
  });
  assert.equal(rows.filter((r) => r.picked).length, 2);
  assert.equal(rows.find((r) => r.diverged)?.final_val_loss, null);
  // one gpt run missing: gpt has no pick yet, hsm keeps its own
  results.delete(runs[0].id);
  const partial = pickSettings(runs, results);
  assert.ok(!partial.picks.has('gpt'));
  assert.ok(partial.picks.has('hsm'));
});

test('a grid with a sweep expands only picked families, with the picked settings and minLr = lr × minLrFraction', () => {
  const grid = parseGrid(GRID, 'sweep');
  const runs = expandGrid(
    grid,
    '/x',
    new Map([['hsm', { model: 'ab-pp', lr: 3e-3, minLr: 3e-3 * 0.1, batchSize: 3 }]]),
  );
  assert.deepEqual(
    runs.map((r) => r.id),
    ['sweep-ab-pp-lr3e-3-b3-s1', 'ab-pp-f4e8-s1', 'ab-pp-f4e8-s2'],
  );
  for (const r of runs) assert.deepEqual([r.config.lr, r.config.minLr, r.config.batchSize], [3e-3, 3e-3 * 0.1, 3]);
  assert.deepEqual(
    runs.map((r) => r.task),
    ['sotu 2e8', 'sotu 4e8', 'sotu 4e8'],
  );
  assert.throws(() => parseGrid({ ...GRID, sweep: { ...GRID.sweep!, lr: [] } }, 'bad'), UserError);
});

test("a model's sweepLr replaces the sweep's learning rates for that model only", () => {
  const models = GRID.models.map((m) => (m.name === 'ab' ? { ...m, sweepLr: [3e-4, 3e-3, 3e-2] } : m));
  const runs = expandSweep(parseGrid({ ...GRID, models }, 'own-lr'), '/x');
  const lrsOf = (model: string) => [...new Set(runs.filter((r) => r.model === model).map((r) => r.sweep!.lr))];
  assert.deepEqual(lrsOf('ab'), [3e-4, 3e-3, 3e-2]);
  assert.deepEqual(lrsOf('gpt'), [3e-4, 3e-3]);
  assert.ok(runs.some((r) => r.id === 'sweep-ab-lr3e-2-b3-s1'));
  assert.equal(runs.length, 2 * (2 + 3 + 2));
  const noSweep = { ...GRID, sweep: undefined, budgets: undefined, models };
  assert.throws(() => parseGrid(noSweep, 'x'), /model ab: sweepLr needs the grid's "sweep"/);
  // Without sweep.lr, every model brings its own; one that does not is named.
  const { lr: _lr, ...sweepWithoutLr } = GRID.sweep!;
  assert.throws(
    () => parseGrid({ ...GRID, models, sweep: sweepWithoutLr }, 'no-lr'),
    /sweep\.lr: give the learning rates to try, or a sweepLr to each model \(missing for gpt, /,
  );
  const allOwn = GRID.models.map((m) => ({ ...m, sweepLr: [1e-3] }));
  const ownOnly = expandSweep(parseGrid({ ...GRID, models: allOwn, sweep: sweepWithoutLr }, 'own-only'), '/x');
  assert.deepEqual([...new Set(ownOnly.map((r) => r.sweep!.lr))], [1e-3]);
  assert.throws(() => parseGrid({ ...GRID, models: [{ ...GRID.models[0], sweepLr: [-1] }] }, 'x'), UserError);
});

test('hsm compare runs the sweep, then each family at every budget with its pick (two workers share it)', async () => {
  const out = join(tmp('sweep'), 'grid');
  const grid = parseGrid(GRID, 'sweep');
  const [a, b] = await Promise.all([
    runCompare(grid, out, {}, { worker: true, pollSeconds: 0.2 }),
    runCompare(grid, out, {}, { worker: true, pollSeconds: 0.2 }),
  ]);
  const sweepRuns = expandSweep(grid, out);
  const budgetOnly = 2; // per family: 2 seeds at 4e8, and none at 2e8, which is the picked sweep run
  assert.equal(new Set([...a.trained, ...b.trained]).size, sweepRuns.length + 2 * budgetOnly);
  assert.equal(a.trained.filter((id) => b.trained.includes(id)).length, 0, 'no run trained twice');
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as CompareResults;
  for (const family of ['gpt', 'hsm']) {
    const rows = results.sweep!.filter((r) => r.family === family);
    const best = rows.reduce((x, y) => (y.final_val_loss! < x.final_val_loss! ? y : x));
    assert.ok(best.picked, `${family}: the lowest final loss is the pick`);
    const mine = results.runs.filter((r) => r.model === best.model);
    assert.equal(mine.length, 3);
    for (const r of mine) assert.deepEqual([r.config.lr, r.config.batchSize], [best.lr, best.batchSize]);
    const sweepId = `sweep-${best.model}-lr${best.lr === 3e-3 ? '3e-3' : '3e-4'}-b${best.batchSize}-s1`;
    assert.ok(!existsSync(join(out, 'runs', `${best.model}-f2e8-s1`)), 'the smallest budget reuses the sweep run');
    assert.equal(mine.find((r) => r.task === 'sotu 2e8')?.config.out, join(out, 'runs', sweepId));
  }
  assert.deepEqual([...new Set(results.summary.map((s) => s.task))], ['sotu 2e8', 'sotu 4e8']);
  for (const r of results.runs) {
    // the final loss is the final model on 400 validation windows, and its buckets by position average to it
    const b = r.val_loss_by_position!;
    assert.equal(
      b.reduce((s, x) => s + x.tokens, 0),
      400 * 16,
    );
    const mean = b.reduce((s, x) => s + x.loss * x.tokens, 0) / (400 * 16);
    assert.ok(Math.abs(mean - r.final_val_loss) < 1e-9, r.id);
  }
});

test('the context study: 82 sweep runs (HSM also at lr 8e-3, the hybrids and gated at 1.6e-2), every model covers context 512 and matches its style’s GPT within 1%', async () => {
  const { loadGrid } = await import('../src/compare/grid.js');
  const { describeModel, modelShapes } = await import('../src/model/cost.js');
  const { resolveModelConfig } = await import('../src/train/config.js');
  const grid = loadGrid('context-study');
  const sweep = expandSweep(grid, '/x');
  assert.equal(sweep.length, 2 * 4 * 2 + 2 * 5 * 2 + 2 * 6 * 2 + 6 * 2 + 5 * 2);
  // The screened mixers compete in the pure HSM family, in the Transformer++ block.
  for (const name of ['gated-pp', 'ab-proj-pp']) {
    const run = sweep.find((r) => r.model === name)!;
    assert.deepEqual(
      [run.config.model.style, run.config.model.plan],
      ['transformer++', `hsm:${name === 'gated-pp' ? 'gated' : 'ab[proj]'}*9`],
    );
  }
  const size = (run: (typeof sweep)[number]) => describeModel(modelShapes(resolveModelConfig(run.config.model, 100)));
  const gptOf = {
    gpt2: size(sweep.find((r) => r.model === 'gpt')!),
    'transformer++': size(sweep.find((r) => r.model === 'tpp')!),
  };
  for (const run of sweep) {
    const r = size(run);
    assert.ok(r.coversContext && r.receptiveField >= 512, `${run.model} covers the context`);
    const style = run.config.model.style ?? 'gpt2';
    assert.equal(r.style, style);
    const target = gptOf[style].parameters;
    assert.ok(Math.abs(r.parameters - target) / target < 0.01, `${run.model}: ${r.parameters} vs ${target}`);
  }
  const budgets = expandGrid(
    grid,
    '/x',
    new Map(
      ['gpt', 'tpp', 'hsm', 'hybrid'].map((f) => [
        f,
        { model: f === 'hsm' ? 'pair' : f === 'hybrid' ? 'hybrid' : f, lr: 1e-3, minLr: 1e-3 * 0.1, batchSize: 4 },
      ]),
    ),
  );
  assert.equal(budgets.length, 4 * (2 + 2 + 2 + 3));
});

test("the finer sweep trains the context study's Transformer++-block sweep runs at other learning rates only", async () => {
  const { loadGrid } = await import('../src/compare/grid.js');
  const study = expandSweep(loadGrid('context-study'), '/x');
  const fine = expandSweep(loadGrid('context-lr-fine'), '/x');
  assert.equal(fine.length, 9);
  const picks: Record<string, number> = { tpp: 2e-3, 'pair-pp': 2e-3, 'hybrid-pp': 8e-3 };
  for (const run of fine) {
    const pick = study.find(
      (r) => r.model === run.model && r.config.lr === picks[run.model] && r.config.batchSize === 4,
    )!;
    const ratio = run.config.lr / pick.config.lr;
    // The neighbours are rounded (2e-3 / √2 = 1.414e-3 is written 1.4e-3): ratios within 1.5% of √2.
    assert.ok(
      [1, Math.SQRT2, Math.SQRT1_2].some((x) => Math.abs(ratio - x) < 0.02),
      `${run.id}: ×${ratio}`,
    );
    assert.ok(Math.abs(run.config.minLr - run.config.lr / 10) < 1e-12, run.id);
    if (ratio === 1)
      assert.deepEqual({ ...run.config, out: '' }, { ...pick.config, out: '' }, `${run.id} repeats ${pick.id}`);
    const rest = (c: typeof run.config) => ({ ...c, lr: 0, minLr: 0, out: '' });
    assert.deepEqual(rest(run.config), rest(pick.config), `${run.id} trains as ${pick.id} but for its lr`);
  }
  // Whichever run a family picks, its pick is that sweep run: the grid trains nothing more.
  const familyPicks = new Map(
    ['tpp', 'hsm', 'hybrid'].map((family, i) => {
      const r = fine[3 * i + 2];
      return [family, { model: r.model, lr: r.config.lr, minLr: r.config.minLr, batchSize: 4 }];
    }),
  );
  const runs = expandGrid(loadGrid('context-lr-fine'), '/x', familyPicks, fine);
  assert.deepEqual(
    runs.map((r) => r.id),
    [fine[2].id, fine[5].id, fine[8].id],
  );
});

test("the batch edge trains each family's pick with 2 windows a step, at its learning rate and half of it", async () => {
  const { loadGrid } = await import('../src/compare/grid.js');
  const study = expandSweep(loadGrid('context-study'), '/x');
  const edge = expandSweep(loadGrid('context-batch-edge'), '/x');
  const picks: Record<string, number> = { gpt: 2e-3, tpp: 2e-3, 'gated-pp': 4e-3, 'hybrid-pp': 8e-3 };
  assert.deepEqual(
    edge.map((r) => `${r.model} ${r.config.lr} ${r.config.batchSize}`).sort(),
    Object.entries(picks)
      .flatMap(([m, lr]) => [`${m} ${lr / 2} 2`, `${m} ${lr} 2`])
      .sort(),
  );
  for (const run of edge) {
    const pick = study.find(
      (r) => r.model === run.model && r.config.lr === picks[run.model] && r.config.batchSize === 4,
    )!;
    const rest = (c: typeof run.config) => ({ ...c, lr: 0, minLr: 0, batchSize: 0, out: '' });
    assert.deepEqual(rest(run.config), rest(pick.config), `${run.id} trains as ${pick.id} but for its lr and batch`);
    assert.ok(Math.abs(run.config.minLr - run.config.lr / 10) < 1e-12, run.id);
  }
});

test('context use: 4 windows a step and equal steps at every context, each model covering its context', async () => {
  const { loadGrid } = await import('../src/compare/grid.js');
  const { describeModel, modelShapes } = await import('../src/model/cost.js');
  const { resolveModelConfig } = await import('../src/train/config.js');
  const runs = expandGrid(loadGrid('context-use'), '/x');
  assert.equal(runs.length, 3 * 4 * 2);
  for (const run of runs) {
    const T = run.config.model.blockSize;
    assert.ok([256, 512, 1024, 2048].includes(T) && run.model.endsWith(`-${T}`), run.id);
    assert.deepEqual([run.config.batchSize, run.config.maxIters], [4, 1226], run.id);
    assert.equal(run.config.minLr, run.config.lr / 10);
    const shape = describeModel(modelShapes(resolveModelConfig(run.config.model, 100)));
    assert.ok(shape.coversContext && shape.receptiveField >= T, `${run.id} covers its context`);
  }
  const plansAt = (T: number) => runs.filter((r) => r.config.model.blockSize === T).map((r) => r.config.model.plan);
  assert.ok(plansAt(2048).includes('hsm:pair*11') && plansAt(256).includes('hsm:pair*8'));
});

/** A recall grid with a learning-rate sweep: picked per length, by accuracy. */
const RECALL_GRID: GridInput = {
  description: 'recall sweep test grid',
  train: {
    model: { nHead: 1, nEmbd: 16 },
    batchSize: 4,
    maxIters: 8,
    warmupIters: 0,
    evalInterval: 4,
    evalIters: 2,
    logInterval: 4,
    checkpointInterval: 100,
  },
  recall: { vocabSize: 32, lengths: [{ context: 16, pairs: 2 }, { context: 32 }], heldOutSequences: 8 },
  models: [{ name: 'gpt', plan: 'attn*2' }],
  sweep: { lr: [1e-3, 1e-2], minLrFraction: 0 },
  seeds: [1, 2],
  eval: { sampleTokens: 0, decodeRepeats: 1 },
};

test('a recall sweep picks per length by accuracy, and the first seed’s run is the picked sweep run', async () => {
  const grid = parseGrid(RECALL_GRID, 'recall-sweep');
  const sweepRuns = expandSweep(grid, '/x');
  assert.deepEqual(
    sweepRuns.map((r) => r.id),
    [
      'sweep-T16-gpt-lr1e-3-b4-s1',
      'sweep-T16-gpt-lr1e-2-b4-s1',
      'sweep-T32-gpt-lr1e-3-b4-s1',
      'sweep-T32-gpt-lr1e-2-b4-s1',
    ],
  );
  assert.equal(sweepRuns[2].recall!.pairs, 2, "context 32 defaults to Zoology's context / 16 pairs");
  // At T16 the higher accuracy wins although its loss is worse; at T32 equal accuracies fall to the lower loss.
  const scored = (id: string, accuracy: number, loss: number) =>
    ({ id, seed: 1, accuracy, final_val_loss: loss, steps: 8, train_flops: 1 }) as unknown as RunResult;
  const results = new Map<string, RunResult>([
    [sweepRuns[0].id, scored(sweepRuns[0].id, 0.9, 0.5)],
    [sweepRuns[1].id, scored(sweepRuns[1].id, 0.2, 0.1)],
    [sweepRuns[2].id, scored(sweepRuns[2].id, 0.5, 0.9)],
    [sweepRuns[3].id, scored(sweepRuns[3].id, 0.5, 0.4)],
  ]);
  const { picks, rows } = pickSettings(sweepRuns, results);
  assert.deepEqual([picks.get('gpt @ T16')?.lr, picks.get('gpt @ T32')?.lr], [1e-3, 1e-2]);
  assert.deepEqual(
    rows.map((r) => [r.task, r.accuracy, r.picked]),
    [
      ['T16', 0.9, true],
      ['T16', 0.2, false],
      ['T32', 0.5, false],
      ['T32', 0.5, true],
    ],
  );
  const runs = expandGrid(grid, '/x', picks);
  assert.deepEqual(
    runs.map((r) => r.id),
    ['sweep-T16-gpt-lr1e-3-b4-s1', 'sweep-T32-gpt-lr1e-2-b4-s1', 'T16-gpt-s2', 'T32-gpt-s2'],
    'seed 1 is the sweep run; seed 2 trains the pick',
  );
  assert.deepEqual(
    runs.map((r) => r.config.lr),
    [1e-3, 1e-2, 1e-3, 1e-2],
  );
  // End to end: the sweep, then seed 2 at each length's pick.
  const out = join(tmp('recall-sweep'), 'grid');
  const done = await runCompare(grid, out);
  const written = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as CompareResults;
  assert.equal(done.trained.length, 4 + 2, 'four sweep runs, then seed 2 at each length');
  assert.ok(written.sweep!.every((r) => r.task !== undefined && typeof r.accuracy === 'number'));
  for (const task of ['T16', 'T32']) {
    const picked = written.sweep!.find((r) => r.task === task && r.picked)!;
    const best = Math.max(...written.sweep!.filter((r) => r.task === task).map((r) => r.accuracy!));
    assert.equal(picked.accuracy, best, `${task}: the most accurate learning rate is the pick`);
    const mine = written.runs.filter((r) => r.task === task);
    assert.deepEqual(
      mine.map((r) => [r.seed, r.config.lr]),
      [
        [1, picked.lr],
        [2, picked.lr],
      ],
    );
  }
  assert.ok(written.runs.every((r) => r.no_recall !== undefined && r.accuracy !== undefined));
});
