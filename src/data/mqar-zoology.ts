// The recall task as the Zoology study generates it (Arora, Eyuboglu et al.,
// "Zoology: Measuring and improving recall in efficient language models",
// arXiv 2312.04927; its multiquery_ar data): P key–value pairs, then every key
// asked once at a slot drawn from a power law that favours slots right after
// the pairs. Written from the paper's description and its code's behaviour;
// each option below is one of its knobs, with its default.
import type { Rng } from '../tensor/random.js';

/** The generator's knobs; `ZOOLOGY_DEFAULTS` holds the study's values. */
export interface ZoologyOptions {
  /**
   * Exponent a of the query placement: slot g (0 = right after the pairs) is
   * drawn with weight (g + 1)^(a − 1), without replacement; 1 is uniform.
   * Zoology: 0.01 for training and test data.
   */
  powerA: number;
  /** Values distinct within a sequence (Zoology: yes, drawn without replacement). */
  distinctValues: boolean;
  /** Keys from [1, ⌊V/2⌋), values from [⌊V/2⌋, V) (Zoology: yes); otherwise both from [1, V). */
  separateRanges: boolean;
  /** Write each answer into the input after its query (Zoology: no; the value is only the label). */
  answerInInput: boolean;
  /**
   * Replace the filler (token 0) with random tokens of the whole vocabulary.
   * Zoology's generator defaults to this, but the Figure 2 sweep (recall
   * against width at lengths 64–256) turns it off, and so do we.
   */
  fillerNoise: boolean;
}

export const ZOOLOGY_DEFAULTS: Readonly<ZoologyOptions> = {
  powerA: 0.01,
  distinctValues: true,
  separateRanges: true,
  answerInInput: false,
  fillerNoise: false,
};

const FILLER = 0;

/** Where keys and values come from: [keyStart, keyStart + keyCount) and likewise for values. */
export function zoologyRanges(
  vocabSize: number,
  separateRanges: boolean,
): { keyStart: number; keyCount: number; valueStart: number; valueCount: number } {
  const half = Math.floor(vocabSize / 2);
  return separateRanges
    ? { keyStart: 1, keyCount: half - 1, valueStart: half, valueCount: vocabSize - half }
    : { keyStart: 1, keyCount: vocabSize - 1, valueStart: 1, valueCount: vocabSize - 1 };
}

/** Query slots available after P pairs in T tokens (two tokens each: the key and the slot after it). */
export function zoologySlots(context: number, pairs: number): number {
  return Math.floor((context - 2 * pairs) / 2);
}

/**
 * One sequence: k₁ v₁ … k_P v_P, then filler with key i at position
 * 2P + 2·g_i, g_i its power-law slot; the target there is v_i, every other
 * target is −1. Pair i gets the i-th slot drawn, so the pairs listed first
 * tend to be asked first, as in Zoology.
 */
export function generateZoologySequence(
  spec: { vocabSize: number; context: number; pairs: number } & ZoologyOptions,
  rng: Rng,
  x: Int32Array,
  y: Int32Array,
): void {
  const { vocabSize: V, context: T, pairs: P } = spec;
  const r = zoologyRanges(V, spec.separateRanges);
  x.fill(FILLER);
  y.fill(-1);
  let keys: number[], values: number[];
  if (!spec.separateRanges && spec.distinctValues) {
    // One range: the 2P tokens of the pairs are all different, so no token is both a key and a value.
    const tokens = distinctSample(rng, r.keyCount, 2 * P).map((t) => t + r.keyStart);
    keys = tokens.slice(0, P);
    values = tokens.slice(P);
  } else {
    keys = distinctSample(rng, r.keyCount, P).map((k) => k + r.keyStart);
    values = spec.distinctValues
      ? distinctSample(rng, r.valueCount, P).map((v) => v + r.valueStart)
      : keys.map(() => r.valueStart + rng.int(r.valueCount));
  }
  for (let i = 0; i < P; i++) {
    x[2 * i] = keys[i];
    x[2 * i + 1] = values[i];
  }
  const slots = powerLawSlots(rng, zoologySlots(T, P), P, spec.powerA);
  slots.forEach((g, i) => {
    const at = 2 * P + 2 * g;
    x[at] = keys[i];
    y[at] = values[i];
    if (spec.answerInInput && at + 1 < T) x[at + 1] = values[i];
  });
  if (spec.fillerNoise) for (let t = 0; t < T; t++) if (x[t] === FILLER) x[t] = rng.int(V);
}

/** `count` distinct integers from [0, n) in random order: a partial Fisher–Yates that stores only the swapped entries. */
export function distinctSample(rng: Rng, n: number, count: number): number[] {
  const moved = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(n - i);
    out.push(moved.get(j) ?? j);
    moved.set(j, moved.get(i) ?? i);
  }
  return out;
}

/**
 * `count` distinct slots of [0, space), slot g with weight (g + 1)^(a − 1),
 * in the order they are found. Drawn the way numpy's choice(replace=False, p)
 * draws (Zoology's sampler), which is not one-at-a-time sampling: each round
 * draws as many slots as are still missing from the distribution over the
 * slots not yet taken, and keeps the new ones in order of first appearance.
 */
export function powerLawSlots(rng: Rng, space: number, count: number, a: number): number[] {
  const weight = Float64Array.from({ length: space }, (_, g) => (g + 1) ** (a - 1));
  const taken = new Uint8Array(space);
  const cdf = new Float64Array(space);
  const found: number[] = [];
  while (found.length < count) {
    let total = 0;
    for (let g = 0; g < space; g++) cdf[g] = total += taken[g] ? 0 : weight[g];
    const round: number[] = [];
    for (let k = found.length; k < count; k++) {
      const g = firstAbove(cdf, rng.uniform() * total);
      if (!round.includes(g)) round.push(g);
    }
    for (const g of round) taken[g] = 1;
    found.push(...round);
  }
  return found;
}

/** The first index whose cumulative weight exceeds u (a taken slot adds nothing, so it is never the first). */
function firstAbove(cdf: Float64Array, u: number): number {
  let lo = 0,
    hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
