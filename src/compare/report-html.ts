// report.html: one self-contained page (no network): the Vega runtime and the
// compiled chart specs are inlined, and the page draws each chart as SVG.
import { toVega, vegaRuntimeSource } from '../report/chart.js';
import type { NamedChart } from './charts.js';
import type { CompareResults } from './results.js';
import { baselineLine, SPEED_NOTE, summaryTables } from './tables.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON inside <script>: "<" is escaped so no string can close the element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** Inline code spans (`plan`) in table cells become <code>. */
const cellHtml = (cell: string) => escapeHtml(cell).replace(/`([^`]+)`/g, '<code>$1</code>');

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
code { font-size: 12px; }
figure { margin: 1.5em 0; }
pre { background: #f6f6f6; padding: 0.8em; white-space: pre-wrap; max-height: 20em; overflow: auto; }
.chart-error { color: #b00; }
`;

/** Draws every .chart from its spec; marks each with data-rendered="true" (or "error") for tests and readers. */
const DRAW = `
for (const el of document.querySelectorAll('.chart')) {
  const spec = JSON.parse(document.getElementById(el.dataset.spec).textContent);
  new vega.View(vega.parse(spec), { renderer: 'svg', container: el, hover: true })
    .runAsync()
    .then(() => { el.dataset.rendered = 'true'; })
    .catch((err) => { el.dataset.rendered = 'error'; el.classList.add('chart-error'); el.textContent = 'chart failed: ' + err; });
}
`;

export function reportHtml(results: CompareResults, charts: NamedChart[]): string {
  const g = results.grid;
  const parts: string[] = [];
  parts.push(`<h1>hsm compare: ${escapeHtml(g.name)}</h1>`);
  parts.push(`<p>${escapeHtml(g.description)}</p>`);
  parts.push(
    `<p>Baseline: ${escapeHtml(baselineLine(results))}. Seeds: ${g.seeds.join(', ')}; values are the mean ± half the range over seeds. ` +
      `${results.runs_finished} of ${results.runs_total} runs finished. ${results.machine.cpus} CPUs, ${escapeHtml(results.machine.backend)} backend; ${escapeHtml(results.created)}.</p>`,
  );
  const tables = summaryTables(results);
  for (const t of tables) {
    if (tables.length > 1 || t.task) parts.push(`<h2>${escapeHtml(t.task)}</h2>`);
    if (t.note) parts.push(`<p>${escapeHtml(t.note)}</p>`);
    parts.push(
      '<table><thead><tr>' + t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('') + '</tr></thead><tbody>',
    );
    for (const row of t.rows) parts.push('<tr>' + row.map((c) => `<td>${cellHtml(c)}</td>`).join('') + '</tr>');
    parts.push('</tbody></table>');
  }
  if (tables.length > 0) parts.push(`<p>${cellHtml(SPEED_NOTE)}</p>`);
  parts.push('<h2>Charts</h2>');
  for (const c of charts) {
    parts.push(
      `<figure><div class="chart" id="chart-${c.id}" data-spec="spec-${c.id}"></div><figcaption>${escapeHtml(c.title)}</figcaption></figure>`,
    );
  }
  parts.push('<h2>Models</h2><ul>');
  for (const m of g.models) {
    const matched = m.matchParams ? `, parameters matched to <code>${escapeHtml(m.matchParams)}</code>` : '';
    parts.push(
      `<li><b>${escapeHtml(m.name)}</b> <code>${escapeHtml(m.plan)}</code>${matched}${m.note ? `: ${escapeHtml(m.note)}` : ''}</li>`,
    );
  }
  parts.push('</ul><h2>Samples</h2>');
  for (const s of results.summary) {
    const run = results.runs.find((r) => r.task === s.task && r.model === s.model && r.sample);
    if (!run) continue;
    parts.push(
      `<h3>${escapeHtml(`${s.task ? `${s.task} · ` : ''}${s.model} (seed ${run.seed})`)}</h3><pre class="sample">${escapeHtml(run.sample)}</pre>`,
    );
  }
  const specs = charts.map(
    (c) => `<script type="application/json" id="spec-${c.id}">${scriptJson(toVega(c.spec))}</script>`,
  );
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>hsm compare: ${escapeHtml(g.name)}</title>`,
    `<style>${STYLE}</style>`,
    `<script>${vegaRuntimeSource()}</script>`,
    '</head><body>',
    ...parts,
    ...specs,
    `<script>${DRAW}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
