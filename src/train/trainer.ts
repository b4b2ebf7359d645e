import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tape } from '../autograd/tape.js';
import { UserError } from '../errors.js';
import { lockFolder } from '../io/folder-lock.js';
import { makeFolder } from '../io/folders.js';
import { Rng } from '../tensor/random.js';
import { learningRate, type TrainConfig } from './config.js';
import { loadTrainingState, saveCheckpoint } from './checkpoint.js';
import { estimateLoss, estimateLossAndAccuracy } from './evaluate.js';
import { discardRun } from './run-folder.js';
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
import { windowsAt } from './seq-warmup.js';
import { trainStep } from './step.js';
import { trainWithTorch } from './torch-engine.js';

export {
  requireTrainingMemory,
  type StepMetrics,
  type TrainHooks,
  type TrainingSource,
  type TrainOptions,
  type TrainResult,
} from './run-setup.js';

/**
 * Trains a GPT on a corpus: nanoGPT's loop (AdamW, warm-up + cosine LR,
 * gradient clipping and accumulation, periodic evaluation) with atomic
 * checkpoints that resume bit-exactly (weights, moments, batch RNG, step).
 * Yields to the event loop between steps so signals and progress bars work.
 * With `opts.torch` the steps run in PyTorch instead (torch-engine.ts).
 */
export async function train(requested: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  // One writer per run folder: a second trainer (or a --resume of a run still going) is refused at once.
  if (!opts.resume) makeFolder(requested.out, 'run folder');
  else if (!existsSync(requested.out))
    throw new UserError(`cannot resume ${requested.out}: no such folder; pass the --out folder of a training run`);
  if (opts.torch && requested.stopAtAccuracy !== undefined)
    throw new UserError('stopAtAccuracy needs the native engine; leave it out with --engine torch');
  if (opts.torch && requested.seqWarmupFraction !== undefined)
    throw new UserError('seqWarmupFraction needs the native engine; leave it out with --engine torch');
  const release = lockFolder(requested.out, 'run folder', opts.hooks?.onWarning);
  try {
    return await (opts.torch ? trainWithTorch(requested, opts, opts.torch) : trainLocked(requested, opts));
  } finally {
    release();
  }
}

async function trainLocked(requested: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const hooks = opts.hooks ?? {};
  const prepared = prepareRun(requested, opts);
  const { cfg, model, runFile, startStep, tokenizer, data } = prepared;
  const dir = cfg.out;
  let bestValLoss: number | null = null,
    elapsedBefore = 0,
    stoppedAtAccuracy: number | null = null;
  const optimizer = newOptimizer(model, cfg);
  const rng = new Rng(cfg.seed + 1);
  const metricsPath = join(dir, 'metrics.jsonl');
  if (prepared.resumed) {
    const state = loadTrainingState(dir, optimizer, startStep, runFile);
    rng.setState(state.rng);
    bestValLoss = state.bestValLoss;
    elapsedBefore = state.elapsedS;
    stoppedAtAccuracy = state.stoppedAtAccuracy ?? null;
    const repaired = keepMetricsUpTo(metricsPath, startStep, prepared.loggedEvery);
    if (repaired) hooks.onWarning?.(`${metricsPath}: ${repaired}`);
  } else {
    discardRun(dir); // --overwrite: the old run is gone before anything of this one is written
    writeFileSync(metricsPath, '');
  }

  hooks.onStart?.(startInfo(prepared, prepared.resumed));

  const tape = new Tape();
  const t0 = performance.now();
  let finalValLoss: number | null = null,
    stopped = false,
    step = startStep;
  const elapsed = () => elapsedBefore + (performance.now() - t0) / 1000;
  const save = () => {
    saveCheckpoint(dir, runFile, model, optimizer, {
      step,
      rng: rng.state(),
      bestValLoss,
      elapsedS: elapsed(),
      stoppedAtAccuracy,
    });
    hooks.onCheckpoint?.(step);
  };
  // A run that reached its accuracy threshold is finished (a raised threshold trains on).
  const accuracyReached = () =>
    stoppedAtAccuracy !== null && cfg.stopAtAccuracy !== undefined && stoppedAtAccuracy >= cfg.stopAtAccuracy;
  const resumedFinished = accuracyReached();

  while (step < cfg.maxIters && !accuracyReached()) {
    const lr = learningRate(cfg, step);
    const { batchSize: B, context: T } = windowsAt(cfg, step);
    const stepStart = performance.now();
    // Batches and dropout masks both come from rng, in the order trainStep asks for them.
    const { loss, gradNorm } = trainStep({
      model,
      optimizer,
      tape,
      batchSize: B,
      context: T,
      gradAccum: cfg.gradAccum,
      lr,
      dropoutRng: rng,
      batch: () => data.sampleBatch('train', rng, B, T),
    });
    step++;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      // The weights in memory are already damaged; nothing is saved, so the last checkpoint stays the run's state.
      throw divergedError(prepared, step, loss, gradNorm);
    }
    const m: StepMetrics = {
      step,
      train_loss: loss,
      lr,
      grad_norm: gradNorm,
      tokens_per_s: (B * T * cfg.gradAccum) / ((performance.now() - stepStart) / 1000),
      elapsed_s: 0,
    };
    if (step % cfg.evalInterval === 0 || step === cfg.maxIters) {
      if (cfg.stopAtAccuracy === undefined)
        m.val_loss = estimateLoss(model, data, 'val', cfg.evalIters, cfg.batchSize, cfg.seed + 2);
      else {
        const v = estimateLossAndAccuracy(model, data, 'val', cfg.evalIters, cfg.batchSize, cfg.seed + 2);
        m.val_loss = v.loss;
        m.val_accuracy = v.accuracy;
        if (v.accuracy >= cfg.stopAtAccuracy) stoppedAtAccuracy = v.accuracy;
      }
      finalValLoss = m.val_loss;
      if (bestValLoss === null || m.val_loss < bestValLoss) bestValLoss = m.val_loss;
    }
    m.elapsed_s = elapsed();
    if (step % cfg.logInterval === 0 || m.val_loss !== undefined || step === cfg.maxIters) {
      appendFileSync(metricsPath, JSON.stringify(m) + '\n');
    }
    hooks.onStep?.(m);
    if (step % cfg.checkpointInterval === 0 || step === cfg.maxIters || accuracyReached()) save();
    if (accuracyReached()) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (step < cfg.maxIters && hooks.shouldStop?.()) {
      save();
      stopped = true;
      break;
    }
  }
  if (startStep >= cfg.maxIters || resumedFinished) finalValLoss = null;
  return { step, finalValLoss, bestValLoss, stopped, stoppedAtAccuracy, outDir: dir, config: cfg, model, tokenizer };
}
