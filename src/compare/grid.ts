// A grid: which models to compare (plans × seeds) on one shared data set,
// tokenizer, token budget and schedule. Built-in grids or a JSON file.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describeZodError, UserError } from '../errors.js';
import { formatMqarSpec, checkMqarSpec, type MqarSpec } from '../data/mqar.js';
import { pow2Levels } from '../model/schedule.js';
import { resolvePlan } from '../model/transformer.js';
import { mergeConfigs, parseTrainConfig, presetConfig, type TrainConfig } from '../train/config.js';
import { BUILTIN_GRIDS } from './builtin-grids.js';
import { GridSchema, type GridFields, type GridModel } from './grid-schema.js';

export type { EvalSettings, GridInput, GridModel } from './grid-schema.js';

export interface Grid extends GridFields {
  name: string;
  baseline: string;
}

/** One training run of a grid. */
export interface GridRun {
  /** Folder name under DIR/runs: [task-]model[-f<budget>]-s<seed>, or sweep-<model>-lr<lr>-b<batch>-s<seed>. */
  id: string;
  /** The data a run is scored on: the corpus name, or the recall length ("T64"); with budgets, "<corpus> <FLOPs>". */
  task: string;
  model: string;
  seed: number;
  config: TrainConfig;
  recall?: MqarSpec & { heldOutSequences: number; heldOutSeed: number };
  /** A run of the settings sweep (not part of the comparison itself). */
  sweep?: SweptSettings & { family: string };
}

/** The settings one sweep run tries, and what a family's runs train with once it is picked. */
export interface SweptSettings {
  lr: number;
  minLr: number;
  batchSize: number;
}

/** A family's pick: its best model and settings in the sweep. */
export interface SweepPick extends SweptSettings {
  model: string;
}

/** The family a model competes in during a sweep. */
export function familyOf(m: GridModel): string {
  return m.family ?? m.name;
}

/** A built-in grid by name, or a grid file. */
export function loadGrid(spec: string): Grid {
  if (Object.hasOwn(BUILTIN_GRIDS, spec)) return parseGrid(BUILTIN_GRIDS[spec], spec);
  if (!existsSync(spec)) {
    throw new UserError(
      `unknown grid "${spec}": not a built-in grid (${Object.keys(BUILTIN_GRIDS).join(', ')}) nor an existing file`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(spec, 'utf8'));
  } catch (err) {
    throw new UserError(`grid file ${spec} is not valid JSON (${(err as Error).message})`);
  }
  return parseGrid(raw, spec);
}

