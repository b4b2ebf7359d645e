import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describeZodError, UserError } from '../errors.js';
import { assertNotLocked } from '../io/folder-lock.js';
import { readRunConfig } from '../train/checkpoint.js';
import { runFolderState } from '../train/run-folder.js';
import { mergeConfigs, presetConfig, PRESETS, TrainConfigSchema, type TrainConfig } from '../train/config.js';

/** Options shared by `train` and `info`: where a configuration comes from and what it says. */
export interface ConfigFlags {
  config?: string;
  preset?: string;
  resume?: boolean;
  [flag: string]: unknown;
}

type Kind = 'number' | 'string' | 'boolean';
/** [flag name (camelCase), config key, belongs to the model, value kind, help] */
const FLAGS: [string, string, boolean, Kind, string][] = [
  ['data', 'data', false, 'string', 'corpus: sotu (default), shakespeare, a text file or a folder of .txt files'],
  ['tokenizer', 'tokenizer', false, 'string', 'char, byte or gpt2'],
  ['out', 'out', false, 'string', 'run folder'],
  ['maxIters', 'maxIters', false, 'number', 'training iterations'],
  [
    'budgetFlops',
    'budget.flops',
    false,
    'number',
    'train for this many FLOPs instead of --max-iters (e.g. 2e13): the steps and the LR decay follow from the model',
  ],
  ['batchSize', 'batchSize', false, 'number', 'sequences per micro-batch'],
  ['gradAccum', 'gradAccum', false, 'number', 'micro-batches per step'],
  ['lr', 'lr', false, 'number', 'peak learning rate'],
  ['minLr', 'minLr', false, 'number', 'learning rate at the end of the cosine decay'],
  ['warmupIters', 'warmupIters', false, 'number', 'linear warm-up iterations'],
  ['lrDecayIters', 'lrDecayIters', false, 'number', 'iterations of cosine decay (default: maxIters)'],
  [
    'seqWarmupFraction',
    'seqWarmupFraction',
    false,
    'number',
    'sequence-length warm-up: this share of the steps trains on shorter, more numerous windows (same tokens a step)',
  ],
  [
    'seqWarmupStart',
    'seqWarmupStart',
    false,
    'number',
    'first window length of the sequence-length warm-up, doubling up to --context (default 64)',
  ],
  ['weightDecay', 'weightDecay', false, 'number', 'AdamW weight decay (matrices only)'],
  ['gradClip', 'gradClip', false, 'number', 'global gradient-norm clip (0 = off)'],
  ['beta2', 'beta2', false, 'number', 'AdamW β2'],
  ['evalInterval', 'evalInterval', false, 'number', 'iterations between validation estimates'],
  ['evalIters', 'evalIters', false, 'number', 'validation batches per estimate'],
  [
    'stopAtAccuracy',
    'stopAtAccuracy',
    false,
    'number',
    'stop at the first evaluation whose validation accuracy (scored tokens predicted right) reaches this, e.g. 0.99',
  ],
  ['logInterval', 'logInterval', false, 'number', 'iterations between log lines'],
  ['checkpointInterval', 'checkpointInterval', false, 'number', 'iterations between checkpoints'],
  ['seed', 'seed', false, 'number', 'random seed'],
  ['context', 'blockSize', true, 'number', 'context length (blockSize)'],
  ['nLayer', 'nLayer', true, 'number', 'blocks (taken from --plan when omitted)'],
  ['nHead', 'nHead', true, 'number', 'attention heads'],
  ['nEmbd', 'nEmbd', true, 'number', 'model width d'],
  ['dropout', 'dropout', true, 'number', 'dropout on embeddings and residual branches'],
  ['plan', 'plan', true, 'string', 'layer plan, e.g. "hsm:ab*3,attn" (default: attention in every block)'],
  ['schedule', 'schedule', true, 'string', 'shift schedule: pow2, pow2-heads or a JSON list like [1,2,4]'],
  ['hsmHeads', 'hsmHeads', true, 'number', 'head groups of the HSM layers'],
  [
    'positions',
    'positions',
    true,
    'boolean',
    'learned positions: true or false (default: when the plan has attention)',
  ],
  ['ffnHidden', 'ffnHidden', true, 'number', 'FFN hidden width (default 4·d; 8·d/3 with SwiGLU)'],
  [
    'style',
    'style',
    true,
    'string',
    'block style: gpt2 (default) or transformer++ (RMSNorm, SwiGLU, no biases, rotary positions)',
  ],
  ['norm', 'norm', true, 'string', "override the style's norm: layernorm or rmsnorm"],
  ['ffn', 'ffn', true, 'string', "override the style's FFN: gelu or swiglu"],
  ['bias', 'bias', true, 'boolean', "override the style's biases: true or false"],
  ['rotary', 'rotary', true, 'boolean', "override the style's rotary positions in attention: true or false"],
  ['matchParams', 'matchParams', true, 'string', 'size the FFN to the parameter count of this plan, e.g. attn*4'],
];

