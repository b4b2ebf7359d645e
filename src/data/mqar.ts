// Multi-query associative recall (MQAR, as in the Zoology study): a sequence
// lists key–value pairs, then asks for the values of those keys again. Solving
// it needs content-based lookup across the whole context, where attention is
// known to do well and fixed-weight mixers are expected to struggle.
import { Rng } from '../tensor/random.js';
import type { Batch, BatchSource, Split } from './dataset.js';
import { UserError } from '../errors.js';
import { generateLegacySequence, legacyKeyCount } from './mqar-legacy.js';
import {
  generateZoologySequence,
  ZOOLOGY_DEFAULTS,
  zoologyRanges,
  zoologySlots,
  type ZoologyOptions,
} from './mqar-zoology.js';

/** Which generator writes the sequences: Zoology's (the default) or the first one (for committed results). */
export type MqarGenerator = 'zoology' | 'legacy';

export interface MqarSpec extends Partial<ZoologyOptions> {
  /** Default "zoology"; "legacy" reproduces the sequences of results committed before it (mqar-legacy.ts). */
  generator?: MqarGenerator;
  /** Token ids 0…V−1: 0 is the filler, keys and values come from their own ranges. */
  vocabSize: number;
  /** Sequence length = the model's context. */
  context: number;
  /** Key–value pairs per sequence. */
  pairs: number;
  /** Legacy generator only: queries per sequence (default: pairs); beyond `pairs`, keys are asked again at random. */
  queries?: number;
  /**
   * Shorter instances training also draws from, each as likely as the full
   * size: an instance fills the start of the sequence and filler the rest.
   * Zoology trains on such a mixture of lengths in some studies; the short
   * ones teach the lookup where it is easy to find. Held-out sequences stay
   * at the full size.
   */
  mix?: MqarSize[];
}

/** One instance size of the recall task. */
export interface MqarSize {
  context: number;
  pairs: number;
}

/** Zoology's pairs per length (Figure 2: 4, 8, 16 pairs at 64, 128, 256 tokens). */
export function zoologyPairs(context: number): number {
  return Math.max(1, Math.floor(context / 16));
}

/** The Zoology options a spec trains with, defaults filled in. */
export function zoologyOptions(spec: MqarSpec): ZoologyOptions {
  return {
    powerA: spec.powerA ?? ZOOLOGY_DEFAULTS.powerA,
    distinctValues: spec.distinctValues ?? ZOOLOGY_DEFAULTS.distinctValues,
    separateRanges: spec.separateRanges ?? ZOOLOGY_DEFAULTS.separateRanges,
    answerInInput: spec.answerInInput ?? ZOOLOGY_DEFAULTS.answerInInput,
    fillerNoise: spec.fillerNoise ?? ZOOLOGY_DEFAULTS.fillerNoise,
  };
}

const ZOOLOGY_KEYS = Object.keys(ZOOLOGY_DEFAULTS) as (keyof ZoologyOptions)[];

/** Whether the answers are written into the input (always for the legacy generator). */
export function mqarAnswersInInput(spec: MqarSpec): boolean {
  return spec.generator === 'legacy' || zoologyOptions(spec).answerInInput;
}

export function checkMqarSpec(spec: MqarSpec): void {
  const { vocabSize: V, context: T, pairs: P } = spec;
  const generator = spec.generator ?? 'zoology';
  if (generator !== 'zoology' && generator !== 'legacy')
    throw new UserError(`recall task: generator "${String(generator)}" is not one of zoology, legacy`);
  if (!Number.isInteger(V) || V < 5)
    throw new UserError(`recall task: vocabulary ${V} is too small; use at least 5 ids (e.g. 8192)`);
  if (!Number.isInteger(T) || T < 1) throw new UserError(`recall task: context ${T} must be a positive integer`);
  if (!Number.isInteger(P) || P < 1) throw new UserError(`recall task: pairs ${P} must be a positive integer`);
  if (generator === 'legacy') checkLegacy(spec);
  else checkZoology(spec);
  for (const m of spec.mix ?? []) {
    if (!Number.isInteger(m.context) || m.context >= T)
      throw new UserError(
        `recall task: a mixed-in instance of ${m.context} tokens must be shorter than the sequence (${T} tokens)`,
      );
    checkMqarSpec({ ...spec, context: m.context, pairs: m.pairs, queries: undefined, mix: undefined });
  }
}

