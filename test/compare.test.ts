// hsm compare: the smoke grid end to end through the CLI, resuming, bad grids,
// recall grids, the study grids, statistics and charts (the MQAR data itself: mqar.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_GRIDS } from '../src/compare/builtin-grids.js';
import { reportCharts } from '../src/compare/charts.js';
import { runCompare } from '../src/compare/compare.js';
import { renderSvg } from '../src/report/chart.js';
import { expandGrid, expandSweep, loadGrid, parseGrid } from '../src/compare/grid.js';
import { stat, type CompareResults, type RunResult } from '../src/compare/results.js';
import { SPEED_NOTE } from '../src/compare/tables.js';
import { UserError } from '../src/errors.js';
import { projectRoot } from '../src/project-root.js';
import { tinyRecallGrid, tinyTextGrid } from './compare-fixtures.js';
import { assertUserError, cli, smallCorpus, tmp } from './helpers.js';

test('hsm compare --grid smoke: every file exists and parses, the report names every model, a second run retrains nothing', () => {
  const out = join(tmp('compare'), 'smoke');
  const first = cli(['compare', '--grid', 'smoke', '--out', out]);
  assert.equal(first.status, 0, first.stderr);
  const grid = loadGrid('smoke');
  const runs = expandGrid(grid, out);
  assert.match(first.stdout, new RegExp(`trained ${runs.length} runs, skipped 0`));

  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as CompareResults;
  assert.equal(results.runs_finished, runs.length);
  assert.equal(results.summary.length, grid.models.length);
  for (const r of results.runs) {
    assert.ok(
      Number.isFinite(r.final_val_loss) && r.final_val_loss < Math.log(65),
      `${r.id} learned something: ${r.final_val_loss}`,
    );
    assert.ok(r.parameters > 0 && r.train_flops_per_token > 0 && r.train_tokens_per_s > 0);
    // The FLOP budget: each model trains as many whole steps of 4×64 tokens as 1.01e10 FLOPs pay for.
    const flopsPerStep = r.train_flops_per_token * 4 * 64;
    assert.equal(r.steps, Math.floor(1.01e10 / flopsPerStep), r.id);
    assert.equal(r.tokens_seen, r.steps * 4 * 64);
    assert.ok(r.train_flops! <= 1.01e10 && r.train_flops! > 1.01e10 - flopsPerStep, `${r.id} spent its budget`);
    assert.equal(r.config.lrDecayIters, r.steps, 'the cosine decay ends with the budget');
    if (r.model === 'gpt') assert.equal(r.steps, 30);
    assert.deepEqual(Object.keys(r.gen_tokens_per_s), ['8', '63']);
    assert.ok(r.curve.length === Math.ceil(r.steps / 10) && r.sample.length > 0, r.id);
  }
  const lossOf = (model: string, seed: number) =>
    results.runs.find((r) => r.model === model && r.seed === seed)!.final_val_loss;
  for (const s of results.summary) {
    assert.equal(s.final_val_loss.n, 2);
    assert.equal(s.vs_baseline === null, s.model === 'gpt');
    if (!s.vs_baseline) continue;
    // The gap's spread pairs the seeds: half the range of (model − GPT) seed by seed.
    const gaps = grid.seeds.map((seed) => lossOf(s.model, seed) - lossOf('gpt', seed));
    assert.ok(Math.abs(s.vs_baseline.final_val_loss_spread! - Math.abs(gaps[0] - gaps[1]) / 2) < 1e-12, s.model);
    assert.ok(Math.abs(s.vs_baseline.final_val_loss - (gaps[0] + gaps[1]) / 2) < 1e-12, s.model);
  }
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const m of grid.models) {
    assert.ok(md.includes(`| ${m.name} |`), `report.md has a row for ${m.name}`);
    assert.ok(html.includes(`<td>${m.name}</td>`), `report.html has a row for ${m.name}`);
  }
  assert.ok(!/<script[^>]+src=/.test(html) && !html.includes('<link'), 'report.html loads nothing from elsewhere');
  assert.ok(
    md.includes(SPEED_NOTE) && html.includes('are timed while each run trained'),
    'the speed columns are flagged',
  );
  for (const chart of ['loss-vs-tokens', 'loss-vs-time', 'loss-vs-flops', 'final-loss']) {
    assert.match(readFileSync(join(out, `${chart}.svg`), 'utf8'), /^<svg[\s\S]*<\/svg>\s*$/, `${chart}.svg`);
    assert.ok(md.includes(`(${chart}.svg)`) && html.includes(`id="chart-${chart}"`), chart);
  }

  // Again: every run is finished, so nothing trains and no run folder changes.
  const stamp = (id: string) => statSync(join(out, 'runs', id, 'model.safetensors')).mtimeMs;
  const before = runs.map((r) => stamp(r.id));
  const second = cli(['compare', '--grid', 'smoke', '--out', out]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`trained 0 runs, skipped ${runs.length} finished earlier`));
  assert.equal((second.stderr.match(/finished earlier, skipped/g) ?? []).length, runs.length);
  assert.deepEqual(
    runs.map((r) => stamp(r.id)),
    before,
  );
  const again = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as CompareResults;
  assert.deepEqual(again.runs, results.runs, 'the same results, read back');
});

