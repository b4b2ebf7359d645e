// Memory limits: what a run will need is estimated from its configuration and
// refused with one line when it exceeds the machine, before anything of that
// size is allocated (an absurd --context or --batch-size must not swap the
// machine to death or die in a RangeError minutes later).
import { totalmem } from 'node:os';
import { UserError } from '../errors.js';
import { countParameters } from '../model/cost.js';
import type { ModelConfig } from '../model/transformer.js';

const BYTES = 4; // float32

export interface MemoryEstimate {
  parameters: number;
  bytes: number;
}

/**
 * Bytes a training step needs, roughly and on the high side: weights,
 * gradients and AdamW's two moments (4 × parameters), plus what the tape
 * keeps for the backward pass and its gradients: per block about 16 rows of
 * width d (LayerNorms, mixer inputs and outputs, residuals) and 3 of the FFN
 * width per token, and the logits with their softmax and gradient.
 * Attention is flash-style (no T×T matrix is stored), so none appears here.
 */
export function trainingMemory(model: ModelConfig, batchSize: number): MemoryEstimate {
  const parameters = countParameters(model);
  const F = model.ffnHidden ?? 4 * model.nEmbd;
  const tokens = batchSize * model.blockSize;
  const perToken = model.nLayer * (16 * model.nEmbd + 3 * F) + 3 * model.vocabSize;
  return { parameters, bytes: BYTES * (4 * parameters + 2 * tokens * perToken) };
}

/** Bytes an evaluation forward pass needs: the weights, and one block's activations plus the logits at a time. */
export function inferenceMemory(model: ModelConfig, batchSize: number): MemoryEstimate {
  const parameters = countParameters(model);
  const F = model.ffnHidden ?? 4 * model.nEmbd;
  const tokens = batchSize * model.blockSize;
  return { parameters, bytes: BYTES * (parameters + tokens * (16 * model.nEmbd + 3 * F + 3 * model.vocabSize)) };
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** Most of the machine's memory may go to one run; the rest is the OS's, the corpus's and Node's. */
const USABLE_SHARE = 0.8;

/**
 * Refuses a run whose estimate exceeds what this machine has. `what` names
 * the work ("training"), `levers` the settings that shrink it, and `override`
 * how to go ahead anyway.
 */
export function requireMemory(estimate: MemoryEstimate, what: string, levers: string, override: string): void {
  const available = totalmem() * USABLE_SHARE;
  if (estimate.bytes <= available) return;
  throw new UserError(
    `${what} needs about ${gib(estimate.bytes)} (${(estimate.parameters / 1e6).toFixed(1)}M parameters) but this machine ` +
      `has ${gib(totalmem())} (${Math.round(USABLE_SHARE * 100)}% usable); lower ${levers}, or pass ${override} to try anyway`,
  );
}
