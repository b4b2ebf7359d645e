// `hsm compare` as a library call: train every run of a grid that is not
// finished yet, then write results.json, report.md, report.html and the charts
// as SVG into the output folder.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { kernels } from '../backend/index.js';
import { UserError } from '../errors.js';
import type { TorchEngineOptions } from '../train/torch-launch.js';
import { writeFileAtomic } from '../io/atomic.js';
import { assertNotLocked, lockFolder } from '../io/folder-lock.js';
import { makeFolder } from '../io/folders.js';
import { renderSvg } from '../report/chart.js';
import { runProvenance } from '../report/provenance.js';
import { reportCharts } from './charts.js';
import { expandGrid, expandSweep, type Grid, type GridRun } from './grid.js';
import { reportHtml } from './report-html.js';
import { reportMarkdown } from './report-md.js';
import { RESULTS_FORMAT, summarize, type CompareResults, type RunResult } from './results.js';
import {
  checkRunMemory,
  DataCache,
  runFlopsPerStep,
  runOne,
  runState,
  withBudget,
  type RunHooks,
  type RunState,
} from './runner.js';
import { familiesWithoutPick, pickSettings, type SweepOutcome } from './sweep.js';

export interface CompareHooks extends RunHooks {
  /** Before any training, and again when more runs become known: every run, where it stands, its FLOPs a step. */
  onPlan?(runs: GridRun[], states: RunState[], flopsPerStep: number[]): void;
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

/** How the runs train: the native engine, or PyTorch (`hsm compare --engine torch`); alone, or as one of several workers. */
export interface CompareOptions {
  torch?: TorchEngineOptions;
  /**
   * Share the grid with other processes on the same folder: each takes the
   * next run that nobody trains (a run folder's lock says who does), and
   * waits while the runs left wait for another worker's sweep runs.
   */
  worker?: boolean;
  /** A waiting worker looks again after this many seconds (default 30). */
  pollSeconds?: number;
  /**
   * Write results.json and the reports from the runs finished so far, and
   * train nothing: a grid that workers train for days can be read meanwhile
   * (it takes no lock, and leaves the runs and grid.json as they are).
   */
  reportOnly?: boolean;
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
  if (options.reportOnly) return reportFinished(grid, outDir, options);
  makeFolder(outDir, 'compare folder');
  // Workers share the folder; each run folder keeps its own one-writer lock.
  const release = options.worker ? () => {} : lockFolder(outDir, 'compare folder', hooks.onWarning);
  try {
    return await compareLocked(grid, outDir, hooks, options);
  } finally {
    release();
  }
}

/** The runs as far as they can be known now: the sweep's, then the grid's for every family with a pick. */
interface RunPlan {
  /** Every run to train once: the sweep's, then the grid's that are not sweep runs as well. */
  runs: GridRun[];
  states: RunState[];
  /** The grid's runs (the comparison itself), some of them sweep runs under their grid names. */
  main: GridRun[];
  sweep: SweepOutcome | null;
  /** Families still waiting for their sweep to finish. */
  waiting: number;
}

function planRuns(grid: Grid, outDir: string, data: DataCache): RunPlan {
  const sweepRuns = expandSweep(grid, outDir).map((run) => withBudget(run, data));
  const sweepStates = sweepRuns.map(runState);
  const sweepResults = new Map<string, RunResult>();
  sweepStates.forEach((st, i) => st.kind === 'finished' && sweepResults.set(sweepRuns[i].id, st.result));
  const sweep = grid.sweep ? pickSettings(sweepRuns, sweepResults) : null;
  const main = expandGrid(grid, outDir, sweep?.picks).map((run) => withBudget(run, data));
  const ids = new Set(sweepRuns.map((r) => r.id));
  const runs = [...sweepRuns, ...main.filter((r) => !ids.has(r.id))];
  for (const run of runs) checkRunMemory(run, data);
  const states = runs.map(runState); // a changed grid fails here, before anything trains
  // What the sweep picks for: each family, or each family at each recall length.
  const keys = new Set(sweepRuns.map((r) => r.sweep!.key));
  const decided = sweep ? sweep.picks.size + familiesWithoutPick(sweepRuns, sweep, sweepResults).length : keys.size;
  return { runs, states, main, sweep, waiting: keys.size - decided };
}

/** Whether another live process holds the run folder (it trains that run now). */
function trainedElsewhere(dir: string): boolean {
  try {
    assertNotLocked(dir, 'run folder');
    return false;
  } catch {
    return true;
  }
}

async function compareLocked(
  grid: Grid,
  outDir: string,
  hooks: CompareHooks,
  options: CompareOptions,
): Promise<CompareOutcome> {
  const data = new DataCache();
  writeFileAtomic(join(outDir, 'grid.json'), JSON.stringify(grid, null, 1) + '\n');
  const trained: string[] = [],
    skipped: string[] = [];
  const announced = new Set<string>();
  let planned = '',
    stopped = false,
    plan: RunPlan;
  for (;;) {
    plan = planRuns(grid, outDir, data);
    const ids = plan.runs.map((r) => r.id).join(' ');
    if (ids !== planned)
      hooks.onPlan?.(
        plan.runs,
        plan.states,
        plan.runs.map((r) => runFlopsPerStep(r, data)),
      );
    planned = ids;
    plan.states.forEach((st, i) => {
      const run = plan.runs[i];
      if (st.kind !== 'finished' || announced.has(run.id)) return;
      announced.add(run.id);
      if (!trained.includes(run.id)) {
        skipped.push(run.id);
        hooks.onRunSkipped?.(run, st.result);
      }
    });
    const next = plan.runs.findIndex((r, i) => plan.states[i].kind !== 'finished' && !trainedElsewhere(r.config.out));
    if (next === -1) {
      const unfinished = plan.states.some((st) => st.kind !== 'finished');
      if (!unfinished && plan.waiting === 0) break;
      if (!options.worker)
        throw new UserError(
          `${outDir}: other processes train the runs left; pass --worker to share the grid with them`,
        );
      if (await pause(options.pollSeconds ?? 30, hooks.shouldStop)) {
        stopped = true;
        break;
      }
      continue;
    }
    const run = plan.runs[next];
    let result: RunResult | null;
    try {
      result = await runOne(run, plan.states[next], data, grid.eval, hooks, options.torch);
    } catch (err) {
      if (options.worker && err instanceof UserError && trainedElsewhere(run.config.out)) continue; // another worker took it first
      throw err;
    }
    if (!result) {
      stopped = true;
      break;
    }
    trained.push(run.id);
    announced.add(run.id);
    hooks.onRunDone?.(run, result);
    writeResults(outDir, resultsOf(grid, planRuns(grid, outDir, data), engineName(options), data)); // a long compare shows partial results
  }
  const results = resultsOf(grid, planRuns(grid, outDir, data), engineName(options), data);
  const files = await writeReports(outDir, results);
  return { results, files, stopped, trained, skipped };
}

/** The reports of the runs finished so far, as a compare would write them at its end; trains nothing. */
async function reportFinished(grid: Grid, outDir: string, options: CompareOptions): Promise<CompareOutcome> {
  const gridFile = join(outDir, 'grid.json');
  if (!existsSync(gridFile))
    throw new UserError(
      `--out ${outDir}: not a compare folder of grid ${grid.name} (no grid.json); train it first with hsm compare --grid ${grid.name} --out ${outDir}`,
    );
  const held = readGridName(gridFile);
  if (held !== grid.name)
    throw new UserError(
      `--out ${outDir} holds grid ${held ?? '(unreadable grid.json)'}, not ${grid.name}; give its --grid`,
    );
  const data = new DataCache();
  const plan = planRuns(grid, outDir, data); // a grid that changed under the folder fails here
  const results = resultsOf(grid, plan, engineName(options), data);
  writeResults(outDir, results);
  const files = await writeReports(outDir, results);
  return { results, files, stopped: false, trained: [], skipped: results.runs.map((r) => r.id) };
}

/** The name in a compare folder's grid.json, or null when it cannot be read. */
function readGridName(file: string): string | null {
  try {
    const name = (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name;
    return typeof name === 'string' ? name : null;
  } catch {
    return null;
  }
}

/** Waits `seconds` unless asked to stop first (then true). */
async function pause(seconds: number, shouldStop?: () => boolean): Promise<boolean> {
  for (let t = 0; t < seconds * 4; t++) {
    if (shouldStop?.()) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return shouldStop?.() ?? false;
}

/** The comparison's results: the grid's finished runs (named as the grid names them: id, task, model), and the sweep's table. */
function resultsOf(grid: Grid, plan: RunPlan, backend: string, data: DataCache): CompareResults {
  const stateOf = new Map(plan.runs.map((r, i) => [r.config.out, plan.states[i]]));
  const finished: RunResult[] = [];
  for (const run of plan.main) {
    const st = stateOf.get(run.config.out);
    if (st?.kind === 'finished') finished.push({ ...st.result, id: run.id, task: run.task, model: run.model });
  }
  // The n-gram levels of each text task's split: the floor every loss chart shows.
  const levels = grid.recall
    ? undefined
    : Object.fromEntries(
        [...new Map(plan.main.map((r) => [r.task, r.config])).entries()].map(([task, cfg]) => [
          task,
          data.referenceLevels(cfg),
        ]),
      );
  return {
    ...collectResults(grid, plan.main.length, finished, backend),
    ...(levels ? { reference_levels: levels } : {}),
    ...(plan.sweep ? { sweep: plan.sweep.rows } : {}),
  };
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
      ...(grid.budgets ? { budgets: grid.budgets } : {}),
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
