// Compute budgets: a run may fix its training FLOPs instead of its steps
// (config key "budget": {"flops": …}). Each model then trains for as many
// steps as its own FLOPs per step allow, so a cheaper model trains longer,
// and the learning-rate schedule decays over those steps.
import { UserError } from '../errors.js';
import { describeModel, modelShapes } from '../model/cost.js';
import { resolveModelConfig, type TrainConfig } from './config.js';

/** Tokens one optimizer step trains on. */
export function tokensPerStep(cfg: TrainConfig): number {
  return cfg.batchSize * cfg.gradAccum * cfg.model.blockSize;
}

/** Training FLOPs of one step of this configuration's model (forward + backward, `describeModel`'s count). */
export function trainFlopsPerStep(cfg: TrainConfig, vocabSize: number): number {
  const model = modelShapes(resolveModelConfig(cfg.model, vocabSize));
  return describeModel(model).trainFlopsPerToken * tokensPerStep(cfg);
}

/** The configuration with a warmupFraction turned into warmupIters, that fraction of maxIters. */
export function withWarmup(c: TrainConfig): TrainConfig {
  return c.warmupFraction === undefined ? c : { ...c, warmupIters: Math.round(c.warmupFraction * c.maxIters) };
}

/**
 * The configuration with its steps fixed: with a FLOP budget, maxIters is the
 * whole number of steps the budget pays for and the cosine decay ends there
 * (lrDecayIters = maxIters). A warmupFraction then becomes warmupIters, that
 * fraction of the steps; otherwise warm-up keeps its length in steps, and
 * must be shorter than the run.
 */
export function applyBudget(cfg: TrainConfig, vocabSize: number): TrainConfig {
  if (!cfg.budget) return withWarmup(cfg);
  const perStep = trainFlopsPerStep(cfg, vocabSize);
  const steps = Math.floor(cfg.budget.flops / perStep);
  if (steps < 1)
    throw new UserError(
      `budget.flops ${cfg.budget.flops.toExponential(3)} does not pay for one step of this model ` +
        `(${perStep.toExponential(3)} FLOPs per step); raise it or shrink the batch`,
    );
  const fixed = withWarmup({ ...cfg, maxIters: steps, lrDecayIters: steps });
  if (fixed.warmupIters >= steps)
    throw new UserError(
      `budget.flops ${cfg.budget.flops.toExponential(3)} pays for ${steps} steps, no more than warmupIters ${fixed.warmupIters}; ` +
        'raise the budget or shorten the warm-up',
    );
  return fixed;
}
