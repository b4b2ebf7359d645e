// report.md: the results tables, the charts (SVG files beside it), model notes and samples.
import type { NamedChart } from './charts.js';
import type { CompareResults } from './results.js';
import { baselineLine, SPEED_NOTE, summaryTables } from './tables.js';

export function reportMarkdown(results: CompareResults, charts: NamedChart[]): string {
  const g = results.grid;
  const lines: string[] = [
    `# hsm compare: ${g.name}`,
    '',
    `${g.description}`,
    '',
    `Baseline: ${baselineLine(results)}. Seeds: ${g.seeds.join(', ')}; values are the mean ± half the range over seeds. ` +
      `${results.runs_finished} of ${results.runs_total} runs finished. ${results.machine.cpus} CPUs, ${results.machine.backend} backend; ${results.created}.`,
    '',
  ];
  const p = results.provenance;
  if (p)
    lines.push(
      `Written by \`${String(p.command)}\` at commit ${String(p.commit ?? 'unknown')}${p.uncommitted_code_changes ? ' (with uncommitted code changes)' : ''} on ${String(p.cpu)}.`,
      '',
    );
  const tables = summaryTables(results);
  for (const t of tables) {
    if (tables.length > 1 || t.task) lines.push(`## ${t.task}`, '');
    if (t.note) lines.push(t.note, '');
    lines.push(`| ${t.header.join(' | ')} |`, `|${t.header.map(() => '---').join('|')}|`);
    for (const row of t.rows) lines.push(`| ${row.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`);
    lines.push('');
  }
  if (tables.length > 0) lines.push(SPEED_NOTE, '');
  lines.push('## Charts', '');
  for (const c of charts) lines.push(`![${c.title}](${c.id}.svg)`, '');
  lines.push('## Models', '');
  for (const m of g.models)
    lines.push(
      `- **${m.name}** \`${m.plan}\`${m.matchParams ? `, parameters matched to \`${m.matchParams}\`` : ''}${m.note ? `: ${m.note}` : ''}`,
    );
  lines.push('', '## Samples', '');
  for (const s of results.summary) {
    const run = results.runs.find((r) => r.task === s.task && r.model === s.model && r.sample);
    if (!run) continue;
    lines.push(
      `### ${s.task ? `${s.task} · ` : ''}${s.model} (seed ${run.seed})`,
      '',
      '~~~text',
      run.sample,
      '~~~',
      '',
    );
  }
  return lines.join('\n');
}
