import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { UserError } from '../../data/errors.js';
import { mergeConfigs, parseTrainConfig, presetConfig, PRESETS } from '../../train/config.js';
import { train, type StepMetrics } from '../../train/trainer.js';
import { readRunConfig } from '../../train/checkpoint.js';
import { kernels } from '../../backend/index.js';

interface TrainFlags {
  config?: string;
  preset?: string;
  resume?: boolean;
  [flag: string]: unknown;
}

/** Flags that map one to one onto config fields (model fields are nested). */
const NUMBER_FLAGS: [flag: string, key: string, model?: boolean][] = [
  ['maxIters', 'maxIters'], ['batchSize', 'batchSize'], ['gradAccum', 'gradAccum'], ['lr', 'lr'], ['minLr', 'minLr'],
  ['warmupIters', 'warmupIters'], ['lrDecayIters', 'lrDecayIters'], ['weightDecay', 'weightDecay'], ['gradClip', 'gradClip'],
  ['beta2', 'beta2'], ['evalInterval', 'evalInterval'], ['evalIters', 'evalIters'], ['logInterval', 'logInterval'],
  ['checkpointInterval', 'checkpointInterval'], ['seed', 'seed'],
  ['context', 'blockSize', true], ['dropout', 'dropout', true], ['nLayer', 'nLayer', true], ['nHead', 'nHead', true], ['nEmbd', 'nEmbd', true],
];

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

function toNumber(flag: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UserError(`--${flag.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}: "${value}" is not a number`);
  return n;
}

export function registerTrain(program: Command): void {
  const cmd = program
    .command('train')
    .description('train a model; writes config.json, model.safetensors, optimizer.safetensors and metrics.jsonl to --out')
    .option('--config <file>', 'JSON file with training options (same keys as the flags, model fields under "model")')
    .option('--preset <name>', `named configuration: ${Object.keys(PRESETS).join(', ')}`)
    .option('--data <spec>', 'corpus: sotu (default), shakespeare, a text file or a folder of .txt files')
    .option('--tokenizer <kind>', 'char, byte or gpt2')
    .option('--out <dir>', 'run folder')
    .option('--resume', 'continue the run in --out exactly where its last checkpoint left off')
    .option('--overwrite', 'start again in an --out folder that already holds a run (replaces it)');
  for (const [flag, , model] of NUMBER_FLAGS) {
    const dashed = flag.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    cmd.option(`--${dashed} <n>`, model ? `model ${flag === 'context' ? 'context length (blockSize)' : flag}` : flag);
  }
  cmd.action(async (flags: TrainFlags) => {
    const fromFlags: Record<string, unknown> = { data: flags.data, tokenizer: flags.tokenizer, out: flags.out };
    const model: Record<string, unknown> = {};
    for (const [flag, key, isModel] of NUMBER_FLAGS) {
      if (flags[flag] === undefined) continue;
      (isModel ? model : fromFlags)[key] = toNumber(flag, flags[flag]);
    }
    if (Object.keys(model).length) fromFlags.model = model;
    const preset = flags.preset ? presetConfig(flags.preset) : {};
    // Resuming starts from the run's own saved configuration; flags may extend it (e.g. --max-iters).
    const outDir = (flags.out ?? preset.out) as string | undefined;
    if (flags.resume && !outDir) throw new UserError('--resume needs --out (or --preset) to name the run folder to continue');
    const saved = flags.resume ? (readRunConfig(outDir!).train as unknown as Record<string, unknown>) : {};
    const raw = mergeConfigs(
      saved,
      preset,
      flags.config ? readConfigFile(flags.config) : {},
      fromFlags,
    );
    const cfg = parseTrainConfig(raw, flags.config ?? 'options');
    if (flags.resume && flags.overwrite) throw new UserError('--resume and --overwrite contradict each other; pick one');
    await runTraining(cfg, !!flags.resume, !!flags.overwrite);
  });
}

async function runTraining(cfg: ReturnType<typeof parseTrainConfig>, resume: boolean, overwrite: boolean): Promise<void> {
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130); // a second Ctrl-C leaves at once
    stopRequested = true;
    process.stderr.write('\nhsm: stopping after this step and saving a checkpoint (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', onSigint);
  const tty = process.stderr.isTTY;
  const bar = tty
    ? new cliProgress.SingleBar({
        format: 'step {value}/{total} |{bar}| loss {loss} | val {val} | {tps} tok/s | ETA {eta_formatted}',
        stream: process.stderr, hideCursor: true, etaBuffer: 50,
      }, cliProgress.Presets.shades_classic)
    : null;
  let lastVal = '-';
  const fmtLine = (m: StepMetrics) =>
    `step ${m.step}/${cfg.maxIters}  loss ${m.train_loss.toFixed(4)}${m.val_loss !== undefined ? `  val ${m.val_loss.toFixed(4)}` : ''}` +
    `  lr ${m.lr.toExponential(2)}  ${Math.round(m.tokens_per_s)} tok/s  ${m.elapsed_s.toFixed(1)}s`;
  try {
    const result = await train(cfg, {
      resume,
      overwrite,
      hooks: {
        onStart: (i) => {
          const what = i.resumed ? `resuming ${cfg.out} at step ${i.startStep}` : `training into ${cfg.out}`;
          console.error(`hsm: ${what}: ${(i.parameters / 1e6).toFixed(2)}M parameters, vocabulary ${i.vocabSize}, ` +
            `${i.trainTokens} train / ${i.valTokens} val tokens, backend ${kernels().name}`);
          bar?.start(i.maxIters, i.startStep, { loss: '-', val: '-', tps: '-' });
        },
        onStep: (m) => {
          if (m.val_loss !== undefined) lastVal = m.val_loss.toFixed(4);
          if (bar) bar.update(m.step, { loss: m.train_loss.toFixed(4), val: lastVal, tps: Math.round(m.tokens_per_s) });
          else if (m.step % cfg.logInterval === 0 || m.val_loss !== undefined) console.error(fmtLine(m));
        },
        shouldStop: () => stopRequested,
      },
    });
    bar?.stop();
    const summary = { out: result.outDir, step: result.step, stopped: result.stopped, final_val_loss: result.finalValLoss, best_val_loss: result.bestValLoss };
    console.log(JSON.stringify(summary));
    if (result.stopped) console.error(`hsm: checkpoint saved at step ${result.step}; continue with --resume --out ${result.outDir}`);
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
  }
}
