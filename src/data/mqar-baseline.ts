// What the recall task scores without recall: the best a model does that
// knows which values the key–value pairs hold but never binds a key to its
// value. Every recall result is read against it (a model at this level has
// learned the task's format, not the lookup).
import { Rng } from '../tensor/random.js';
import { legacyKeyCount } from './mqar-legacy.js';
import { generateMqarSequence, mqarAnswersInInput, zoologyOptions, type MqarSpec } from './mqar.js';
import { zoologyRanges } from './mqar-zoology.js';

export interface NoRecallLevel {
  /** Share of queries answered right. */
  accuracy: number;
  /** Mean cross-entropy (nats) of the answers. */
  crossEntropy: number;
}

export interface NoRecallBaseline {
  /**
   * The bag of values: p(v) = (pairs holding v) / P. With distinct values it
   * is 1/P and ln P; with values drawn with replacement, exact from the
   * distribution of the counts. The line the recall charts draw.
   */
  bag: NoRecallLevel;
  /**
   * Only where the answers are written into the input (the legacy generator):
   * the bag less the values already answered earlier in the sequence, which
   * needs no key–value binding either. Simulated on `sequences` sequences.
   */
  afterAnswers?: NoRecallLevel & { sequences: number };
}

/** The no-recall levels of a task setting (the full-size instance, as held-out sequences are). */
export function noRecallBaseline(spec: MqarSpec, sequences = 20_000): NoRecallBaseline {
  const P = spec.pairs;
  const bag =
    spec.generator !== 'legacy' && zoologyOptions(spec).distinctValues
      ? { accuracy: 1 / P, crossEntropy: Math.log(P) }
      : bagWithReplacement(P, valuesDrawnFrom(spec));
  const out: NoRecallBaseline = { bag };
  if (mqarAnswersInInput(spec) && (spec.queries ?? P) === P)
    out.afterAnswers = { ...simulateAfterAnswers(spec, sequences), sequences };
  return out;
}

/** How many values a pair's value is drawn from, uniformly and with replacement. */
function valuesDrawnFrom(spec: MqarSpec): number {
  if (spec.generator === 'legacy') return legacyKeyCount(spec.vocabSize);
  return zoologyRanges(spec.vocabSize, zoologyOptions(spec).separateRanges).valueCount;
}

/**
 * P values drawn uniformly with replacement from M. The bag predictor names
 * the most frequent value: a query is right when its pair holds it, so the
 * accuracy is E[max count] / P. Its cross-entropy is E[ln P − ln c], c the
 * count of the asked pair's value: 1 + Binomial(P − 1, 1/M).
 */
export function bagWithReplacement(P: number, M: number): NoRecallLevel {
  let expectedMax = 0;
  for (let m = 1; m <= P; m++) expectedMax += 1 - probMaxAtMost(P, M, m - 1);
  let expectedLogCount = 0;
  for (let k = 0; k < P; k++) expectedLogCount += binomial(P - 1, k, 1 / M) * Math.log(1 + k);
  return { accuracy: expectedMax / P, crossEntropy: Math.log(P) - expectedLogCount };
}

/**
 * P(no value occurs more than m times among P draws from M), exactly: the
 * number of such draw sequences is P!·[x^P] (Σ_{j≤m} x^j/j!)^M. The
 * polynomials are kept as a_k = k!·coefficient·M^k so that the products stay
 * near 1: multiplying two such series is a binomial convolution, and the
 * answer is the scaled coefficient at P itself.
 */
function probMaxAtMost(P: number, M: number, m: number): number {
  if (m <= 0) return 0;
  const unit = Array.from({ length: P + 1 }, (_, k) => (k <= m ? M ** -k : 0));
  const binom = pascal(P);
  const times = (a: number[], b: number[]) =>
    a.map((_, n) => {
      let s = 0;
      for (let k = 0; k <= n; k++) s += binom[n][k] * a[k] * b[n - k];
      return s;
    });
  let result: number[] = Array.from({ length: P + 1 }, (_, k) => (k === 0 ? 1 : 0));
  let power = unit;
  for (let e = M; e > 0; e >>= 1) {
    if (e & 1) result = times(result, power);
    if (e > 1) power = times(power, power);
  }
  return result[P];
}

function pascal(n: number): number[][] {
  const rows: number[][] = [[1]];
  for (let i = 1; i <= n; i++)
    rows.push(Array.from({ length: i + 1 }, (_, k) => (k === 0 || k === i ? 1 : rows[i - 1][k - 1] + rows[i - 1][k])));
  return rows;
}

function binomial(n: number, k: number, p: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c * p ** k * (1 - p) ** (n - k);
}

/**
 * The bag less the answers seen so far: at each query, p(v) ∝ how many of
 * the pairs hold v minus how many earlier answers were v. Ties are broken at
 * random, so a right answer among t tied values counts 1/t.
 */
function simulateAfterAnswers(spec: MqarSpec, sequences: number): NoRecallLevel {
  const T = spec.context,
    P = spec.pairs;
  const rng = new Rng(1);
  const x = new Int32Array(T),
    y = new Int32Array(T);
  let right = 0,
    loss = 0,
    asked = 0;
  for (let s = 0; s < sequences; s++) {
    generateMqarSequence({ ...spec, mix: undefined }, rng, x, y);
    const left = new Map<number, number>();
    for (let i = 0; i < P; i++) left.set(x[2 * i + 1], (left.get(x[2 * i + 1]) ?? 0) + 1);
    let remaining = P;
    for (let t = 2 * P; t < T; t++) {
      if (y[t] < 0) continue;
      const c = left.get(y[t]) ?? 0;
      const top = Math.max(...left.values());
      if (c === top) right += 1 / [...left.values()].filter((n) => n === top).length;
      loss -= Math.log(c / remaining);
      asked++;
      if (t + 1 < T) {
        left.set(x[t + 1], (left.get(x[t + 1]) ?? 0) - 1);
        remaining--;
      }
    }
  }
  return { accuracy: right / asked, crossEntropy: loss / asked };
}
