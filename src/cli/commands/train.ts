import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { UserError } from '../../errors.js';
import type { TrainConfig } from '../../train/config.js';
import { train, type StepMetrics } from '../../train/trainer.js';
import { addConfigOptions, resolveConfig, type ConfigFlags } from '../options.js';
import { kernels } from '../../backend/index.js';
import { stopOnCtrlC } from '../ctrl-c.js';

export function registerTrain(program: Command): void {
  const cmd = program
    .command('train')
    .description('train a model; writes config.json, model.safetensors, optimizer.safetensors and metrics.jsonl to --out');
  addConfigOptions(cmd)
    .option('--resume', 'continue the run in --out exactly where its last checkpoint left off')
    .option('--overwrite', 'start again in an --out folder that already holds a run (replaces it)')
    .action(async (flags: ConfigFlags & { overwrite?: boolean }) => {
      if (flags.resume && flags.overwrite) throw new UserError('--resume and --overwrite contradict each other; pick one');
      await runTraining(resolveConfig(flags), !!flags.resume, !!flags.overwrite);
    });
}

async function runTraining(cfg: TrainConfig, resume: boolean, overwrite: boolean): Promise<void> {
  const stop = stopOnCtrlC();
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
        shouldStop: stop.requested,
      },
    });
    bar?.stop();
    const summary = { out: result.outDir, step: result.step, stopped: result.stopped, final_val_loss: result.finalValLoss, best_val_loss: result.bestValLoss };
    console.log(JSON.stringify(summary));
    if (result.stopped) console.error(`hsm: checkpoint saved at step ${result.step}; continue with --resume --out ${result.outDir}`);
  } finally {
    bar?.stop();
    stop.release();
  }
}
