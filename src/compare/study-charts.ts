// Charts of studies that run many budgets: loss against compute per model
// with seed bands and a fitted power law, and loss by position in the window;
// and the n-gram reference levels every loss chart draws as dashed lines.
import type { ChartSpec } from '../report/chart.js';
import { FLOPS_AXIS, modelColor, SCHEMA, type NamedChart } from './named-chart.js';
import type { CompareResults, RunResult } from './results.js';

const LEVELS = ['unigram', 'bigram', 'trigram'] as const;

/** The reference levels of the results' first text task as rows { level, name } (none for recall grids). */
export function levelRows(results: CompareResults): { level: number; name: string }[] {
  const levels = Object.values(results.reference_levels ?? {})[0];
  if (!levels) return [];
  return LEVELS.map((name) => ({ level: levels[name], name: `${name} ${levels[name].toFixed(3)}` }));
}

/** A layer of dashed horizontal rules with their names, at the reference levels (y field `level`). */
export function levelLayers(yScale: Record<string, unknown> = {}): Record<string, unknown>[] {
  const only = { filter: 'datum.level != null' };
  return [
    {
      transform: [only],
      mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
      encoding: { y: { field: 'level', type: 'quantitative', scale: yScale } },
    },
    {
      transform: [only],
      mark: { type: 'text', align: 'left', dx: 4, dy: -5, color: '#666', fontSize: 10 },
      encoding: {
        y: { field: 'level', type: 'quantitative', scale: yScale },
        x: { value: 0 },
        text: { field: 'name' },
      },
    },
  ];
}

