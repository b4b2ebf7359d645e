import type { Tape } from '../autograd/tape.js';
import type { Batch } from '../data/dataset.js';
import type { Transformer } from '../model/transformer.js';
import type { AdamW } from '../optim/adamw.js';
import type { Rng } from '../tensor/random.js';

/** The phases of a step, in the order they run (a micro-batch repeats forward, backward, release). */
export type StepPhase = 'zero_grad' | 'forward' | 'backward' | 'release' | 'optimizer';
export const STEP_PHASES: readonly StepPhase[] = ['zero_grad', 'forward', 'backward', 'release', 'optimizer'];

export interface StepInputs {
  model: Transformer;
  /** Clips (its gradClip) and updates; its lr is set first when `lr` is given. */
  optimizer: AdamW;
  tape: Tape;
  batchSize: number;
  context: number;
  /**
   * Micro-batch `micro` of this step. It is called right before that
   * micro-batch's forward pass, so a sampler and dropout drawing from one RNG
   * draw in the same order on every run (what makes a resume bit-exact).
   */
  batch: (micro: number) => Batch;
  /** Micro-batches per step (default 1); their gradients are averaged. */
  gradAccum?: number;
  lr?: number;
  /** Draws the dropout masks (none without it). */
  dropoutRng?: Rng;
  /** Called as each phase begins, for profilers. */
  mark?: (phase: StepPhase) => void;
}

export interface StepResult {
  /** Mean training loss over the micro-batches. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

const noMark = (): void => {};

/**
 * One training step, the one the trainer and `hsm bench train` both run:
 * zero the gradients, then per micro-batch forward under the tape, backward
 * and release (so every buffer returns to the pool and a steady-state step
 * allocates none), then one clipped AdamW update.
 */
export function trainStep(s: StepInputs): StepResult {
  const { model, optimizer, tape, batchSize: B, context: T } = s;
  const accum = s.gradAccum ?? 1,
    mark = s.mark ?? noMark;
  if (s.lr !== undefined) optimizer.lr = s.lr;
  const seed = Float32Array.of(1 / accum); // d(mean loss)/d(micro-batch loss)
  let lossSum = 0;
  mark('zero_grad');
  optimizer.zeroGrad();
  for (let micro = 0; micro < accum; micro++) {
    mark('forward');
    const { x, y } = s.batch(micro);
    const loss = tape.record(() => model.loss(x, y, B, T, { dropoutRng: s.dropoutRng }));
    lossSum += loss.item();
    mark('backward');
    tape.backward(loss, seed);
    mark('release');
    tape.release();
  }
  mark('optimizer');
  return { loss: lossSum / accum, gradNorm: optimizer.step() };
}
