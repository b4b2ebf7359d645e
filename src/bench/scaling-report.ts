// What `hsm bench scaling` shows: a one-screen table for the terminal and two log–log charts.
import type { ChartSpec } from '../report/chart.js';

type Rec = Record<string, unknown>;
const perContext = (records: Rec[]) => records.filter((r) => r.context !== undefined);
const perModel = (records: Rec[]) => records.filter((r) => r.exponent !== undefined);

/** Exact, so a match within 1% shows. */
const count = (n: unknown) => (n === undefined ? '-' : Number(n).toLocaleString('en-US'));

/**
 * Rows: models, with their parameters and receptive field at the largest
 * context (a model that does not cover the context is marked); columns:
 * training tokens/s per context, the exponent, and generation ms/token.
 */
export function scalingTable(records: Rec[]): string {
  const rows = perContext(records),
    models = perModel(records);
  const contexts = [...new Set(rows.map((r) => Number(r.context)))].sort((a, b) => a - b);
  const last = contexts[contexts.length - 1];
  const cell = (s: string, n: number) => s.padStart(n);
  const lines = [
    'training tokens/s by context (same tokens per step), growth exponent, generation ms/token by position',
    'model'.padEnd(14) +
      cell(`params@${last}`, 14) +
      cell('field', 8) +
      contexts.map((t) => cell(String(t), 9)).join('') +
      cell('exponent', 10) +
      '  generation ms/token',
  ];
  for (const m of models) {
    const tps = contexts.map((t) => {
      const r = rows.find((x) => x.model === m.model && x.context === t);
      return cell(r ? String(Math.round(Number(r.train_tokens_per_s))) : '-', 9);
    });
    const gen = Object.entries((m.gen_ms_per_token ?? {}) as Record<string, number>)
      .map(([p, ms]) => `${p}:${ms.toFixed(2)}`)
      .join(' ');
    const at = (field: string) => (m[field] as Record<string, unknown> | undefined)?.[String(last)];
    const name = `${String(m.model)}${m.covers_context === false ? ' *' : ''}${m.params_matched === false ? ' †' : ''}`;
    lines.push(
      name.padEnd(14) +
        cell(count(at('params_by_context')), 14) +
        cell(String(at('receptive_field_by_context') ?? '-'), 8) +
        tps.join('') +
        cell(Number(m.exponent).toFixed(2), 10) +
        '  ' +
        gen,
    );
  }
  if (models.some((m) => m.covers_context === false))
    lines.push('* does not see the whole context (receptive field below it): not a matched comparison');
  if (models.some((m) => m.params_matched === false))
    lines.push(
      '† not within 1% of its matched parameter count at every context (params_by_context): not matched there',
    );
  const speedups = rows.filter((r) => r.context === last && r.train_speedup_vs_baseline !== undefined);
  if (speedups.length)
    lines.push(
      `at context ${last}, training speed vs ${speedups[0].baseline}: ` +
        speedups.map((r) => `${r.model} ${Number(r.train_speedup_vs_baseline).toFixed(2)}×`).join(', '),
    );
  return lines.join('\n');
}

// Base-2 log axes ticked at the measured values: contexts and positions are powers of two (or near).
const logAxis = (field: string, title: string, values?: number[]) => ({
  field,
  type: 'quantitative' as const,
  title,
  scale: { type: 'log' as const, base: 2, nice: false },
  ...(values ? { axis: { values } } : {}),
});

/** Chart specs by file name: training time per token against context, generation time per token against position. */
export function scalingCharts(records: Rec[]): Record<string, ChartSpec> {
  const train = perContext(records).map((r) => ({ model: r.model, context: r.context, ms: r.train_ms_per_token }));
  const gen = perModel(records).flatMap((r) =>
    Object.entries((r.gen_ms_per_token ?? {}) as Record<string, number>).map(([p, ms]) => ({
      model: r.model,
      position: Number(p),
      ms,
    })),
  );
  const line = (title: string, values: Rec[], x: string, xTitle: string, yTitle: string): ChartSpec => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 280,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: logAxis(x, xTitle, [...new Set(values.map((v) => Number(v[x])))]),
      y: { ...logAxis('ms', yTitle), scale: { type: 'log', nice: true } },
      color: { field: 'model', type: 'nominal', title: 'model' },
    },
  });
  const charts: Record<string, ChartSpec> = {
    'scaling-train': line(
      'Training: time per token against context (log–log)',
      train,
      'context',
      'context (tokens)',
      'ms per token (forward + backward + update)',
    ),
  };
  if (gen.length)
    charts['scaling-generate'] = line(
      'Generation: time per new token against position (log–log)',
      gen,
      'position',
      'position',
      'ms per generated token',
    );
  return charts;
}