/** Mean and range over seeds of each model's final loss at each budget, and a least-squares power law per model. */
function budgetPoints(runs: RunResult[]) {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    const key = `${r.model}\u0000${r.task}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const losses = rs.map((r) => r.final_val_loss);
    const flops = rs.reduce((s, r) => s + (r.train_flops ?? 0), 0) / rs.length;
    return {
      model: rs[0].model,
      flops,
      mean: losses.reduce((s, v) => s + v, 0) / losses.length,
      min: Math.min(...losses),
      max: Math.max(...losses),
      seeds: rs.length,
    };
  });
}

/** L = a·C^(−b) through a model's budget means, fitted in log–log space; null with fewer than two budgets. */
export function fitPowerLaw(points: { flops: number; mean: number }[]): { a: number; b: number } | null {
  if (points.length < 2) return null;
  const xs = points.map((p) => Math.log(p.flops)),
    ys = points.map((p) => Math.log(p.mean));
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length,
    my = ys.reduce((s, v) => s + v, 0) / ys.length;
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  if (sxx === 0) return null;
  const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / sxx;
  return { a: Math.exp(my - slope * mx), b: -slope };
}

/**
 * Final validation loss against training FLOPs (log–log), one line per model
 * through its mean over seeds, a band from the lowest to the highest seed,
 * the fitted power law dashed, and the n-gram levels. For grids with budgets.
 */
export function computeCurveChart(results: CompareResults): NamedChart {
  const title =
    'Final validation loss against training compute (mean over seeds, band: min to max; dashed: power-law fit)';
  const points = budgetPoints(results.runs);
  const fits = [...new Set(points.map((p) => p.model))].flatMap((model) => {
    const mine = points.filter((p) => p.model === model);
    const fit = fitPowerLaw(mine);
    if (!fit) return [];
    const lo = Math.min(...mine.map((p) => p.flops)),
      hi = Math.max(...mine.map((p) => p.flops));
    return [lo, hi].map((flops) => ({
      model,
      flops,
      fit: fit.a * flops ** -fit.b,
      law: `L = ${fit.a.toPrecision(3)}·C^−${fit.b.toFixed(3)}`,
    }));
  });
  const y = { type: 'log', nice: false, padding: 12 }; // a log scale never reaches zero (Vega-Lite warns at `zero`)
  const color = modelColor(results.grid.models);
  const x = FLOPS_AXIS;
  const spec = {
    $schema: SCHEMA,
    title,
    width: 560,
    height: 340,
    data: { values: [...points, ...fits, ...levelRows(results)] },
    layer: [
      {
        transform: [{ filter: 'datum.mean != null' }],
        mark: { type: 'area', opacity: 0.18 },
        encoding: { x, y: { field: 'min', type: 'quantitative', scale: y }, y2: { field: 'max' }, color },
      },
      {
        transform: [{ filter: 'datum.mean != null' }],
        mark: { type: 'line', point: { size: 30 } },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative', title: 'final validation loss (log scale)', scale: y },
          color,
          tooltip: [
            { field: 'model' },
            { field: 'flops', format: '.3~s' },
            { field: 'mean', format: '.4f' },
            { field: 'min', format: '.4f' },
            { field: 'max', format: '.4f' },
            { field: 'seeds' },
          ],
        },
      },
      {
        transform: [{ filter: 'datum.fit != null' }],
        mark: { type: 'line', strokeDash: [6, 3], strokeWidth: 1 },
        encoding: {
          x,
          y: { field: 'fit', type: 'quantitative', scale: y },
          color,
          tooltip: [{ field: 'model' }, { field: 'law' }],
        },
      },
      ...levelLayers(y),
    ],
  } as unknown as ChartSpec; // built from plain objects; Vega-Lite's compiler validates it
  return { id: 'loss-vs-compute', title, spec };
}

/**
 * Validation loss by position in the window at the largest budget that every
 * model has reached (or the only task), mean over seeds, one line per model,
 * with the n-gram levels: a model uses its context where its line keeps
 * falling to the right. (While a compute curve trains, its largest budget
 * has only some models; a chart of those would hide the others.)
 */
export function positionChart(results: CompareResults): NamedChart | null {
  const withPositions = results.runs.filter((r) => r.val_loss_by_position?.length);
  if (withPositions.length === 0) return null;
  const models = new Set(withPositions.map((r) => r.model));
  const byTask = new Map<string, RunResult[]>();
  for (const r of withPositions) byTask.set(r.task, [...(byTask.get(r.task) ?? []), r]);
  const budgetOf = (task: string) => Math.max(...byTask.get(task)!.map((r) => r.train_flops ?? 0));
  const complete = [...byTask.keys()].filter((t) => new Set(byTask.get(t)!.map((r) => r.model)).size === models.size);
  const largest = (complete.length > 0 ? complete : [...byTask.keys()]).reduce((a, b) =>
    budgetOf(b) > budgetOf(a) ? b : a,
  );
  const runs = byTask.get(largest)!;
  const title = `Validation loss by position in the window (${largest}; mean over seeds)`;
  const rows = new Map<string, { model: string; position: number; from: number; to: number; losses: number[] }>();
  for (const r of runs) {
    for (const b of r.val_loss_by_position!) {
      const key = `${r.model}\u0000${b.from}`;
      // bucket [from, to) drawn at its geometric middle (position 0 at 0.5, for the log axis)
      const position = b.from === 0 ? 0.5 : Math.sqrt(b.from * (b.to - 1 || 1));
      const row = rows.get(key) ?? { model: r.model, position, from: b.from, to: b.to, losses: [] };
      row.losses.push(b.loss);
      rows.set(key, row);
    }
  }
  const values = [...rows.values()].map((r) => ({
    model: r.model,
    position: r.position,
    bucket: `[${r.from}, ${r.to})`,
    loss: r.losses.reduce((s, v) => s + v, 0) / r.losses.length,
  }));
  const spec = {
    $schema: SCHEMA,
    title,
    width: 560,
    height: 320,
    data: { values: [...values, ...levelRows(results)] },
    layer: [
      {
        transform: [{ filter: 'datum.loss != null' }],
        mark: { type: 'line', point: { size: 25 } },
        encoding: {
          x: {
            field: 'position',
            type: 'quantitative',
            title: 'position in the window (log scale)',
            scale: { type: 'log' },
          },
          y: { field: 'loss', type: 'quantitative', title: 'validation loss', scale: { zero: false } },
          color: modelColor(results.grid.models),
          tooltip: [{ field: 'model' }, { field: 'bucket' }, { field: 'loss', format: '.4f' }],
        },
      },
      ...levelLayers(),
    ],
  } as unknown as ChartSpec;
  return { id: 'loss-by-position', title, spec };
}
