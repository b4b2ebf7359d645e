// The compute-matched gap: each model's final validation loss minus the
// baseline's at the same budget, seed by seed, against training compute. It
// answers "does the gap grow or shrink with compute?" at a glance, which the
// loss-against-compute chart leaves to the eye (its lines are 1–2 nats apart
// and the gaps a few hundredths).
import type { ChartSpec } from '../report/chart.js';
import { FLOPS_AXIS, modelColor, SCHEMA, type NamedChart } from './named-chart.js';
import type { CompareResults } from './results.js';

export interface GapPoint {
  model: string;
  task: string;
  /** The budget's training FLOPs: the model's mean over its seeds. */
  flops: number;
  /** Mean over the seeds both finished of model − baseline (nats); min and max of those differences. */
  gap: number;
  min: number;
  max: number;
  seeds: number;
}

/** The seed-paired gaps per model and budget (tasks of a grid with budgets); none where the baseline has no run. */
export function gapPoints(results: CompareResults): GapPoint[] {
  const base = results.grid.baseline;
  const points: GapPoint[] = [];
  for (const task of new Set(results.runs.map((r) => r.task))) {
    const here = results.runs.filter((r) => r.task === task);
    const baseLoss = new Map(here.filter((r) => r.model === base).map((r) => [r.seed, r.final_val_loss]));
    for (const model of new Set(here.map((r) => r.model))) {
      if (model === base) continue;
      const paired = here.filter((r) => r.model === model && baseLoss.has(r.seed));
      if (paired.length === 0) continue;
      const gaps = paired.map((r) => r.final_val_loss - baseLoss.get(r.seed)!);
      points.push({
        model,
        task,
        flops: paired.reduce((s, r) => s + (r.train_flops ?? 0), 0) / paired.length,
        gap: gaps.reduce((s, g) => s + g, 0) / gaps.length,
        min: Math.min(...gaps),
        max: Math.max(...gaps),
        seeds: gaps.length,
      });
    }
  }
  return points.sort((a, b) => a.flops - b.flops);
}

/** The gap to the baseline against training FLOPs (log x), a band from the lowest to the highest seed, zero marked. */
export function gapChart(results: CompareResults): NamedChart | null {
  const points = gapPoints(results);
  if (new Set(points.map((p) => p.task)).size < 2) return null; // one budget is a point, not a trend
  const base = results.grid.baseline;
  const title = `Final validation loss minus ${base}'s at the same budget, seed by seed (band: min to max; below 0: better than ${base})`;
  const x = FLOPS_AXIS;
  const color = modelColor(results.grid.models);
  const spec = {
    $schema: SCHEMA,
    title,
    width: 560,
    height: 300,
    data: { values: [...points, { zero: 0 }] },
    layer: [
      {
        transform: [{ filter: 'datum.zero != null' }],
        mark: { type: 'rule', color: '#888', strokeDash: [4, 4] },
        encoding: { y: { field: 'zero', type: 'quantitative' } },
      },
      {
        transform: [{ filter: 'datum.gap != null' }],
        mark: { type: 'area', opacity: 0.18 },
        encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color },
      },
      {
        transform: [{ filter: 'datum.gap != null' }],
        mark: { type: 'line', point: { size: 30 } },
        encoding: {
          x,
          y: { field: 'gap', type: 'quantitative', title: `gap to ${base} (nats)` },
          color,
          tooltip: [
            { field: 'model' },
            { field: 'flops', format: '.3~s' },
            { field: 'gap', format: '+.4f' },
            { field: 'min', format: '+.4f' },
            { field: 'max', format: '+.4f' },
            { field: 'seeds' },
          ],
        },
      },
    ],
  } as unknown as ChartSpec; // built from plain objects; Vega-Lite's compiler validates it
  return { id: 'gap-vs-compute', title, spec };
}