/** Validates a grid; every problem is a UserError that names the key. */
export function parseGrid(raw: unknown, name: string): Grid {
  const result = GridSchema.safeParse(raw);
  if (!result.success) {
    throw new UserError(`grid ${name}: ${describeZodError(result.error)}`);
  }
  const grid = result.data;
  const names = grid.models.map((m) => m.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UserError(`grid ${name}: model name "${dup}" appears twice; names must be unique`);
  if (new Set(grid.seeds).size !== grid.seeds.length)
    throw new UserError(`grid ${name}: seeds repeat; list each seed once`);
  const trainSections: [string, Record<string, unknown>][] = [
    ['train', grid.train],
    ...grid.models.map((m): [string, Record<string, unknown>] => [`model ${m.name}: train`, m.train ?? {}]),
  ];
  for (const [where, train] of trainSections) {
    for (const key of ['seed', 'out'] as const) {
      if (key in train)
        throw new UserError(
          `grid ${name}: ${where}.${key}: a grid sets each run's ${key} itself (use "seeds", and --out for the folder)`,
        );
    }
  }
  for (const m of grid.models) {
    if (m.train && 'model' in m.train)
      throw new UserError(`grid ${name}: model ${m.name}: train.model: give the model's own fields under its "model"`);
  }
  const baseline = grid.baseline ?? names[0];
  if (!names.includes(baseline))
    throw new UserError(`grid ${name}: baseline "${baseline}" is not one of its models (${names.join(', ')})`);
  const full: Grid = { ...grid, name, baseline };
  if (grid.sweep && grid.recall)
    throw new UserError(`grid ${name}: a sweep is for text grids; give recall grids one lr`);
  if (grid.budgets && grid.recall) throw new UserError(`grid ${name}: budgets are for text grids`);
  // Checks every run's configuration now, before any training: the sweep's, and the grid's with any settings picked.
  const sweepRuns = expandSweep(full, '.');
  expandGrid(full, '.', grid.sweep ? new Map(grid.models.map((m) => [familyOf(m), somePick(full, m)])) : undefined);
  for (const r of sweepRuns) expandGrid(full, '.', new Map([[r.sweep!.family, { model: r.model, ...r.sweep! }]]));
  return full;
}

/** One combination of the sweep for model m (the first), to check a picked configuration early. */
function somePick(grid: Grid, m: GridModel): SweepPick {
  const lr = grid.sweep!.lr[0];
  return { model: m.name, lr, minLr: lr * grid.sweep!.minLrFraction, batchSize: grid.sweep!.batchSize?.[0] ?? 1 };
}

/** A number as it appears in run names: 0.001 → "1e-3", 16000000000000 → "1.6e13". */
export function shortNumber(x: number): string {
  const [mantissa, exponent] = x.toExponential().split('e');
  return `${Number(mantissa)}e${Number(exponent)}`;
}

/** The sweep's runs: every model × lr × batch size × sweep seed, in that order. */
export function expandSweep(grid: Grid, outDir: string): GridRun[] {
  const sweep = grid.sweep;
  if (!sweep) return [];
  const runs: GridRun[] = [];
  const base = baseTrain(grid);
  for (const seed of sweep.seeds ?? [grid.seeds[0]]) {
    for (const m of grid.models) {
      for (const batchSize of sweep.batchSize ?? [Number(base.batchSize ?? 12)]) {
        for (const lr of sweep.lr) {
          const settings = { lr, minLr: lr * sweep.minLrFraction, batchSize };
          const id = `sweep-${m.name}-lr${shortNumber(lr)}-b${batchSize}-s${seed}`;
          const config = runConfig(grid, m, seed, join(outDir, 'runs', id), { ...sweep.train, ...settings });
          const task = basename(config.data).replace(/\.txt$/i, '');
          runs.push({ id, task, model: m.name, seed, config, sweep: { ...settings, family: familyOf(m) } });
        }
      }
    }
  }
  return runs;
}

/** The grid's training fields as merged from its preset and train section (before any model's own). */
function baseTrain(grid: Grid): Record<string, unknown> {
  return mergeConfigs(grid.preset ? presetConfig(grid.preset) : {}, grid.train as Record<string, unknown>);
}

/**
 * Every run of a grid, seed by seed (so a partial compare already covers every
 * model), and budget by budget when it has budgets. With a sweep, only the
 * families in `picks` have runs, each with its picked model and settings; a
 * run that would repeat a sweep run exactly is that sweep run.
 */
export function expandGrid(grid: Grid, outDir: string, picks?: ReadonlyMap<string, SweepPick>): GridRun[] {
  if (grid.sweep && !picks) throw new Error('expandGrid: a grid with a sweep needs its picks');
  const models: { m: GridModel; settings: Record<string, unknown> }[] = [];
  for (const m of grid.models) {
    if (!grid.sweep) models.push({ m, settings: {} });
    else {
      const pick = picks!.get(familyOf(m));
      if (pick?.model === m.name)
        models.push({ m, settings: { lr: pick.lr, minLr: pick.minLr, batchSize: pick.batchSize } });
    }
  }
  if (grid.budgets) return expandBudgets(grid, outDir, models);
  const tasks = grid.recall
    ? grid.recall.lengths.map(({ batchSize, ...l }) => ({
        name: `T${l.context}`,
        context: l.context,
        batchSize,
        recall: { vocabSize: grid.recall!.vocabSize, ...l },
      }))
    : [{ name: '', context: undefined, batchSize: undefined, recall: undefined }];
  const runs: GridRun[] = [];
  for (const seed of grid.seeds) {
    for (const task of tasks) {
      for (const { m, settings } of models) {
        const id = `${task.name ? task.name + '-' : ''}${m.name}-s${seed}`;
        const data = task.recall ? recallData(task.recall, task.batchSize) : {};
        const config = runConfig(grid, m, seed, join(outDir, 'runs', id), { ...settings, ...data }, task.context);
        const taskName = task.name || basename(config.data).replace(/\.txt$/i, '');
        const recall = task.recall && {
          ...task.recall,
          heldOutSequences: grid.recall!.heldOutSequences,
          heldOutSeed: grid.recall!.heldOutSeed,
        };
        runs.push({ id, task: taskName, model: m.name, seed, config, recall });
      }
    }
  }
  return runs;
}

/** Every model at every budget: run ids model-f<FLOPs>-s<seed>, tasks "<corpus> <FLOPs>". */
function expandBudgets(
  grid: Grid,
  outDir: string,
  models: { m: GridModel; settings: Record<string, unknown> }[],
): GridRun[] {
  const sweepRuns = expandSweep(grid, outDir);
  const runs: GridRun[] = [];
  for (const budget of grid.budgets!) {
    for (const seed of budget.seeds ?? grid.seeds) {
      for (const { m, settings } of models) {
        const id = `${m.name}-f${shortNumber(budget.flops)}-s${seed}`;
        const config = runConfig(grid, m, seed, join(outDir, 'runs', id), {
          ...settings,
          budget: { flops: budget.flops },
        });
        const same = sweepRuns.find((r) => r.model === m.name && sameTraining(r.config, config));
        const task = `${basename(config.data).replace(/\.txt$/i, '')} ${shortNumber(budget.flops)}`;
        runs.push(same ? { ...same, task, sweep: undefined } : { id, task, model: m.name, seed, config });
      }
    }
  }
  return runs;
}

/** Two configurations that train the same run (their folders aside). */
function sameTraining(a: TrainConfig, b: TrainConfig): boolean {
  return JSON.stringify({ ...a, out: '' }) === JSON.stringify({ ...b, out: '' });
}

function recallData(recall: MqarSpec, batchSize?: number): Record<string, unknown> {
  checkMqarSpec(recall);
  return { data: formatMqarSpec(recall), tokenizer: 'ids', batchSize };
}

/** A run's configuration: preset ← grid train ← model train ← `extra` (settings, budget, recall data) ← model fields. */
function runConfig(
  grid: Grid,
  m: GridModel,
  seed: number,
  out: string,
  extra: Record<string, unknown>,
  context?: number,
): TrainConfig {
  const where = `grid ${grid.name}, model ${m.name}`;
  const recall = extra.tokenizer === 'ids';
  const merged = mergeConfigs(
    grid.preset ? named(`grid ${grid.name}`, () => presetConfig(grid.preset!)) : {},
    grid.train as Record<string, unknown>,
    m.train ?? {},
    extra,
    {
      model: {
        ...(m.model ?? {}),
        plan: m.plan,
        matchParams: m.matchParams,
        ...(context ? { blockSize: context } : {}),
      },
    },
    { seed, out },
  );
  const model = merged.model as Record<string, unknown>;
  const blockSize = typeof model.blockSize === 'number' ? model.blockSize : 64; // the schema's default
  model.plan = m.plan.replaceAll('{levels}', String(pow2Levels(blockSize)));
  const config = named(where, () => parseTrainConfig(merged, where));
  if (config.tokenizer === 'ids' && !recall) throw new UserError(`${where}: the ids tokenizer needs the "recall" task`);
  named(where, () => resolvePlan({ ...config.model, vocabSize: 2 })); // unknown mixers and options fail here, not hours later
  return config;
}

/** Runs `fn`, prefixing a UserError's message with the grid and model it concerns. */
function named<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UserError && !err.message.startsWith(where)) throw new UserError(`${where}: ${err.message}`);
    throw err;
  }
}
