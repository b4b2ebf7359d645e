// A report chart: a Vega-Lite spec with the name its file and HTML anchor take.
import type { ChartSpec } from '../report/chart.js';

export interface NamedChart {
  /** File stem and HTML id, e.g. "loss-vs-tokens". */
  id: string;
  title: string;
  spec: ChartSpec;
}

/** The Vega-Lite schema every report chart names: an identifier only, nothing is fetched. */
export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** One colour per model, in the grid's order, the same in every chart of a report. */
export function modelColor(models: readonly { name: string }[]): Record<string, unknown> {
  return { field: 'model', type: 'nominal', sort: models.map((m) => m.name), scale: { scheme: 'tableau10' } };
}

/** The x axis of charts against training compute: field `flops`, log scale. */
export const FLOPS_AXIS = {
  field: 'flops',
  type: 'quantitative',
  title: 'training FLOPs',
  scale: { type: 'log', nice: false, padding: 12 },
  axis: { format: '.2~s' },
};
