// Reference levels for language-model losses: the cross-entropy of unigram,
// bigram and trigram models counted on a run's training split and scored on
// its validation split, in nats per token. A transformer whose loss sits at
// the bigram level has learned bigram statistics and nothing more.
//
// Smoothing is Witten-Bell interpolation (each order falls back on the one
// below in proportion to how many different tokens followed its context), on
// an add-one unigram, so an unseen token or context never gets probability 0
// and there is no parameter to tune. Written here because no npm package
// scores token arrays this way; it is a few counting loops.

export interface NgramLevels {
  unigram: number;
  bigram: number;
  trigram: number;
  /** Validation tokens scored (every one from the third on, for all three orders alike). */
  tokens: number;
}

/** Counts of one order: each context's total, its number of distinct continuations, and each (context, token)'s count. */
class OrderCounts {
  readonly pair = new Map<number, number>();
  readonly total = new Map<number, number>();
  readonly distinct = new Map<number, number>();

  add(context: number, key: number): void {
    const n = this.pair.get(key) ?? 0;
    this.pair.set(key, n + 1);
    this.total.set(context, (this.total.get(context) ?? 0) + 1);
    if (n === 0) this.distinct.set(context, (this.distinct.get(context) ?? 0) + 1);
  }

  /** Witten-Bell: (c(ctx, w) + d(ctx)·lower) / (c(ctx) + d(ctx)), or `lower` for a context never seen. */
  prob(context: number, key: number, lower: number): number {
    const total = this.total.get(context);
    if (total === undefined) return lower;
    const d = this.distinct.get(context)!;
    return ((this.pair.get(key) ?? 0) + d * lower) / (total + d);
  }
}

/** Unigram, bigram and trigram cross-entropy (nats per token) of `val` under counts from `train`, vocabulary V. */
export function ngramLevels(train: ArrayLike<number>, val: ArrayLike<number>, V: number): NgramLevels {
  const uni = new Float64Array(V);
  const bi = new OrderCounts(),
    tri = new OrderCounts();
  for (let i = 0; i < train.length; i++) {
    const w = train[i];
    uni[w]++;
    if (i >= 1) bi.add(train[i - 1], train[i - 1] * V + w);
    if (i >= 2) {
      const ctx = train[i - 2] * V + train[i - 1];
      tri.add(ctx, ctx * V + w);
    }
  }
  let h1 = 0,
    h2 = 0,
    h3 = 0,
    n = 0;
  for (let i = 2; i < val.length; i++) {
    const a = val[i - 2],
      b = val[i - 1],
      w = val[i];
    const p1 = (uni[w] + 1) / (train.length + V);
    const p2 = bi.prob(b, b * V + w, p1);
    const ctx = a * V + b;
    const p3 = tri.prob(ctx, ctx * V + w, p2);
    h1 -= Math.log(p1);
    h2 -= Math.log(p2);
    h3 -= Math.log(p3);
    n++;
  }
  return { unigram: h1 / n, bigram: h2 / n, trigram: h3 / n, tokens: n };
}
