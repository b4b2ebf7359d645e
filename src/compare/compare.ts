// `hsm compare` as a library call: train every run of a grid that is not
// finished yet, then write results.json, report.md, report.html and the charts
// as SVG into the output folder.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { kernels } from '../backend/index.js';
import { UserError } from '../errors.js';
import type { TorchEngineOptions } from '../train/torch-launch.js';
import { writeFileAtomic } from '../io/atomic.js';
import { lockFolder } from '../io/folder-lock.js';
import { makeFolder } from '../io/folders.js';
import { renderSvg } from '../report/chart.js';
import { runProvenance } from '../report/provenance.js';
import { reportCharts } from './charts.js';
import { expandGrid, type Grid, type GridRun } from './grid.js';
import { reportHtml } from './report-html.js';
import { reportMarkdown } from './report-md.js';
import { RESULTS_FORMAT, summarize, type CompareResults, type RunResult } from './results.js';
import { checkRunMemory, DataCache, runOne, runState, withBudget, type RunHooks, type RunState } from './runner.js';

export interface CompareHooks extends RunHooks {
  /** Before any training: every run and where it stands. */
  onPlan?(runs: GridRun[], states: RunState[]): void;
  onRunSkipped?(run: GridRun, result: RunResult): void;
  onRunDone?(run: GridRun, result: RunResult): void;
}

export interface CompareOutcome {
  results: CompareResults;
  /** Files written, relative to the output folder. */
  files: string[];
  /** True when shouldStop ended it early (the interrupted run keeps its checkpoint). */
  stopped: boolean;
  trained: string[];
  skipped: string[];
}

/** How the runs train: the native engine, or PyTorch (`hsm compare --engine torch`). */
export interface CompareOptions {
  torch?: TorchEngineOptions;
}

export async function runCompare(
  grid: Grid,
  outDir: string,
  hooks: CompareHooks = {},
  options: CompareOptions = {},
): Promise<CompareOutcome> {
  if (options.torch && grid.recall)
    throw new UserError(
      `grid ${grid.name} trains on the synthetic recall task, which only the native engine generates; run it without --engine torch`,
    );
  makeFolder(outDir, 'compare folder');
  const release = lockFolder(outDir, 'compare folder', hooks.onWarning);
  try {
    return await compareLocked(grid, outDir, hooks, options);
  } finally {
    release();
  }
}

async function compareLocked(
  grid: Grid,
  outDir: string,
  hooks: CompareHooks,
  options: CompareOptions,
): Promise<CompareOutcome> {
  const data = new DataCache();
  const runs = expandGrid(grid, outDir).map((run) => withBudget(run, data));
  for (const run of runs) checkRunMemory(run, data);
  const states = runs.map(runState); // a changed grid fails here, before anything trains
  hooks.onPlan?.(runs, states);
  writeFileAtomic(join(outDir, 'grid.json'), JSON.stringify(grid, null, 1) + '\n');
  const finished: RunResult[] = [];
  const trained: string[] = [],
    skipped: string[] = [];
  let stopped = false;
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i],
      state = states[i];
    if (state.kind === 'finished') {
      finished.push(state.result);
      skipped.push(run.id);
      hooks.onRunSkipped?.(run, state.result);
      continue;
    }
    const result = await runOne(run, state, data, grid.eval, hooks, options.torch);
    if (!result) {
      stopped = true;
      break;
    }
    finished.push(result);
    trained.push(run.id);
    hooks.onRunDone?.(run, result);
    writeResults(outDir, collectResults(grid, runs.length, finished, engineName(options))); // a long compare shows partial results
  }
  const results = collectResults(grid, runs.length, finished, engineName(options));
  const files = await writeReports(outDir, results);
  return { results, files, stopped, trained, skipped };
}

/** What trained the runs, as results.json records it ("native", "js", or "torch-cpu×2"). */
function engineName(options: CompareOptions): string {
  const t = options.torch;
  return t ? `torch-${t.device}×${t.nproc * t.nnodes}` : kernels().name;
}

export function collectResults(
  grid: Grid,
  total: number,
  runs: RunResult[],
  backend: string = kernels().name,
): CompareResults {
  return {
    format: RESULTS_FORMAT,
    grid: {
      name: grid.name,
      description: grid.description,
      baseline: grid.baseline,
      seeds: grid.seeds,
      models: grid.models,
    },
    created: new Date().toISOString(),
    machine: { cpus: availableParallelism(), backend },
    provenance: runProvenance(),
    runs_total: total,
    runs_finished: runs.length,
    runs,
    summary: summarize(grid, runs),
  };
}

function writeResults(outDir: string, results: CompareResults): void {
  writeFileAtomic(join(outDir, 'results.json'), JSON.stringify(results, null, 1) + '\n');
}

/** results.json always; the reports and charts once at least one run has finished. */
export async function writeReports(outDir: string, results: CompareResults): Promise<string[]> {
  writeResults(outDir, results);
  if (results.runs.length === 0) return ['results.json'];
  const charts = reportCharts(results);
  const files = ['results.json', 'report.md', 'report.html'];
  writeFileAtomic(join(outDir, 'report.md'), reportMarkdown(results, charts));
  writeFileAtomic(join(outDir, 'report.html'), reportHtml(results, charts));
  for (const c of charts) {
    writeFileAtomic(join(outDir, `${c.id}.svg`), await renderSvg(c.spec));
    files.push(`${c.id}.svg`);
  }
  return files;
}