test('an interrupted compare resumes the interrupted run and ends where an uninterrupted one does', async () => {
  const root = tmp('compare');
  const grid = parseGrid(tinyTextGrid(smallCorpus(root)), 'tiny');
  const straight = await runCompare(grid, join(root, 'straight'));
  assert.equal(straight.trained.length, 6);

  let abSteps = 0; // stop the second run after its 5th step, as Ctrl-C does
  const cut = await runCompare(grid, join(root, 'cut'), {
    onStep: (run) => void (run.id === 'ab-s1' && abSteps++),
    shouldStop: () => abSteps >= 5,
  });
  assert.ok(cut.stopped);
  assert.deepEqual(cut.trained, ['gpt-s1']);
  assert.ok(existsSync(join(root, 'cut', 'results.json')), 'partial results are written');
  // A report of what has finished trains nothing and leaves the interrupted run where it was.
  const report = await runCompare(grid, join(root, 'cut'), {}, { reportOnly: true });
  assert.deepEqual([report.trained, report.skipped, report.results.runs_finished], [[], ['gpt-s1'], 1]);
  assert.ok(report.files.includes('report.md') && existsSync(join(root, 'cut', 'report.md')));
  await assert.rejects(runCompare(grid, join(root, 'nothing'), {}, { reportOnly: true }), /not a compare folder/);
  await assert.rejects(
    runCompare({ ...grid, name: 'other' }, join(root, 'cut'), {}, { reportOnly: true }),
    /holds grid tiny, not other/,
  );
  const starts: Record<string, number> = {};
  const resumed = await runCompare(grid, join(root, 'cut'), {
    onRunStart: (run, info) => (starts[run.id] = info.startStep),
  });
  assert.deepEqual(resumed.skipped, ['gpt-s1']);
  assert.equal(starts['ab-s1'], 5, 'the interrupted run continued from its checkpoint');
  assert.equal(starts['gated-attn-s1'], 0);
  const losses = (o: typeof straight) => o.results.runs.map((r) => [r.id, r.final_val_loss, r.best_val_loss]);
  assert.deepEqual(losses(resumed), losses(straight));
});

