import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeTokenFolder } from '../data/token-files.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { makeFolder } from '../io/folders.js';
import { modelDescription } from '../model/describe.js';
import { Rng } from '../tensor/random.js';
import { loadModel, loadTrainingState, saveCheckpoint, writeRunConfig, type TrainingState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { discardRun } from './run-folder.js';
import { runIdentity } from './run-config.js';
import { findTorch, launchRanks, type RankFailure, type TorchEngineOptions, type TorchEvent } from './torch-launch.js';
import {
  divergedError,
  keepMetricsUpTo,
  newOptimizer,
  prepareRun,
  startInfo,
  type StepMetrics,
  type TrainOptions,
  type TrainResult,
} from './run-setup.js';

/**
 * `hsm train --engine torch`: the same run, trained by PyTorch (python/hsm_torch)
 * on one or many processes. This side does everything but the steps: it
 * validates and resolves the configuration, builds the model (so the
 * initialisation is ours), writes config.json, the step-0 checkpoint and the
 * token files, then starts the ranks and relays rank 0's progress to the same
 * hooks the native loop calls. The ranks resume from the run folder's
 * checkpoint, so a native run can continue on torch and back.
 *
 * In a job over several machines only node 0 keeps the run folder: its rank 0
 * reads it and broadcasts the state, and writes every checkpoint. The other
 * nodes build the same model from the same flags (their ranks check it
 * against node 0's), write only their launch file, token files and logs into
 * their own --out, and report no result of their own.
 */
export async function trainWithTorch(
  requested: TrainConfig,
  opts: TrainOptions,
  engine: TorchEngineOptions,
): Promise<TrainResult> {
  const hooks = opts.hooks ?? {};
  if (opts.source)
    throw new UserError(
      '--engine torch trains on a corpus or a token folder; synthetic tasks (the recall grid) run on the native engine',
    );
  const found = findTorch(engine); // before anything is written
  const follower = engine.nodeRank > 0;
  const prepared = prepareRun(requested, {
    ...opts,
    // A follower's --out holds no run: its model comes from the flags, its state from node 0.
    ...(follower ? { resume: false, overwrite: true } : {}),
    memoryCheck: opts.memoryCheck !== false && engine.device === 'cpu',
  });
  const { cfg, model, runFile, startStep, tokenizer, text } = prepared;
  const world = engine.nproc * engine.nnodes;
  if (cfg.batchSize % world !== 0)
    throw new UserError(
      `batchSize ${cfg.batchSize} must be a multiple of the ${world} processes (--nproc × --nnodes): each trains an equal share of every batch`,
    );
  const dir = cfg.out;
  const metricsPath = join(dir, 'metrics.jsonl');

  // The folder as the native trainer would leave it at startStep, which the ranks resume from.
  const optimizer = newOptimizer(model, cfg);
  let state: TrainingState;
  if (follower) {
    state = { step: startStep, rng: [], bestValLoss: null, elapsedS: 0 }; // node 0's rank 0 sends the real one
  } else if (prepared.resumed) {
    state = loadTrainingState(dir, optimizer, startStep, runFile);
    writeRunConfig(dir, runFile); // schedule changes (e.g. a longer --max-iters) are remembered
    const repaired = keepMetricsUpTo(metricsPath, startStep, prepared.loggedEvery);
    if (repaired) hooks.onWarning?.(`${metricsPath}: ${repaired}`);
  } else {
    state = { step: 0, rng: new Rng(cfg.seed + 1).state(), bestValLoss: null, elapsedS: 0 };
    discardRun(dir); // --overwrite: the old run is gone before anything of this one is written
    saveCheckpoint(dir, runFile, model, optimizer, state);
    writeFileSync(metricsPath, '');
  }
  const torchDir = join(dir, 'torch');
  makeFolder(torchDir, 'torch engine folder');
  // A corpus is tokenised into the run folder once; a token folder is read where it is.
  let tokensDir = text!.tokenFolder;
  if (tokensDir === null) {
    tokensDir = join(dir, 'tokens');
    writeTokenFolder(tokensDir, tokenizer, text!.data, { source: cfg.data, valFraction: cfg.valFraction });
  }
  const launchFile = join(torchDir, 'launch.json');
  const launch = {
    run_dir: resolve(dir),
    tokens_dir: resolve(tokensDir),
    device: engine.device,
    description: modelDescription(model),
    train: cfg,
    // The run id and fixed settings every checkpoint file of this run carries (checkpoint.ts).
    checkpoint_metadata: runIdentity(runFile),
  };
  writeFileAtomic(launchFile, JSON.stringify(launch, null, 2) + '\n');

  hooks.onStart?.(startInfo(prepared, prepared.resumed));
  let finalValLoss: number | null = null,
    bestValLoss = state.bestValLoss,
    stopped = false,
    diverged: TorchEvent | null = null;
  const { failure } = await launchRanks(found, resolve(launchFile), torchDir, engine, {
    onEvent: (e) => {
      if (e.event === 'step') {
        const m = e as unknown as StepMetrics;
        if (m.val_loss !== undefined) {
          finalValLoss = m.val_loss;
          if (bestValLoss === null || m.val_loss < bestValLoss) bestValLoss = m.val_loss;
        }
        hooks.onStep?.(m);
      } else if (e.event === 'checkpoint') hooks.onCheckpoint?.(e.step as number);
      else if (e.event === 'stopped') stopped = true;
      else if (e.event === 'diverged') diverged = e;
    },
    shouldStop: () => !!hooks.shouldStop?.(),
  });
  if (diverged) {
    const { step, loss, grad_norm } = diverged as TorchEvent;
    throw divergedError(prepared, step as number, loss, grad_norm);
  }
  if (failure) throw rankFailed(failure, world, dir, engine);
  if (follower)
    return {
      step: startStep,
      finalValLoss: null,
      bestValLoss: null,
      stopped,
      outDir: dir,
      config: cfg,
      model,
      tokenizer,
      follower: true,
    };
  if (startStep >= cfg.maxIters) finalValLoss = null;
  // The ranks' checkpoint, read back as every other command reads it (checksums included).
  const saved = loadModel(dir);
  return {
    step: saved.step,
    finalValLoss,
    bestValLoss,
    stopped,
    outDir: dir,
    config: cfg,
    model: saved.model,
    tokenizer: saved.tokenizer,
  };
}

function rankFailed(f: RankFailure, world: number, dir: string, engine: TorchEngineOptions): UserError {
  const how = f.signal ? `was killed by ${f.signal}` : `exited with status ${f.code}`;
  let committed = 'no checkpoint';
  try {
    if (existsSync(join(dir, 'model.safetensors'))) committed = `the checkpoint of step ${loadModel(dir).step}`;
  } catch {
    committed = 'the last complete checkpoint';
  }
  const flags = `--engine torch --nproc ${engine.nproc}${engine.device === 'cuda' ? ' --device cuda' : ''}`;
  return new UserError(
    `torch engine: rank ${f.rank} of ${world} ${how}${f.lastLine ? ` (${f.lastLine})` : ''}; its log is ${f.log}. ` +
      `The other ranks were stopped and ${committed} in ${dir} is intact: continue with hsm train --resume ${flags} --out ${dir}`,
  );
}
