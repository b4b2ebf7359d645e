// Multi-query associative recall (MQAR, as in the Zoology study): a sequence
// lists key–value pairs, then asks for the values of those keys again. Solving
// it needs content-based lookup across the whole context, where attention is
// known to do well and fixed-weight mixers are expected to struggle.
import { Rng } from '../tensor/random.js';
import type { Batch, BatchSource, Split } from './dataset.js';
import { UserError } from '../errors.js';

export interface MqarSpec {
  /** Token ids: 0 is the filler, then keys, then values (half each). */
  vocabSize: number;
  /** Sequence length = the model's context. */
  context: number;
  /** Key–value pairs per sequence. */
  pairs: number;
  /** Queries per sequence (default: pairs, as in Zoology); beyond `pairs`, keys are asked again at random. */
  queries?: number;
  /**
   * Shorter instances training also draws from, each as likely as the full
   * size: an instance fills the start of the sequence and filler the rest.
   * Zoology trains on such a mixture of lengths; the short ones teach the
   * lookup where it is easy to find. Held-out sequences stay at the full size.
   */
  mix?: MqarSize[];
}

/** One instance size of the recall task. */
export interface MqarSize {
  context: number;
  pairs: number;
}

const FILLER = 0;

/** Keys are ids 1…K, values K+1…2K, with K = ⌊(V − 1)/2⌋. */
export function mqarKeyCount(vocabSize: number): number {
  return Math.floor((vocabSize - 1) / 2);
}

export function checkMqarSpec(spec: MqarSpec): void {
  const { vocabSize: V, context: T, pairs: P } = spec;
  if (!Number.isInteger(V) || V < 5)
    throw new UserError(`recall task: vocabulary ${V} is too small; use at least 5 ids (e.g. 256)`);
  if (!Number.isInteger(P) || P < 1 || P > mqarKeyCount(V)) {
    throw new UserError(
      `recall task: ${P} pairs need ${P} distinct keys but vocabulary ${V} has ${mqarKeyCount(V)}; use fewer pairs or a bigger vocabulary`,
    );
  }
  const Q = spec.queries ?? P;
  if (!Number.isInteger(Q) || Q < P)
    throw new UserError(`recall task: ${Q} queries cannot ask each of the ${P} keys once; use at least ${P}`);
  if (!Number.isInteger(T) || 2 * P + 2 * Q > T) {
    throw new UserError(
      `recall task: ${P} pairs and ${Q} queries need a context of at least ${2 * P + 2 * Q} tokens, got ${T}`,
    );
  }
  for (const m of spec.mix ?? []) {
    if (!Number.isInteger(m.context) || m.context >= T)
      throw new UserError(
        `recall task: a mixed-in instance of ${m.context} tokens must be shorter than the sequence (${T} tokens)`,
      );
    checkMqarSpec({ vocabSize: V, context: m.context, pairs: m.pairs });
  }
}

/** The `data` field of a recall run's configuration, e.g. "mqar:vocab=256,context=64,pairs=8". */
export function formatMqarSpec(spec: MqarSpec): string {
  const mix = spec.mix?.length ? `,mix=${spec.mix.map((m) => `${m.context}x${m.pairs}`).join('+')}` : '';
  return `mqar:vocab=${spec.vocabSize},context=${spec.context},pairs=${spec.pairs},queries=${spec.queries ?? spec.pairs}${mix}`;
}

/**
 * A training sequence: the full-size instance, or (when the spec mixes in
 * shorter ones) one size drawn uniformly, generated into the first positions.
 */
export function generateMqarTrainingSequence(spec: MqarSpec, rng: Rng, x: Int32Array, y: Int32Array): void {
  const mix = spec.mix ?? [];
  const pick = mix.length > 0 ? rng.int(mix.length + 1) : mix.length;
  if (pick === mix.length) return generateMqarSequence(spec, rng, x, y);
  const { context, pairs } = mix[pick];
  x.fill(FILLER);
  y.fill(-1);
  generateMqarSequence(
    { vocabSize: spec.vocabSize, context, pairs },
    rng,
    x.subarray(0, context),
    y.subarray(0, context),
  );
}

/**
 * One sequence of `context` tokens: k₁ v₁ … k_P v_P, then filler with the Q
 * queries (a key followed by its value) at random non-overlapping slots;
 * every key is asked once, extra queries ask random keys again.
 * Targets are −1 except at a query key, whose target is its value.
 */
export function generateMqarSequence(spec: MqarSpec, rng: Rng, x: Int32Array, y: Int32Array): void {
  const { context: T, pairs: P } = spec;
  const Q = spec.queries ?? P;
  const K = mqarKeyCount(spec.vocabSize);
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
function sampleDistinct(rng: Rng, n: number, count: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(n - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}

/**
 * Batches of the recall task: training sequences are drawn fresh from the
 * trainer's RNG at every step (unlimited data, exact resume), validation
 * sequences come from a fixed held-out set generated from `heldOutSeed`, so
 * every model is scored on the same questions.
 */
export class MqarData implements BatchSource {
  readonly heldOut: { x: Int32Array; y: Int32Array };

  constructor(
    readonly spec: MqarSpec,
    opts: { heldOutSequences?: number; heldOutSeed?: number } = {},
  ) {
    checkMqarSpec(spec);
    const n = opts.heldOutSequences ?? 512,
      T = spec.context;
    const rng = new Rng(opts.heldOutSeed ?? 90_001);
    this.heldOut = { x: new Int32Array(n * T), y: new Int32Array(n * T) };
    for (let i = 0; i < n; i++) {
      generateMqarSequence(
        spec,
        rng,
        this.heldOut.x.subarray(i * T, (i + 1) * T),
        this.heldOut.y.subarray(i * T, (i + 1) * T),
      );
    }
  }

  get heldOutSequences(): number {
    return this.heldOut.x.length / this.spec.context;
  }

  checkContext(context: number): void {
    if (context !== this.spec.context) {
      throw new UserError(
        `recall task: sequences have ${this.spec.context} tokens but the model's context is ${context}; make them equal`,
      );
    }
  }

  /** Training draws new sequences, so its "size" is unbounded. */
  tokenCount(split: Split): number {
    return split === 'train' ? Infinity : this.heldOut.x.length;
  }

  sampleBatch(split: Split, rng: Rng, batchSize: number, context: number): Batch {
    this.checkContext(context);
    const T = context,
      x = new Int32Array(batchSize * T),
      y = new Int32Array(batchSize * T);
    for (let b = 0; b < batchSize; b++) {
      const xs = x.subarray(b * T, (b + 1) * T),
        ys = y.subarray(b * T, (b + 1) * T);
      if (split === 'train') generateMqarTrainingSequence(this.spec, rng, xs, ys);
      else {
        const i = rng.int(this.heldOutSequences);
        xs.set(this.heldOut.x.subarray(i * T, (i + 1) * T));
        ys.set(this.heldOut.y.subarray(i * T, (i + 1) * T));
      }
    }
    return { x, y };
  }
}
