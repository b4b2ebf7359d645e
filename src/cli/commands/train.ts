import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../errors.js';
import { makeFolder } from '../../io/folders.js';
import { presetReference, type TrainConfig } from '../../train/config.js';
import { compareWithReference } from '../../train/reference-comparison.js';
import { machineProvenance, summarizeRun, writeRunSummary } from '../../train/run-summary.js';
import { train, type StepMetrics } from '../../train/trainer.js';
import { addConfigOptions, resolveConfig, type ConfigFlags } from '../options.js';
import { kernels, nativeBackend } from '../../backend/index.js';
import { stopOnCtrlC } from '../ctrl-c.js';
import { addEngineOptions, torchEngineOptions, type EngineFlags } from '../engine-options.js';
import type { TorchEngineOptions } from '../../train/torch-launch.js';

export function registerTrain(program: Command): void {
  const cmd = program
    .command('train')
    .description(
      'train a model; writes config.json, model.safetensors, optimizer.safetensors and metrics.jsonl to --out',
    );
  addConfigOptions(cmd)
    .option('--resume', 'continue the run in --out exactly where its last checkpoint left off')
    .option('--overwrite', 'start again in an --out folder that already holds a run (replaces it)')
    .option(
      '--summary <file>',
      "also write the finished run's summary (val loss, training tokens/s, wall time, parameters, command, commit, machine) as JSON to this file",
    )
    .option('--no-memory-check', "train even when the estimated memory exceeds this machine's");
  addEngineOptions(cmd, { multiNode: true }).action(
    async (flags: ConfigFlags & EngineFlags & { overwrite?: boolean; summary?: string; memoryCheck: boolean }) => {
      if (flags.resume && flags.overwrite)
        throw new UserError('--resume and --overwrite contradict each other; pick one');
      // The summary's folder is checked (and made) now, not after hours of training.
      if (flags.summary === '') throw new UserError('--summary needs a file name');
      if (flags.summary !== undefined) makeFolder(dirname(resolve(flags.summary)), 'summary folder');
      await runTraining(resolveConfig(flags), {
        resume: !!flags.resume,
        overwrite: !!flags.overwrite,
        preset: flags.preset ?? null,
        summaryFile: flags.summary,
        memoryCheck: flags.memoryCheck,
        torch: torchEngineOptions(flags),
      });
    },
  );
}

interface RunOptions {
  resume: boolean;
  overwrite: boolean;
  /** The preset named on the command line: a preset with a reference gets the comparison with its committed runs at the end. */
  preset: string | null;
  summaryFile?: string;
  memoryCheck: boolean;
  torch?: TorchEngineOptions;
}

