// The results table of a report, as plain strings: report.md and report.html
// render the same cells.
import type { CompareResults, ModelSummary, Stat } from './results.js';

export interface Table {
  task: string;
  /** A line to print with the table (the recall task's no-recall levels). */
  note?: string;
  header: string[];
  rows: string[][];
}

const fixed = (digits: number) => (s: Stat) =>
  `${s.mean.toFixed(digits)}${s.n > 1 ? ` ± ${s.spread.toFixed(digits)}` : ''}`;
const loss = fixed(3);
const percent = (s: Stat) => `${(100 * s.mean).toFixed(1)}%${s.n > 1 ? ` ± ${(100 * s.spread).toFixed(1)}` : ''}`;
const signed = (x: number, digits: number) => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(digits);
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (x: number) => (x < 10 ? x.toFixed(1) : count(x));
const millions = (n: number) => `${(n / 1e6).toFixed(3)}M`;
const scientific = (n: number) => n.toExponential(2).replace('e+', 'e');

/** "+0.083 (+4.4%)" against the baseline (named when models have their own); "—" for the baseline itself. */
function lossDelta(s: ModelSummary, named: boolean): string {
  if (!s.vs_baseline) return '—';
  const spread = s.vs_baseline.final_val_loss_spread;
  return (
    `${signed(s.vs_baseline.final_val_loss, 3)}${spread === undefined ? '' : ` ± ${spread.toFixed(3)}`}` +
    ` (${signed(100 * s.vs_baseline.final_val_loss_rel, 1)}%)` +
    (named ? ` vs ${s.vs_baseline.model}` : '')
  );
}

/** Accuracy above the bag of values (the no-recall level), in points. */
function aboveNoRecall(s: ModelSummary): string {
  if (!s.accuracy || !s.no_recall) return '';
  return `${signed(100 * (s.accuracy.mean - s.no_recall.accuracy), 1)} pts`;
}

/** "No recall: 12.5% (cross-entropy 2.079) …": the levels every accuracy of the task is read against. */
function noRecallNote(s: ModelSummary): string | undefined {
  const b = s.no_recall;
  if (!b) return undefined;
  const level = (a: number, ce: number) => `${(100 * a).toFixed(1)}% (cross-entropy ${ce.toFixed(3)})`;
  const after = b.after_answers
    ? `; less the values already answered in the input, ${level(b.after_answers.accuracy, b.after_answers.cross_entropy)}`
    : '';
  return `No recall (the values in the pairs, not which key holds which): ${level(b.accuracy, b.cross_entropy)}${after}.`;
}

function accuracyDelta(s: ModelSummary, named: boolean): string {
  if (!s.vs_baseline || s.vs_baseline.accuracy === undefined) return '—';
  return `${signed(100 * s.vs_baseline.accuracy, 1)} pts${named ? ` vs ${s.vs_baseline.model}` : ''}`;
}

const genSpeed = (s: ModelSummary) =>
  Object.values(s.gen_tokens_per_s)
    .map((g) => count(g.mean))
    .join(' / ');

/** "tpp-256", or with models that name their own baseline, where the table says which. */
export function baselineLine(results: CompareResults): string {
  const own = results.grid.models.filter((m) => m.baseline !== undefined).length;
  return own === 0
    ? results.grid.baseline
    : `${results.grid.baseline}, except for ${own} model${own > 1 ? 's' : ''} that name their own (the "vs baseline" column says which)`;
}

/** Under every results table: its speed columns are not a benchmark. */
export const SPEED_NOTE =
  'Speeds (tokens/s, wall time) are timed while each run trained, beside whatever else the machine ran then; compare speed with `hsm bench`.';

/** One table per task, models in grid order. */
export function summaryTables(results: CompareResults): Table[] {
  const tasks = [...new Set(results.summary.map((s) => s.task))];
  const base = results.grid.baseline;
  return tasks.map((task) => {
    const rows = results.summary.filter((s) => s.task === task);
    const positions = Object.keys(rows[0]?.gen_tokens_per_s ?? {}).join(' / ');
    const recall = rows.some((s) => s.accuracy);
    // Models that name their own baseline: the column names each row's.
    const named = results.grid.models.some((m) => m.baseline !== undefined);
    const vs = named ? 'vs baseline' : `vs ${base}`;
    const header = [
      'model',
      'plan',
      'parameters',
      'train FLOPs/token',
      'steps',
      'train FLOPs',
      ...(recall
        ? ['accuracy', 'vs no recall', vs, 'final val loss']
        : ['final val loss', 'best val loss', 'bits/char', vs]),
      'train tokens/s',
      `gen tokens/s @ ${positions}`,
      'wall time (s)',
      'seeds',
    ];
    const cells = rows.map((s) => [
      s.model,
      '`' + s.plan + '`',
      millions(s.parameters),
      millions(s.train_flops_per_token),
      count(s.steps.mean),
      scientific(s.train_flops.mean),
      ...(recall
        ? [s.accuracy ? percent(s.accuracy) : '', aboveNoRecall(s), accuracyDelta(s, named), loss(s.final_val_loss)]
        : [
            loss(s.final_val_loss),
            loss(s.best_val_loss),
            s.bits_per_char ? loss(s.bits_per_char) : '',
            lossDelta(s, named),
          ]),
      count(s.train_tokens_per_s.mean),
      genSpeed(s),
      seconds(s.wall_time_s.mean),
      String(s.seeds.length),
    ]);
    const note = rows.map(noRecallNote).find((n) => n !== undefined);
    return { task, ...(note && { note }), header, rows: cells };
  });
}
