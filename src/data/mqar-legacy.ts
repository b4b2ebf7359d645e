// The recall task's first generator, kept so that the results committed with
// it stay reproducible bit for bit: keys and values from the two halves of the
// vocabulary, values drawn with replacement, query slots uniform, and each
// answer written into the input after its query. Select it with
// `generator: "legacy"`; new studies use the Zoology generator (mqar-zoology.ts).
import type { Rng } from '../tensor/random.js';

const FILLER = 0;

/** Keys are ids 1…K, values K+1…2K, with K = ⌊(V − 1)/2⌋. */
export function legacyKeyCount(vocabSize: number): number {
  return Math.floor((vocabSize - 1) / 2);
}

/**
 * One sequence of `context` tokens: k₁ v₁ … k_P v_P, then filler with the Q
 * queries (a key followed by its value) at random non-overlapping slots;
 * every key is asked once, extra queries ask random keys again.
 * Targets are −1 except at a query key, whose target is its value.
 */
export function generateLegacySequence(
  spec: { vocabSize: number; context: number; pairs: number; queries?: number },
  rng: Rng,
  x: Int32Array,
  y: Int32Array,
): void {
  const { context: T, pairs: P } = spec;
  const Q = spec.queries ?? P;
  const K = legacyKeyCount(spec.vocabSize);
  x.fill(FILLER);
  y.fill(-1);
  const keys = sampleDistinct(rng, K, P).map((k) => k + 1);
  const values = keys.map(() => K + 1 + rng.int(K));
  keys.forEach((k, i) => {
    x[2 * i] = k;
    x[2 * i + 1] = values[i];
  });
  // Query slots: two tokens each, in the region after the pairs, in random order.
  const slots = sampleDistinct(rng, Math.floor((T - 2 * P) / 2), Q).sort((a, b) => a - b);
  const order = [...sampleDistinct(rng, P, P), ...Array.from({ length: Q - P }, () => rng.int(P))];
  for (let i = P; i < Q; i++) {
    const j = rng.int(i + 1); // shuffle the repeats in among the first asks
    [order[i], order[j]] = [order[j], order[i]];
  }
  slots.forEach((slot, j) => {
    const at = 2 * P + 2 * slot,
      i = order[j];
    x[at] = keys[i];
    if (at + 1 < T) x[at + 1] = values[i];
    y[at] = values[i];
  });
}

/** `count` distinct integers from [0, n) in random order (partial Fisher–Yates). */
export function sampleDistinct(rng: Rng, n: number, count: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(n - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}
