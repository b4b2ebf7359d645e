// A report chart: a Vega-Lite spec with the name its file and HTML anchor take.
import type { ChartSpec } from '../report/chart.js';

export interface NamedChart {
  /** File stem and HTML id, e.g. "loss-vs-tokens". */
  id: string;
  title: string;
  spec: ChartSpec;
}
