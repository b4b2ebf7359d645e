// A grid: which models to compare (plans × seeds) on one shared data set,
// tokenizer, token budget and schedule. Built-in grids or a JSON file.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describeZodError, UserError } from '../errors.js';
import { formatMqarSpec, checkMqarSpec, zoologyPairs, type MqarSpec } from '../data/mqar.js';
import { resolveLevels } from '../model/schedule.js';
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
  /** A run of the settings sweep (not part of the comparison itself); `key` names the pick it competes for (pickKey). */
  sweep?: SweptSettings & { family: string; key: string };
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

/**
 * What a sweep picks for: each family once, or on the recall task each family
 * at each length (the best learning rate may differ between lengths).
 */
export function pickKey(family: string, recallTask?: string): string {
  return recallTask ? `${family} @ ${recallTask}` : family;
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
  for (const m of grid.models) {
    if (m.baseline === undefined) continue;
    if (!names.includes(m.baseline))
      throw new UserError(
        `grid ${name}: model ${m.name}: baseline "${m.baseline}" is not one of its models (${names.join(', ')})`,
      );
    if (m.baseline === m.name)
      throw new UserError(`grid ${name}: model ${m.name}: baseline: a model is not compared with itself; leave it out`);
  }
  const full: Grid = { ...grid, name, baseline };
  if (grid.budgets && grid.recall) throw new UserError(`grid ${name}: budgets are for text grids`);
  const ownLr = grid.models.find((m) => m.sweepLr);
  if (ownLr && !grid.sweep)
    throw new UserError(`grid ${name}: model ${ownLr.name}: sweepLr needs the grid's "sweep" (it replaces sweep.lr)`);
  const noLr = grid.models.filter((m) => !m.sweepLr).map((m) => m.name);
  if (grid.sweep && !grid.sweep.lr && noLr.length > 0)
    throw new UserError(
      `grid ${name}: sweep.lr: give the learning rates to try, or a sweepLr to each model (missing for ${noLr.join(', ')})`,
    );
  // Checks every run's configuration now, before any training: the sweep's, and the grid's with any settings picked.
  const sweepRuns = expandSweep(full, '.');
  const taskNames = full.recall ? recallTasks(full).map((t) => t.name) : [undefined];
  const anyPick = grid.sweep
    ? new Map(grid.models.flatMap((m) => taskNames.map((t) => [pickKey(familyOf(m), t), somePick(full, m)] as const)))
    : undefined; // a grid without a sweep has no settings to pick
  expandGrid(full, '.', anyPick, sweepRuns);
  for (const r of sweepRuns)
    expandGrid(full, '.', new Map([[r.sweep!.key, { model: r.model, ...r.sweep! }]]), sweepRuns);
  return full;
}

/** One combination of the sweep for model m (the first), to check a picked configuration early. */
function somePick(grid: Grid, m: GridModel): SweepPick {
  const lr = sweepLrOf(grid, m)[0];
  return { model: m.name, lr, minLr: lr * grid.sweep!.minLrFraction, batchSize: grid.sweep!.batchSize?.[0] ?? 1 };
}

/** The peak learning rates model m tries in the sweep: its own, or the sweep's (validation checked one is there). */
function sweepLrOf(grid: Grid, m: GridModel): number[] {
  return m.sweepLr ?? grid.sweep?.lr ?? [];
}

/** A number as it appears in run names: 0.001 → "1e-3", 16000000000000 → "1.6e13". */
export function shortNumber(x: number): string {
  const [mantissa, exponent] = x.toExponential().split('e');
  return `${Number(mantissa)}e${Number(exponent)}`;
}

/**
 * The sweep's runs: every model × lr × batch size × sweep seed, in that order;
 * on the recall task, at every length (sweep-T<length>-…).
 */
export function expandSweep(grid: Grid, outDir: string): GridRun[] {
  const sweep = grid.sweep;
  if (!sweep) return [];
  const runs: GridRun[] = [];
  const base = baseTrain(grid);
  const tasks = grid.recall ? recallTasks(grid) : [undefined];
  for (const seed of sweep.seeds ?? [grid.seeds[0]]) {
    for (const task of tasks) {
      for (const m of grid.models) {
        for (const batchSize of sweep.batchSize ?? [Number(base.batchSize ?? 12)]) {
          for (const lr of sweepLrOf(grid, m)) {
            const settings = { lr, minLr: lr * sweep.minLrFraction, batchSize };
            const id = `sweep-${task ? task.name + '-' : ''}${m.name}-lr${shortNumber(lr)}-b${batchSize}-s${seed}`;
            const data = task ? recallData(task.recall, task.steps) : {};
            const extra = { ...sweep.train, ...settings, ...data };
            const config = runConfig(grid, m, seed, join(outDir, 'runs', id), extra, task?.context);
            const family = familyOf(m);
            runs.push({
              id,
              task: task?.name ?? basename(config.data).replace(/\.txt$/i, ''),
              model: m.name,
              seed,
              config,
              ...(task && { recall: heldOutTask(grid, task.recall) }),
              sweep: { ...settings, family, key: pickKey(family, task?.name) },
            });
          }
        }
      }
    }
  }
  return runs;
}

