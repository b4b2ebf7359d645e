// A grid: which models to compare (plans × seeds) on one shared data set,
// tokenizer, token budget and schedule. Built-in grids or a JSON file.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describeZodError, UserError } from '../errors.js';
import { formatMqarSpec, checkMqarSpec, zoologyPairs, type MqarSpec } from '../data/mqar.js';
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
  /** Folder name under DIR/runs: [task-]model-s<seed>. */
  id: string;
  /** The data a run is scored on: the corpus name, or the recall length ("T64"). */
  task: string;
  model: string;
  seed: number;
  config: TrainConfig;
  recall?: MqarSpec & { heldOutSequences: number; heldOutSeed: number };
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
  expandGrid(full, '.'); // checks every run's configuration now, before any training
  return full;
}

/** Every run of a grid, seed by seed (so a partial compare already covers every model). */
export function expandGrid(grid: Grid, outDir: string): GridRun[] {
  const tasks = grid.recall
    ? grid.recall.lengths.map(({ batchSize, gradAccum, ...l }) => ({
        name: `T${l.context}`,
        context: l.context,
        steps: { batchSize, gradAccum },
        recall: recallSpec(grid.recall!, l),
      }))
    : [{ name: '', context: undefined, steps: {}, recall: undefined }];
  const runs: GridRun[] = [];
  for (const seed of grid.seeds) {
    for (const task of tasks) {
      for (const m of grid.models) {
        const id = `${task.name ? task.name + '-' : ''}${m.name}-s${seed}`;
        const config = runConfig(grid, m, seed, join(outDir, 'runs', id), task.context, task.recall, task.steps);
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

function runConfig(
  grid: Grid,
  m: GridModel,
  seed: number,
  out: string,
  context?: number,
  recall?: MqarSpec,
  steps: { batchSize?: number; gradAccum?: number } = {},
): TrainConfig {
  const where = `grid ${grid.name}, model ${m.name}`;
  const data: Record<string, unknown> = {};
  if (recall) {
    checkMqarSpec(recall);
    Object.assign(data, { data: formatMqarSpec(recall), tokenizer: 'ids', ...steps });
  }
  const merged = mergeConfigs(
    grid.preset ? named(`grid ${grid.name}`, () => presetConfig(grid.preset!)) : {},
    grid.train as Record<string, unknown>,
    m.train ?? {},
    data,
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