function checkLegacy(spec: MqarSpec): void {
  const { vocabSize: V, context: T, pairs: P } = spec;
  const set = ZOOLOGY_KEYS.filter((k) => spec[k] !== undefined);
  if (set.length)
    throw new UserError(`recall task: the legacy generator has no option ${set.join(', ')}; use generator "zoology"`);
  if (P > legacyKeyCount(V)) {
    throw new UserError(
      `recall task: ${P} pairs need ${P} distinct keys but vocabulary ${V} has ${legacyKeyCount(V)}; use fewer pairs or a bigger vocabulary`,
    );
  }
  const Q = spec.queries ?? P;
  if (!Number.isInteger(Q) || Q < P)
    throw new UserError(`recall task: ${Q} queries cannot ask each of the ${P} keys once; use at least ${P}`);
  if (2 * P + 2 * Q > T) {
    throw new UserError(
      `recall task: ${P} pairs and ${Q} queries need a context of at least ${2 * P + 2 * Q} tokens, got ${T}`,
    );
  }
}

function checkZoology(spec: MqarSpec): void {
  const { vocabSize: V, context: T, pairs: P } = spec;
  if (spec.queries !== undefined && spec.queries !== P)
    throw new UserError(
      `recall task: the zoology generator asks each of the ${P} keys once (queries ${spec.queries}); queries other than pairs need generator "legacy"`,
    );
  const o = zoologyOptions(spec);
  if (!(typeof o.powerA === 'number' && o.powerA > 0 && o.powerA <= 1))
    throw new UserError(`recall task: powerA ${o.powerA} must be a number above 0, at most 1 (uniform)`);
  for (const k of ['distinctValues', 'separateRanges', 'answerInInput', 'fillerNoise'] as const)
    if (typeof o[k] !== 'boolean') throw new UserError(`recall task: ${k} must be true or false`);
  const r = zoologyRanges(V, o.separateRanges);
  const shared = !o.separateRanges && o.distinctValues;
  const keysNeeded = shared ? 2 * P : P;
  if (keysNeeded > r.keyCount)
    throw new UserError(
      `recall task: ${P} pairs need ${keysNeeded} distinct ${shared ? 'tokens' : 'keys'} but vocabulary ${V} has ${r.keyCount}; use fewer pairs or a bigger vocabulary`,
    );
  if (o.distinctValues && !shared && P > r.valueCount)
    throw new UserError(
      `recall task: ${P} distinct values need a vocabulary with ${P} value ids, but ${V} has ${r.valueCount}; use fewer pairs, a bigger vocabulary or distinctValues false`,
    );
  if (zoologySlots(T, P) < P)
    throw new UserError(
      `recall task: ${P} pairs and their queries need a context of at least ${4 * P} tokens, got ${T}`,
    );
}

/** The `data` field of a recall run's configuration, e.g. "mqar:vocab=8192,context=128,pairs=8,…". */
export function formatMqarSpec(spec: MqarSpec): string {
  const mix = spec.mix?.length ? `,mix=${spec.mix.map((m) => `${m.context}x${m.pairs}`).join('+')}` : '';
  const head = `mqar:vocab=${spec.vocabSize},context=${spec.context},pairs=${spec.pairs}`;
  // The legacy form is the one committed runs recorded, so they still match their grids.
  if (spec.generator === 'legacy') return `${head},queries=${spec.queries ?? spec.pairs}${mix}`;
  const o = zoologyOptions(spec);
  return (
    `${head},generator=zoology,powerA=${o.powerA},distinctValues=${o.distinctValues},separateRanges=${o.separateRanges},` +
    `answerInInput=${o.answerInInput},fillerNoise=${o.fillerNoise}${mix}`
  );
}

/** One held-out-size sequence of the spec's generator. */
export function generateMqarSequence(spec: MqarSpec, rng: Rng, x: Int32Array, y: Int32Array): void {
  if (spec.generator === 'legacy') generateLegacySequence(spec, rng, x, y);
  else generateZoologySequence({ ...spec, ...zoologyOptions(spec) }, rng, x, y);
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
  x.fill(0);
  y.fill(-1);
  generateMqarSequence(
    { ...spec, context, pairs, queries: undefined, mix: undefined },
    rng,
    x.subarray(0, context),
    y.subarray(0, context),
  );
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
