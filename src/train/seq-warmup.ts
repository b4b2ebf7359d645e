// Sequence-length warm-up (as GPT-NeoX and MosaicML train): for the first
// seqWarmupFraction of the steps the windows are shorter, starting at
// seqWarmupStart and doubling in equal stages up to the context, and there
// are proportionally more of them, so every step still trains on
// batchSize × blockSize tokens and the token and FLOP budgets keep their
// meaning (FLOPs are counted at the full context, an upper bound for the
// shorter windows' attention). Short windows give attention fewer keys to
// spread over while it learns where to look.
import { UserError } from '../errors.js';
import type { TrainConfig } from './config.js';

/** The windows of one step: how many, and how long. */
export interface StepWindows {
  batchSize: number;
  context: number;
}

/** The first window length when seqWarmupFraction is given without seqWarmupStart. */
export const DEFAULT_SEQ_WARMUP_START = 64;

/** Checks the warm-up against the context before anything trains: the start must be the context over a power of 2. */
export function checkSeqWarmup(cfg: TrainConfig): void {
  if (cfg.seqWarmupFraction === undefined) {
    if (cfg.seqWarmupStart !== undefined)
      throw new UserError('seqWarmupStart needs seqWarmupFraction (the share of the steps that warm up), e.g. 0.2');
    return;
  }
  const T = cfg.model.blockSize,
    start = cfg.seqWarmupStart ?? DEFAULT_SEQ_WARMUP_START;
  const ratio = T / start;
  if (!Number.isInteger(ratio) || ratio < 2 || (ratio & (ratio - 1)) !== 0)
    throw new UserError(
      `seqWarmupStart ${start} must be the context (${T}) divided by a power of 2 from 2 up, e.g. ${Math.max(1, T >> 3)}`,
    );
}

/** The windows of training step `step` (0-based). */
export function windowsAt(cfg: TrainConfig, step: number): StepWindows {
  const B = cfg.batchSize,
    T = cfg.model.blockSize;
  if (cfg.seqWarmupFraction === undefined) return { batchSize: B, context: T };
  const start = cfg.seqWarmupStart ?? DEFAULT_SEQ_WARMUP_START;
  const stages = Math.log2(T / start); // start, 2·start, …, T/2; then T
  const warmSteps = Math.round(cfg.seqWarmupFraction * cfg.maxIters);
  if (step >= warmSteps) return { batchSize: B, context: T };
  const stage = Math.floor((step * stages) / warmSteps);
  const context = start << stage;
  return { batchSize: B * (T / context), context };
}
