// The report's charts as Vega-Lite specs, built from results.json alone.
import type { ChartSpec } from '../report/chart.js';
import { SCHEMA, type NamedChart } from './named-chart.js';
import type { CompareResults, RunResult } from './results.js';
import { gapChart } from './gap-chart.js';
import { computeCurveChart, levelLayers, levelRows, positionChart } from './study-charts.js';

export type { NamedChart } from './named-chart.js';

interface MeanPoint {
  task: string;
  model: string;
  step: number;
  tokens: number;
  elapsed_s: number;
  flops: number;
  val_loss: number;
}

/** Learning curves averaged over seeds at each evaluated step (every seed evaluates at the same steps). */
export function meanCurves(runs: RunResult[]): MeanPoint[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    const key = `${r.task}\u0000${r.model}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const points: MeanPoint[] = [];
  for (const rs of groups.values()) {
    for (const p of rs[0].curve) {
      const same = rs.map((r) => r.curve.find((q) => q.step === p.step)).filter((q) => q !== undefined);
      const mean = (f: (q: (typeof same)[number]) => number) => same.reduce((s, q) => s + f(q), 0) / same.length;
      points.push({
        task: rs[0].task,
        model: rs[0].model,
        step: p.step,
        tokens: p.tokens,
        flops: p.flops,
        elapsed_s: mean((q) => q.elapsed_s),
        val_loss: mean((q) => q.val_loss),
      });
    }
  }
  return points;
}

const AXES = {
  tokens: {
    id: 'loss-vs-tokens',
    title: 'Validation loss against training tokens',
    axis: 'training tokens',
    log: false,
  },
  elapsed_s: {
    id: 'loss-vs-time',
    title: 'Validation loss against training wall time',
    axis: 'wall time (s)',
    log: false,
  },
  flops: {
    id: 'loss-vs-flops',
    title: 'Validation loss against training FLOPs',
    axis: 'training FLOPs (log scale)',
    log: true,
  },
} as const;

/** Faceted by task when a grid has several (the recall lengths), a single panel otherwise. */
function perTask(
  results: CompareResults,
  values: object[],
  inner: Record<string, unknown>,
  title: string,
  independent: ('x' | 'y')[] = ['x', 'y'],
): ChartSpec {
  const tasks = [...new Set(results.runs.map((r) => r.task))];
  if (tasks.length <= 1) return { $schema: SCHEMA, title, data: { values }, ...inner } as ChartSpec;
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    facet: { column: { field: 'task', type: 'ordinal', sort: tasks, title: null } },
    spec: inner,
    resolve: { scale: Object.fromEntries(independent.map((axis) => [axis, 'independent'])) },
  } as unknown as ChartSpec; // built from plain objects; Vega-Lite's compiler validates it
}

function modelColor(results: CompareResults): Record<string, unknown> {
  return {
    field: 'model',
    type: 'nominal',
    sort: results.grid.models.map((m) => m.name),
    scale: { scheme: 'tableau20' },
    title: 'model',
  };
}

export function lossChart(results: CompareResults, x: keyof typeof AXES): NamedChart {
  const a = AXES[x];
  const inner = {
    width: 520,
    height: 300,
    mark: { type: 'line', point: { size: 18 }, strokeWidth: 1.5 },
    encoding: {
      x: {
        field: x,
        type: 'quantitative',
        title: a.axis,
        ...(a.log ? { scale: { type: 'log' } } : {}),
        ...(x === 'elapsed_s' ? {} : { axis: { format: '.2~s' } }),
      },
      y: { field: 'val_loss', type: 'quantitative', title: 'validation loss', scale: { zero: false } },
      color: modelColor(results),
      tooltip: [
        { field: 'model' },
        { field: 'step' },
        { field: 'val_loss', format: '.4f' },
        { field: x, format: ',.3~s' },
      ],
    },
  };
  const levels = levelRows(results);
  const recall = noRecallRows(
    results,
    (b) => b.cross_entropy,
    (x) => x.toFixed(3),
  );
  if (levels.length === 0 && recall.length === 0)
    return { id: a.id, title: a.title, spec: perTask(results, meanCurves(results.runs), inner, a.title) };
  // Text tasks: the n-gram levels as dashed lines under the curves (one corpus, so every panel gets the same);
  // recall tasks: each length's no-recall cross-entropy in its own panel.
  const tasks = [...new Set(results.runs.map((r) => r.task))];
  const rows = [
    ...meanCurves(results.runs),
    ...tasks.flatMap((task) => levels.map((l) => ({ ...l, task }))),
    ...recall,
  ];
  const curve = { ...inner, transform: [{ filter: 'datum.val_loss != null' }] };
  const layered = { width: inner.width, height: inner.height, layer: [curve, ...levelLayers()] };
  return { id: a.id, title: a.title, spec: perTask(results, rows, layered, a.title) };
}

/** Final validation loss per model: bar = mean over seeds, rule = min to max. */
export function finalLossChart(results: CompareResults): NamedChart {
  const title = 'Final validation loss (mean over seeds; lines span min to max)';
  const values = results.runs.map((r) => ({
    task: r.task,
    model: r.model,
    seed: r.seed,
    final_val_loss: r.final_val_loss,
  }));
  const x = {
    field: 'model',
    type: 'nominal',
    sort: results.grid.models.map((m) => m.name),
    title: null,
    axis: { labelAngle: -40 },
  };
  const inner = {
    width: { step: 34 },
    height: 300,
    layer: [
      {
        mark: { type: 'bar', opacity: 0.85 },
        encoding: {
          x,
          y: {
            aggregate: 'mean',
            field: 'final_val_loss',
            type: 'quantitative',
            title: 'final validation loss',
            scale: { zero: false },
          },
          color: { ...modelColor(results), legend: null },
          tooltip: [{ field: 'model' }, { aggregate: 'mean', field: 'final_val_loss', format: '.4f', title: 'mean' }],
        },
      },
      {
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          x,
          y: { aggregate: 'min', field: 'final_val_loss', type: 'quantitative' },
          y2: { aggregate: 'max', field: 'final_val_loss' },
        },
      },
    ],
  };
  return { id: 'final-loss', title, spec: perTask(results, values, inner, title, ['y']) }; // the same models along x in every panel
}

const SIZE_AXES = {
  parameters: { id: 'loss-vs-parameters', title: 'Final validation loss against parameters', axis: 'parameters' },
  train_flops: {
    id: 'loss-vs-train-flops',
    title: 'Final validation loss against training FLOPs',
    axis: 'training FLOPs',
  },
} as const;

/**
 * Final validation loss against a model's size or its training compute, one point per run (log x): for grids
 * whose models differ in size (a width sweep), where a bar per model hides what each point cost.
 */
export function finalLossAgainst(results: CompareResults, x: keyof typeof SIZE_AXES): NamedChart {
  const a = SIZE_AXES[x];
  const values = results.runs
    .filter((r) => r[x] !== undefined)
    .map((r) => ({
      task: r.task,
      model: r.model,
      seed: r.seed,
      [x]: r[x],
      final_val_loss: r.final_val_loss,
    }));
  const inner = {
    width: 520,
    height: 300,
    mark: { type: 'point', filled: true, size: 60 },
    encoding: {
      x: { field: x, type: 'quantitative', title: a.axis, scale: { type: 'log' }, axis: { format: '.2~s' } },
      y: { field: 'final_val_loss', type: 'quantitative', title: 'final validation loss', scale: { zero: false } },
      color: modelColor(results),
      tooltip: [
        { field: 'model' },
        { field: 'seed' },
        { field: x, format: ',.3~s' },
        { field: 'final_val_loss', format: '.4f' },
      ],
    },
  };
  return { id: a.id, title: a.title, spec: perTask(results, values, inner, a.title) };
}

/** Whether the models' sizes differ enough (over 1.5× between the smallest and the largest) to chart loss against them. */
const sizesDiffer = (runs: RunResult[]) =>
  Math.max(...runs.map((r) => r.parameters)) > 1.5 * Math.min(...runs.map((r) => r.parameters));

/**
 * Each recall task's no-recall level (the bag of values) as a reference-level
 * row of its panel; none for results written before they were recorded.
 */
function noRecallRows(
  results: CompareResults,
  value: (b: NonNullable<RunResult['no_recall']>) => number,
  format: (x: number) => string,
): { task: string; level: number; name: string }[] {
  const byTask = new Map<string, NonNullable<RunResult['no_recall']>>();
  for (const r of results.runs) if (r.no_recall) byTask.set(r.task, r.no_recall);
  return [...byTask].map(([task, b]) => ({ task, level: value(b), name: `no recall ${format(value(b))}` }));
}

/**
 * Recall accuracy per model, a panel per sequence length, with a dashed line
 * at the no-recall level (the bag of values) where the results record it.
 */
export function accuracyChart(results: CompareResults): NamedChart {
  const title = 'Recall accuracy on held-out sequences (mean over seeds; dashed: no recall, the bag of values)';
  const values = [
    ...results.runs.map((r) => ({ task: r.task, model: r.model, seed: r.seed, accuracy: r.accuracy ?? 0 })),
    ...noRecallRows(
      results,
      (b) => b.accuracy,
      (x) => `${(100 * x).toFixed(1)}%`,
    ),
  ];
  const y = { domain: [0, 1] };
  const bars = {
    transform: [{ filter: 'datum.accuracy != null' }],
    mark: 'bar',
    encoding: {
      x: {
        field: 'model',
        type: 'nominal',
        sort: results.grid.models.map((m) => m.name),
        title: null,
        axis: { labelAngle: -40 },
      },
      y: {
        aggregate: 'mean',
        field: 'accuracy',
        type: 'quantitative',
        title: 'accuracy',
        scale: y,
        axis: { format: '%' },
      },
      color: { ...modelColor(results), legend: null },
      tooltip: [
        { field: 'model' },
        { field: 'task' },
        { aggregate: 'mean', field: 'accuracy', format: '.1%', title: 'accuracy' },
      ],
    },
  };
  const inner = { width: { step: 16 }, height: 300, layer: [bars, ...levelLayers(y)] };
  return { id: 'accuracy', title, spec: perTask(results, values, inner, title, []) };
}

/** Every chart of a report, in page order. */
export function reportCharts(results: CompareResults): NamedChart[] {
  const charts = [
    lossChart(results, 'tokens'),
    lossChart(results, 'elapsed_s'),
    lossChart(results, 'flops'),
    finalLossChart(results),
  ];
  if (sizesDiffer(results.runs)) {
    charts.push(finalLossAgainst(results, 'parameters'));
    if (results.runs.every((r) => r.train_flops !== undefined)) charts.push(finalLossAgainst(results, 'train_flops'));
  }
  if (results.runs.some((r) => r.accuracy !== undefined)) charts.push(accuracyChart(results));
  if (new Set(results.runs.map((r) => r.train_flops)).size > 1 && results.grid.budgets) {
    charts.push(computeCurveChart(results));
    const gaps = gapChart(results);
    if (gaps) charts.push(gaps);
  }
  const positions = positionChart(results);
  if (positions) charts.push(positions);
  return charts;
}