test('bad grids are one-line errors that name the problem', () => {
  const root = tmp('compare');
  const expectError = (args: string[], pattern: RegExp) => assertUserError(cli(args), pattern, args.join(' '));
  expectError(
    ['compare', '--grid', 'smoke', '--out', join(root, 'r'), '--report-only', '--worker'],
    /give one of them/,
  );
  expectError(['compare', '--grid', 'smoke', '--out', join(root, 'r'), '--report-only'], /not a compare folder/);
  expectError(
    ['compare', '--grid', 'papper', '--out', join(root, 'x')],
    // Every built-in grid is named, in order, and the known core ones are among them.
    new RegExp(`unknown grid "papper": not a built-in grid \\(${Object.keys(BUILTIN_GRIDS).join(', ')}\\)`),
  );
  for (const name of ['paper', 'smoke', 'context-study', 'context-sanity', 'recall-bar'])
    assert.ok(name in BUILTIN_GRIDS);
  const file = (name: string, grid: unknown) => {
    const path = join(root, name);
    writeFileSync(path, typeof grid === 'string' ? grid : JSON.stringify(grid));
    return path;
  };
  const good = tinyTextGrid(smallCorpus(root));
  expectError(['compare', '--grid', file('a.json', '{not json'), '--out', join(root, 'x')], /not valid JSON/);
  expectError(
    ['compare', '--grid', file('b.json', { ...good, modles: [] }), '--out', join(root, 'x')],
    /unknown key\(s\) "modles"/,
  );
  expectError(
    ['compare', '--grid', file('c.json', { ...good, models: [{ name: 'x', plan: 'hsm:nope*2' }] })],
    /model x.*unknown mixer "nope"/,
  );
  expectError(
    ['compare', '--grid', file('d.json', { ...good, baseline: 'bert' })],
    /baseline "bert" is not one of its models/,
  );
  expectError(['compare', '--grid', file('e.json', { ...good, train: { ...good.train, lr: -1 } })], /model gpt.*lr/);
  expectError(
    ['compare', '--grid', file('g.json', { ...good, train: { ...good.train, seed: 3 } })],
    /train.seed: a grid sets each run's seed/,
  );
  expectError(
    ['compare', '--grid', file('h.json', { ...good, preset: 'fast' })],
    /grid .*h.json: unknown preset "fast"/,
  );
  expectError(
    ['compare', '--grid', file('f.json', { ...good, models: [good.models[0], good.models[0]] })],
    /"gpt" appears twice/,
  );
});

