import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { CompareEta, formatDuration } from '../../compare/progress.js';
import { runCompare, type CompareOptions } from '../../compare/compare.js';
import { BUILTIN_GRIDS } from '../../compare/builtin-grids.js';
import { loadGrid, type GridRun } from '../../compare/grid.js';
import { summaryTables } from '../../compare/tables.js';
import type { StepMetrics } from '../../train/trainer.js';
import { stopOnCtrlC } from '../ctrl-c.js';
import { UserError } from '../../errors.js';
import { addEngineOptions, torchEngineOptions, type EngineFlags } from '../engine-options.js';

export function registerCompare(program: Command): void {
  const cmd = program
    .command('compare')
    .description(
      'train every model of a grid (plans × seeds) on one budget, then write results.json, report.md, report.html and SVG charts',
    )
    .option('--grid <name|file>', `a built-in grid (${Object.keys(BUILTIN_GRIDS).join(', ')}) or a JSON grid file`)
    .option(
      '--out <dir>',
      'output folder (default: runs/compare-<grid>); running again resumes, skipping finished runs',
    )
    .option(
      '--worker',
      'share the grid with other `hsm compare --worker` processes on the same --out: each trains the next run nobody trains',
    )
    .option(
      '--report-only',
      'write results.json and the reports from the runs finished so far and train nothing (workers may go on beside it)',
    )
    .option('--list', 'list the built-in grids and their models');
  addEngineOptions(cmd, { multiNode: false }).action(
    async (
      f: EngineFlags & { grid?: string; out?: string; list?: boolean; worker?: boolean; reportOnly?: boolean },
    ) => {
      const torch = torchEngineOptions(f);
      if (f.list || f.grid === undefined) {
        listGrids();
        return;
      }
      const out = f.out ?? `runs/compare-${f.grid.replace(/^.*\//, '').replace(/\.json$/, '')}`;
      if (f.reportOnly && f.worker)
        throw new UserError('--report-only and --worker: a report trains nothing; give one of them');
      await compare(f.grid, out, { torch, worker: f.worker === true, reportOnly: f.reportOnly === true });
    },
  );
}

function listGrids(): void {
  for (const name of Object.keys(BUILTIN_GRIDS)) {
    const g = loadGrid(name);
    console.log(`${name}: ${g.description}`);
    console.log(`  seeds ${g.seeds.join(', ')}; models: ${g.models.map((m) => `${m.name} (${m.plan})`).join(', ')}`);
  }
}

async function compare(gridSpec: string, outDir: string, options: CompareOptions): Promise<void> {
  const grid = loadGrid(gridSpec);
  const stop = stopOnCtrlC();
  const tty = process.stderr.isTTY;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: '{run} ({index}/{runs}) |{bar}| step {value}/{steps} | val {val} | overall {overall}% | ETA {eta}',
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let eta: CompareEta | null = null,
    index = 0,
    total = 0,
    lastVal = '-';
  const flopsPerStepOf = new Map<string, number>();
  const label = (run: GridRun) => `[${index}/${total}] ${run.id}`;
  const overall = () => eta?.percent() ?? 0;
  const etaText = () => formatDuration(eta?.seconds() ?? null);
  try {
    const outcome = await runCompare(
      grid,
      outDir,
      {
        onPlan: (runs, states, flopsPerStep) => {
          total = runs.length;
          let gridFlops = 0,
            leftFlops = 0,
            totalSteps = 0;
          runs.forEach((r, i) => {
            const st = states[i];
            const left = st.kind === 'finished' ? 0 : r.config.maxIters - (st.kind === 'resume' ? st.step : 0);
            flopsPerStepOf.set(r.id, flopsPerStep[i]);
            gridFlops += r.config.maxIters * flopsPerStep[i];
            leftFlops += left * flopsPerStep[i];
            totalSteps += left;
          });
          if (eta) eta.replan(leftFlops, gridFlops - leftFlops);
          else eta = new CompareEta(leftFlops, gridFlops - leftFlops);
          const done = states.filter((s) => s.kind === 'finished').length;
          const sweeps = runs.filter((r) => r.sweep).length;
          const shape = grid.sweep
            ? `${sweeps} of the settings sweep, then each family's pick at every budget as the sweep decides`
            : `${grid.models.length} models × ${grid.budgets ? `${grid.budgets.length} budgets × ` : ''}${grid.seeds.length} seeds` +
              (grid.recall ? ` × ${grid.recall.lengths.length} lengths` : '');
          process.stderr.write(
            `hsm: compare ${grid.name} into ${outDir}: ${total} runs known now (${shape}), ${done} finished earlier, ` +
              `${totalSteps} steps (${leftFlops.toExponential(2).replace('e+', 'e')} training FLOPs) to train\n`,
          );
        },
        onRunSkipped: (run) => {
          index++;
          process.stderr.write(`${label(run)}: finished earlier, skipped\n`);
        },
        onRunStart: (run, info) => {
          stop.training();
          index++;
          lastVal = '-';
          const what = info.startStep > 0 ? `resuming at step ${info.startStep}` : 'training';
          if (bar) {
            bar.start(info.maxIters, info.startStep, {
              run: run.id,
              index,
              runs: total,
              steps: info.maxIters,
              val: '-',
              overall: overall(),
              eta: etaText(),
            });
          } else process.stderr.write(`${label(run)}: ${what} (${run.config.model.plan}, ${info.maxIters} steps)\n`);
        },
        onStep: (run, m: StepMetrics) => {
          eta?.advance(flopsPerStepOf.get(run.id) ?? 0);
          if (m.val_loss !== undefined) lastVal = m.val_loss.toFixed(4);
          if (bar) bar.update(m.step, { val: lastVal, overall: overall(), eta: etaText() });
          else if (m.val_loss !== undefined) {
            process.stderr.write(
              `${label(run)}: step ${m.step}/${run.config.maxIters} val ${lastVal} · overall ${overall()}%, ETA ${etaText()}\n`,
            );
          }
        },
        onEvaluate: (run) => {
          bar?.stop();
          if (!bar)
            process.stderr.write(
              `${label(run)}: evaluating (generation speed, sample${run.recall ? ', accuracy' : ''})\n`,
            );
        },
        onRunDone: (run, r) => {
          const score =
            r.accuracy !== undefined
              ? `accuracy ${(100 * r.accuracy).toFixed(1)}%`
              : `val loss ${r.final_val_loss.toFixed(4)}`;
          process.stderr.write(
            `${label(run)}: done, ${score}, ${Math.round(r.train_tokens_per_s)} tokens/s, ${r.wall_time_s.toFixed(1)}s\n`,
          );
        },
        shouldStop: stop.requested,
        onWarning: (message) => process.stderr.write(`hsm: ${message}\n`),
      },
      options,
    );
    bar?.stop();
    for (const t of summaryTables(outcome.results)) {
      console.log(
        `\n${t.task}${t.note ? `\n${t.note}` : ''}\n| ${t.header.join(' | ')} |\n|${t.header.map(() => '---').join('|')}|`,
      );
      for (const row of t.rows) console.log(`| ${row.join(' | ')} |`);
    }
    console.log(`\nwrote ${outcome.files.map((f) => `${outDir}/${f}`).join(', ')}`);
    console.log(`trained ${outcome.trained.length} runs, skipped ${outcome.skipped.length} finished earlier`);
    if (outcome.stopped)
      console.error(`hsm: compare interrupted; run the same command again to resume (finished runs are skipped)`);
  } finally {
    bar?.stop();
    stop.release();
  }
}