async function runTraining(
  cfg: TrainConfig,
  { resume, overwrite, preset, summaryFile, memoryCheck, torch }: RunOptions,
): Promise<void> {
  const stop = stopOnCtrlC();
  const tty = process.stderr.isTTY;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: 'step {value}/{total} |{bar}| loss {loss} | val {val} | {tps} tok/s | ETA {eta_formatted}',
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let lastVal = '-',
    parameters = 0,
    elapsedS = 0,
    maxIters = cfg.maxIters; // a FLOP budget fixes it once the model is known
  const stepTokensPerS: number[] = [];
  const engineName = torch
    ? `engine torch (${torch.nproc * torch.nnodes} process${torch.nproc * torch.nnodes > 1 ? 'es' : ''}, ${torch.device})`
    : `backend ${kernels().name}`;
  const fmtLine = (m: StepMetrics) =>
    `step ${m.step}/${maxIters}  loss ${m.train_loss.toFixed(4)}${m.val_loss !== undefined ? `  val ${m.val_loss.toFixed(4)}` : ''}` +
    `${m.val_accuracy !== undefined ? `  val acc ${(100 * m.val_accuracy).toFixed(1)}%` : ''}` +
    `  lr ${m.lr.toExponential(2)}  ${Math.round(m.tokens_per_s)} tok/s  ${m.elapsed_s.toFixed(1)}s`;
  try {
    const result = await train(cfg, {
      resume,
      overwrite,
      memoryCheck,
      torch,
      hooks: {
        onStart: (i) => {
          stop.training();
          parameters = i.parameters;
          maxIters = i.maxIters;
          const what = i.resumed ? `resuming ${cfg.out} at step ${i.startStep}` : `training into ${cfg.out}`;
          console.error(
            `hsm: ${what}: ${(i.parameters / 1e6).toFixed(2)}M parameters, vocabulary ${i.vocabSize}, ` +
              `${i.trainTokens} train / ${i.valTokens} val tokens, ${engineName}`,
          );
          if (cfg.budget)
            console.error(
              `hsm: a budget of ${cfg.budget.flops.toExponential(3)} training FLOPs pays for ${i.maxIters} steps`,
            );
          bar?.start(i.maxIters, i.startStep, { loss: '-', val: '-', tps: '-' });
        },
        onStep: (m) => {
          stepTokensPerS.push(m.tokens_per_s);
          elapsedS = m.elapsed_s;
          if (m.val_loss !== undefined) lastVal = m.val_loss.toFixed(4);
          if (bar) bar.update(m.step, { loss: m.train_loss.toFixed(4), val: lastVal, tps: Math.round(m.tokens_per_s) });
          else if (m.step % cfg.logInterval === 0 || m.val_loss !== undefined) console.error(fmtLine(m));
        },
        shouldStop: stop.requested,
        onWarning: (message) => console.error(`hsm: ${message}`),
      },
    });
    bar?.stop();
    if (result.follower) {
      console.error(`hsm: node ${torch!.nodeRank} done; node 0 holds the run, its checkpoints and its metrics`);
      return;
    }
    const summary = {
      out: result.outDir,
      step: result.step,
      stopped: result.stopped,
      ...(result.stoppedAtAccuracy != null ? { stopped_at_accuracy: result.stoppedAtAccuracy } : {}),
      final_val_loss: result.finalValLoss,
      best_val_loss: result.bestValLoss,
    };
    console.log(JSON.stringify(summary));
    if (result.stoppedAtAccuracy != null)
      console.error(
        `hsm: stopped at step ${result.step}: validation accuracy ${(100 * result.stoppedAtAccuracy).toFixed(2)}% reached stopAtAccuracy ${cfg.stopAtAccuracy}`,
      );
    if (result.stopped)
      console.error(`hsm: checkpoint saved at step ${result.step}; continue with --resume --out ${result.outDir}`);
    if (result.stopped || result.finalValLoss === null || stepTokensPerS.length === 0) return; // nothing trained to the end in this process
    const reference = preset ? presetReference(preset) : undefined;
    if (summaryFile === undefined && !reference) return;
    const backend = torch ? `torch-${torch.device}` : kernels().name;
    const run = summarizeRun(
      {
        cfg: result.config,
        preset,
        parameters,
        step: result.step,
        finalValLoss: result.finalValLoss,
        bestValLoss: result.bestValLoss,
        stepTokensPerS,
        elapsedS,
        backend,
        threads: torch ? torch.nproc * torch.nnodes : backend === 'native' ? (nativeBackend()?.threads() ?? 1) : 1,
      },
      machineProvenance(),
    );
    if (summaryFile !== undefined) {
      try {
        writeRunSummary(summaryFile, run);
        console.error(`hsm: run summary written to ${summaryFile}`);
      } catch (err) {
        console.error(
          `hsm: the run is saved, but its summary could not be written to ${summaryFile}: ${(err as Error).message}`,
        );
        process.exitCode = 2;
      }
    }
    if (reference) for (const line of compareWithReference(run, reference)) console.error(line);
  } finally {
    bar?.stop();
    stop.release();
  }
}