/** The recall task's lengths as tasks: T<length>, its spec, and its own batch size and accumulation. */
function recallTasks(grid: Grid) {
  return grid.recall!.lengths.map(({ batchSize, gradAccum, ...l }) => ({
    name: `T${l.context}`,
    context: l.context,
    steps: { batchSize, gradAccum },
    recall: recallSpec(grid.recall!, l),
  }));
}

/** A length's spec with the held-out set every run of the grid is scored on. */
function heldOutTask(grid: Grid, spec: MqarSpec): NonNullable<GridRun['recall']> {
  return { ...spec, heldOutSequences: grid.recall!.heldOutSequences, heldOutSeed: grid.recall!.heldOutSeed };
}

/** The grid's training fields as merged from its preset and train section (before any model's own). */
function baseTrain(grid: Grid): Record<string, unknown> {
  return mergeConfigs(grid.preset ? presetConfig(grid.preset) : {}, grid.train as Record<string, unknown>);
}

/**
 * Every run of a grid, seed by seed (so a partial compare already covers every
 * model), and budget by budget when it has budgets. With a sweep, only the
 * families in `picks` have runs, each with its picked model and settings; a
 * run that would repeat a sweep run exactly is that sweep run. `sweepRuns`
 * (expandSweep's, for this folder) saves expanding them again.
 */
export function expandGrid(
  grid: Grid,
  outDir: string,
  picks?: ReadonlyMap<string, SweepPick>,
  sweepRuns?: GridRun[],
): GridRun[] {
  if (grid.sweep && !picks) throw new Error('expandGrid: a grid with a sweep needs its picks');
  /** The grid's models on a task: all of them, or with a sweep each family's pick with its settings. */
  const modelsFor = (task?: string) => {
    const models: { m: GridModel; settings: Record<string, unknown> }[] = [];
    for (const m of grid.models) {
      if (!grid.sweep) models.push({ m, settings: {} });
      else {
        const pick = picks!.get(pickKey(familyOf(m), task));
        if (pick?.model === m.name)
          models.push({ m, settings: { lr: pick.lr, minLr: pick.minLr, batchSize: pick.batchSize } });
      }
    }
    return models;
  };
  if (grid.budgets) return expandBudgets(grid, outDir, modelsFor());
  const swept = grid.sweep ? (sweepRuns ?? expandSweep(grid, outDir)) : [];
  const tasks = grid.recall ? recallTasks(grid) : [undefined];
  const runs: GridRun[] = [];
  for (const seed of grid.seeds) {
    for (const task of tasks) {
      for (const { m, settings } of modelsFor(task?.name)) {
        const id = `${task ? task.name + '-' : ''}${m.name}-s${seed}`;
        const data = task ? recallData(task.recall, task.steps) : {};
        const config = runConfig(grid, m, seed, join(outDir, 'runs', id), { ...settings, ...data }, task?.context);
        const taskName = task?.name ?? basename(config.data).replace(/\.txt$/i, '');
        const same = swept.find((r) => r.model === m.name && r.task === taskName && sameTraining(r.config, config));
        if (same) runs.push({ ...same, sweep: undefined });
        else
          runs.push({
            id,
            task: taskName,
            model: m.name,
            seed,
            config,
            ...(task && { recall: heldOutTask(grid, task.recall) }),
          });
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

/** A recall length's training fields: its data string, the ids tokenizer, and its own batch size and accumulation. */
function recallData(recall: MqarSpec, steps: { batchSize?: number; gradAccum?: number }): Record<string, unknown> {
  checkMqarSpec(recall);
  return { data: formatMqarSpec(recall), tokenizer: 'ids', ...steps };
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
  model.plan = resolveLevels(m.plan, blockSize);
  const config = named(where, () => parseTrainConfig(merged, where));
  if (config.tokenizer === 'ids' && !recall) throw new UserError(`${where}: the ids tokenizer needs the "recall" task`);
  named(where, () => resolvePlan({ ...config.model, vocabSize: 2 })); // unknown mixers and options fail here, not hours later
  return config;
}

/** One length's task: the grid's generator and options, pairs defaulting to Zoology's per length. */
function recallSpec(
  recall: NonNullable<GridFields['recall']>,
  length: Omit<NonNullable<GridFields['recall']>['lengths'][number], 'batchSize' | 'gradAccum'>,
): MqarSpec {
  const { lengths: _, heldOutSequences: __, heldOutSeed: ___, ...task } = recall;
  const spec: MqarSpec = { ...task, ...length, pairs: length.pairs ?? zoologyPairs(length.context) };
  // Unset options stay out, so the spec (the data cache's key) names only what the grid set.
  for (const k of Object.keys(spec) as (keyof MqarSpec)[]) if (spec[k] === undefined) delete spec[k];
  return spec;
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