test('a compare folder refuses a grid that changed under it', async () => {
  const root = tmp('compare');
  const input = tinyTextGrid(smallCorpus(root));
  const small = { ...input, models: input.models.slice(0, 1), seeds: [1] };
  await runCompare(parseGrid(small, 'a'), join(root, 'out'));
  const changed = parseGrid({ ...small, train: { ...small.train, lr: 5e-4 } }, 'b');
  await assert.rejects(
    runCompare(changed, join(root, 'out')),
    (e: unknown) => e instanceof UserError && /other settings \(lr differ/.test(e.message),
  );
  // More seeds on the same grid are fine: the finished run is kept.
  const more = await runCompare(parseGrid({ ...small, seeds: [1, 2] }, 'c'), join(root, 'out'));
  assert.deepEqual([more.skipped, more.trained], [['gpt-s1'], ['gpt-s2']]);
});

test('recall grids: one run per length, plans reach the context, accuracy is recorded', async () => {
  const grid = parseGrid(tinyRecallGrid(), 'tiny-recall');
  const runs = expandGrid(grid, 'out');
  assert.deepEqual(runs.map((r) => r.id).slice(0, 4), ['T16-gpt-s1', 'T16-ab-s1', 'T32-gpt-s1', 'T32-ab-s1']);
  assert.deepEqual(runs.map((r) => r.config.model.plan).slice(0, 4), ['attn*2', 'hsm:ab*4', 'attn*2', 'hsm:ab*5']);
  assert.deepEqual(runs.map((r) => r.config.batchSize).slice(0, 4), [4, 4, 2, 2]);
  const dir = join(tmp('compare'), 'recall');
  const out = await runCompare(grid, dir);
  for (const r of out.results.runs) {
    assert.ok(r.accuracy !== undefined && r.accuracy >= 0 && r.accuracy <= 1, r.id);
    const pairs = r.task === 'T16' ? 2 : 4;
    assert.deepEqual(r.no_recall, { accuracy: 1 / pairs, cross_entropy: Math.log(pairs) }, 'bag of distinct values');
  }
  const report = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(
    report,
    /No recall \(the values in the pairs, not which key holds which\): 50\.0% \(cross-entropy 0\.693\)/,
  );
  assert.match(report, /\| vs no recall \|/);
  const chart = JSON.stringify(reportCharts(out.results).find((c) => c.id === 'accuracy')!.spec);
  assert.match(chart, /"strokeDash"/, 'the accuracy chart draws the no-recall line');
  assert.equal(out.results.summary.length, 4);
  assert.ok(out.files.includes('accuracy.svg'));
  const builtIn = expandGrid(loadGrid('recall-legacy'), 'out');
  assert.ok(
    builtIn.every((r) => r.config.batchSize * r.config.model.blockSize === 2048),
    'equal tokens per step at every length',
  );
  assert.ok(builtIn.some((r) => r.config.model.plan === 'hsm:gated*8,attn'));
});

test('statistics: mean ± half the range', () => {
  assert.deepEqual(stat([1, 2, 4]), { mean: 7 / 3, spread: 1.5, n: 3 });
  assert.deepEqual(stat([2]), { mean: 2, spread: 0, n: 1 });
});

test('the study grids: the context sweep keeps 2048 tokens a step at every context, the FFN sweep sets each width', () => {
  for (const run of expandGrid(loadGrid('context-sweep'), '/tmp/x')) {
    const T = Number(/-(\d+)-s\d+$/.exec(run.id)![1]);
    assert.equal(run.config.model.blockSize, T, run.id);
    assert.equal(run.config.batchSize * T, 2048, run.id);
    assert.equal(run.config.budget?.flops, 1.6e13);
  }
  const widths = expandGrid(loadGrid('ffn-sweep'), '/tmp/x')
    .filter((r) => r.seed === 1337)
    .map((r) => [r.model, r.config.model.ffnHidden ?? null, r.config.maxIters, r.config.budget ?? null]);
  assert.deepEqual(widths.slice(0, 3), [
    ['gpt', null, 614, null],
    ['ab-ffn1x', 512, 614, null],
    ['ab-ffn2x', 1024, 614, null],
  ]);
  assert.throws(
    () => parseGrid({ models: [{ name: 'a', plan: 'attn*2', train: { seed: 3 } }], seeds: [1] }, 'g'),
    /model a: train\.seed: a grid sets each run's seed itself/,
  );
});

test('charts of loss against parameters and training FLOPs appear when the models differ in size (the FFN sweep), and render', async () => {
  const load = (name: string) =>
    JSON.parse(readFileSync(join(projectRoot(), 'docs', 'results', 'long', name), 'utf8')) as CompareResults;
  const sweep = reportCharts(load('results-ffn-sweep.json'));
  const ids = sweep.map((c) => c.id);
  assert.ok(ids.includes('loss-vs-parameters') && ids.includes('loss-vs-train-flops'), ids.join(', '));
  for (const chart of sweep.filter((c) => c.id.startsWith('loss-vs-p') || c.id.startsWith('loss-vs-train'))) {
    const svg = await renderSvg(chart.spec);
    assert.ok((svg.match(/aria-roledescription="point"/g) ?? []).length >= 18, `${chart.id}: one point per run`);
  }
  // The long grid's models are parameter-matched: no such charts there.
  const matched = reportCharts(load('results.json')).map((c) => c.id);
  assert.ok(!matched.includes('loss-vs-parameters'), matched.join(', '));
});

test("the recall grids train on Zoology's protocol: 256 sequences a step, β2 0.999, no clipping, a stop at 99%, each model at four learning rates per length", () => {
  for (const name of ['recall-bar', 'recall', 'recall-heads']) {
    const grid = loadGrid(name);
    const runs = expandSweep(grid, 'out');
    for (const { config: c, recall } of runs) {
      assert.ok(c.batchSize * c.gradAccum >= 256, `${name}: ${c.batchSize}×${c.gradAccum}`);
      assert.deepEqual([c.beta2, c.gradClip, c.stopAtAccuracy, c.warmupIters, c.minLr], [0.999, 0, 0.99, 0, 0]);
      assert.equal(c.model.nHead, 1);
      assert.equal(recall!.vocabSize, 8192);
      assert.equal(recall!.pairs, recall!.context / 16, "Zoology's pairs per length");
      assert.equal(recall!.generator, 'zoology');
    }
    const lrs = new Map<string, Set<number>>();
    for (const r of runs)
      lrs.set(`${r.task} ${r.model}`, (lrs.get(`${r.task} ${r.model}`) ?? new Set()).add(r.config.lr));
    assert.equal(lrs.size, grid.models.length * grid.recall!.lengths.length);
    for (const [model, set] of lrs) assert.ok(set.size >= 4, `${name}: ${model} at ${set.size} learning rates`);
  }
  const bar = expandSweep(loadGrid('recall-bar'), 'out');
  assert.deepEqual([...new Set(bar.map((r) => r.task))], ['T128', 'T256']);
  assert.deepEqual([bar[0].config.model.plan, bar[0].config.model.positions], ['hsm:conv,attn', false]);
});

test('loss by position: the largest budget every model has reached, not a larger one only some have', async () => {
  const { positionChart } = await import('../src/compare/study-charts.js');
  const run = (model: string, task: string, flops: number, loss: number) =>
    ({ model, task, train_flops: flops, val_loss_by_position: [{ from: 0, to: 1, loss }] }) as unknown as RunResult;
  const results = {
    grid: { models: [{ name: 'a' }, { name: 'b' }] },
    runs: [run('a', 'x 1e13', 1e13, 2), run('b', 'x 1e13', 1e13, 3), run('a', 'x 2e13', 2e13, 1)],
  } as unknown as CompareResults;
  assert.match(positionChart(results)!.title, /\(x 1e13;/);
  results.runs.push(run('b', 'x 2e13', 2e13, 1.5));
  assert.match(positionChart(results)!.title, /\(x 2e13;/);
});

test('the gap chart: model minus baseline seed by seed at each budget, and it renders', async () => {
  const { gapChart, gapPoints } = await import('../src/compare/gap-chart.js');
  const run = (model: string, flops: number, seed: number, loss: number) =>
    ({ model, task: `x ${flops}`, seed, train_flops: flops, final_val_loss: loss }) as unknown as RunResult;
  const results = {
    grid: { baseline: 'base', models: [{ name: 'base' }, { name: 'm' }] },
    runs: [
      run('base', 1e13, 1, 2.0),
      run('base', 1e13, 2, 2.2),
      run('m', 1e13, 1, 1.9),
      run('m', 1e13, 2, 2.0), // gaps −0.1 and −0.2: paired by seed, not −0.15 ± the seeds' own spread
      run('m', 1e13, 3, 1.0), // no baseline run with seed 3: left out
      run('base', 2e13, 1, 1.5),
      run('m', 2e13, 1, 1.45),
    ],
  } as unknown as CompareResults;
  const points = gapPoints(results);
  assert.deepEqual(
    points.map((p) => [p.model, p.flops, Number(p.gap.toFixed(6)), Number(p.min.toFixed(6)), p.seeds]),
    [
      ['m', 1e13, -0.15, -0.2, 2],
      ['m', 2e13, -0.05, -0.05, 1],
    ],
  );
  const chart = gapChart(results)!;
  assert.match(chart.title, /minus base's at the same budget/);
  assert.match(await renderSvg(chart.spec), /^<svg[\s\S]*<\/svg>\s*$/);
  assert.equal(
    gapChart({ ...results, runs: results.runs.slice(0, 5) } as CompareResults),
    null,
    'one budget: no chart',
  );
});

test('a run whose warm-up is a fraction of fixed steps (no budget) resumes after an interrupt, and its finished result is kept', async () => {
  const root = tmp('compare');
  const input = tinyTextGrid(smallCorpus(root));
  const grid = parseGrid(
    {
      ...input,
      train: { ...input.train, warmupFraction: 0.25, warmupIters: 2 },
      models: input.models.slice(0, 1),
      seeds: [1],
    },
    'fraction',
  );
  const out = join(root, 'fraction');
  let steps = 0;
  const cut = await runCompare(grid, out, { onStep: () => void steps++, shouldStop: () => steps >= 5 });
  assert.ok(cut.stopped);
  const starts: number[] = [];
  const resumed = await runCompare(grid, out, { onRunStart: (_run, info) => void starts.push(info.startStep) });
  assert.deepEqual([starts, resumed.trained], [[5], ['gpt-s1']], 'the interrupted run continued from its checkpoint');
  const again = await runCompare(grid, out);
  assert.deepEqual([again.trained, again.skipped], [[], ['gpt-s1']]);
  const straight = await runCompare(grid, join(root, 'straight'));
  assert.equal(resumed.results.runs[0].final_val_loss, straight.results.runs[0].final_val_loss);
});
