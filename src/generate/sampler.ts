import type { Rng } from '../tensor/random.js';

export interface SamplingOptions {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens (0 = no limit). */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = no limit). */
  topP: number;
}

/** Draws the next token id from logits with temperature, top-k and nucleus (top-p) filtering. */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
  const V = logits.length;
  if (opts.temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  // Candidates sorted by logit, best first; filters cut a prefix of this list.
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  let keep = opts.topK > 0 ? Math.min(opts.topK, V) : V;
  const max = logits[order[0]];
  const probs = new Float64Array(keep);
  let total = 0;
  for (let j = 0; j < keep; j++) total += probs[j] = Math.exp((logits[order[j]] - max) / opts.temperature);
  if (opts.topP < 1) {
    let mass = 0;
    for (let j = 0; j < keep; j++) {
      mass += probs[j] / total;
      if (mass >= opts.topP) {
        keep = j + 1;
        break;
      }
    }
    total = 0;
    for (let j = 0; j < keep; j++) total += probs[j];
  }
  let u = rng.uniform() * total;
  for (let j = 0; j < keep; j++) {
    u -= probs[j];
    if (u <= 0) return order[j];
  }
  return order[keep - 1];
}