const dashed = (flag: string) => flag.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

export function addConfigOptions(cmd: Command): Command {
  cmd
    .option('--config <file>', 'JSON file with training options (same keys as the flags, model fields under "model")')
    .option('--preset <name>', `named configuration: ${Object.keys(PRESETS).join(', ')}`);
  for (const [flag, , , , help] of FLAGS) cmd.option(`--${dashed(flag)} <value>`, help);
  return cmd;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`config file ${path} cannot be read; check the path`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new UserError(`config file ${path} is not a JSON object; see \`hsm train --help\` for its keys`);
  }
}

/**
 * What --resume starts from: the run's config.json; for a run whose first save never committed, the config.json
 * that save wrote if it got that far, else nothing (the flags describe the run); never that of a run being replaced.
 */
function savedConfig(dir: string): Record<string, unknown> {
  const state = existsSync(dir) ? runFolderState(dir) : 'other';
  if (state === 'replacing' || (state === 'first-save-pending' && !existsSync(join(dir, 'config.json')))) return {};
  return readRunConfig(dir).train as unknown as Record<string, unknown>;
}

function convert(flag: string, kind: Kind, value: unknown): unknown {
  const text = String(value);
  if (kind === 'string') {
    if (flag === 'schedule' && text.startsWith('[')) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new UserError(`--schedule: "${text}" is not a JSON list`);
      }
    }
    return text;
  }
  if (kind === 'boolean') {
    if (text !== 'true' && text !== 'false')
      throw new UserError(`--${dashed(flag)}: expected true or false, got "${text}"`);
    return text === 'true';
  }
  const n = Number(text);
  if (!Number.isFinite(n) || text.trim() === '') throw new UserError(`--${dashed(flag)}: "${text}" is not a number`);
  return n;
}

/**
 * The configuration that flags describe: the saved run (with --resume), then
 * the preset, then the config file, then individual flags; validated.
 */
export function resolveConfig(flags: ConfigFlags): TrainConfig {
  const fromFlags: Record<string, unknown> = {};
  const model: Record<string, unknown> = {};
  for (const [flag, key, isModel, kind] of FLAGS) {
    if (flags[flag] === undefined) continue;
    const value = convert(flag, kind, flags[flag]);
    const [outer, inner] = key.split('.');
    if (inner) fromFlags[outer] = { [inner]: value };
    else (isModel ? model : fromFlags)[key] = value;
  }
  if (Object.keys(model).length) fromFlags.model = model;
  const preset = flags.preset !== undefined ? presetConfig(flags.preset) : {};
  const outDir = (fromFlags.out ?? preset.out) as string | undefined;
  if (flags.resume && !outDir)
    throw new UserError('--resume needs --out (or --preset) to name the run folder to continue');
  // Resuming starts from the run's own saved configuration; flags may extend it (e.g. --max-iters).
  if (flags.resume) assertNotLocked(outDir!, 'run folder');
  const saved = flags.resume ? savedConfig(outDir!) : {};
  const file = flags.config !== undefined ? readConfigFile(flags.config) : {};
  const raw = mergeConfigs(saved, preset, file, fromFlags);
  // A FLOP budget fixes the steps itself; a step count given beside it would be silently replaced.
  for (const key of ['maxIters', 'lrDecayIters'] as const) {
    if (raw.budget !== undefined && fromFlags[key] !== undefined)
      throw new UserError(
        `--${dashed(key)} conflicts with the FLOP budget (budget.flops), which fixes the steps; change --budget-flops instead`,
      );
  }
  const result = TrainConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  // Name the problem where the user wrote it: the flag, the config file, the preset or the resumed run's config.json.
  const issue = result.error.issues[0];
  const has = (layer: Record<string, unknown>) => issue.path.length > 0 && lookup(layer, issue.path) !== undefined;
  const flag = FLAGS.find(
    ([, key, isModel]) => (isModel ? ['model', key] : key.split('.')).join('.') === issue.path.join('.'),
  );
  const where =
    flag && has(fromFlags)
      ? `--${dashed(flag[0])}`
      : has(file)
        ? `${flags.config}: ${issue.path.join('.')}`
        : has(preset)
          ? `preset ${flags.preset}: ${issue.path.join('.')}`
          : has(saved)
            ? `${outDir}/config.json (the run being resumed): ${issue.path.join('.')}`
            : undefined;
  const message = where
    ? `${where}: ${describeZodError(result.error).replace(/^[^:]*: /, '')}`
    : `${flags.config ?? 'options'}: ${describeZodError(result.error)}`;
  throw new UserError(`${message}; see \`hsm train --help\` for the valid options`);
}

/** The value at a key path in a nested config object, if there is one. */
function lookup(layer: Record<string, unknown>, path: (string | number)[]): unknown {
  let v: unknown = layer;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}
