// Drawing the next token from logits without sorting the vocabulary: with the
// gpt2 tokenizer (50,257 tokens) a comparator sort per token cost more than the
// model's decode step. Every path here is one or two linear passes plus work on
// the few candidates kept:
//   greedy          one argmax pass
//   top-k           one pass through a k-slot min-heap, then exp over k logits
//   top-p (alone)   one exp pass; candidates bucketed by probability, and only
//                   the bucket that holds the nucleus boundary is narrowed further
//   no filter       one exp pass
// The kept candidates are visited in token-id order when drawing, so a seed
// gives the same token whichever path found the candidates.
import type { Rng } from '../tensor/random.js';

export interface SamplingOptions {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens (0 = no limit). */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = no limit). */
  topP: number;
}

/** Probability buckets per halving of the probability (a bucket spans a factor 2^(1/4)). */
const BUCKETS_PER_OCTAVE = 4;
/** Buckets in all; the last one also takes everything less likely than 2^-(BUCKETS/4) of the best. */
const BUCKETS = 256;

/**
 * A sampler with its scratch buffers; reuse one per stream (or per server) so a
 * token allocates nothing. Ties between equal logits go to the lower token id.
 */
export class Sampler {
  private weights = new Float64Array(0); // exp((logit - max) / T) per token
  private kept = new Uint8Array(0);
  private bucketOf = new Uint8Array(0);
  private heap = new Int32Array(0);
  private bucketMass = new Float64Array(BUCKETS);
  /** How many candidates the last draw chose among (V for no filter, 1 for greedy); for tests and stats. */
  keptCount = 0;

  sample(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
    const V = logits.length;
    if (V === 0) throw new RangeError('sampleToken: no logits');
    if (opts.temperature === 0) {
      this.keptCount = 1;
      return argmax(logits);
    }
    if (opts.topK > 0 && opts.topK < V) return this.sampleTopK(logits, opts, rng);
    if (opts.topP < 1) return this.sampleNucleus(logits, opts, rng);
    return this.sampleAll(logits, opts.temperature, rng);
  }

  private ensure(V: number): void {
    if (this.weights.length >= V) return;
    this.weights = new Float64Array(V);
    this.kept = new Uint8Array(V);
    this.bucketOf = new Uint8Array(V);
  }

  /** No filter: every token, weighted by its probability. */
  private sampleAll(logits: ArrayLike<number>, T: number, rng: Rng): number {
    const V = logits.length;
    this.ensure(V);
    const w = this.weights;
    const max = logits[argmax(logits)];
    let total = 0;
    for (let i = 0; i < V; i++) total += w[i] = Math.exp((logits[i] - max) / T);
    this.keptCount = V;
    let u = rng.uniform() * total;
    for (let i = 0; i < V; i++) if ((u -= w[i]) <= 0) return i;
    return lastPositive(w, V);
  }

  /** Top-k (then top-p within those k): a min-heap of the k best logits, filled in one pass. */
  private sampleTopK(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
    const V = logits.length,
      k = opts.topK;
    if (this.heap.length < k) this.heap = new Int32Array(k);
    const heap = this.heap;
    // `worse(a, b)`: a ranks below b (lower logit, or equal logit and higher id).
    const worse = (a: number, b: number) => logits[a] < logits[b] || (logits[a] === logits[b] && a > b);
    for (let i = 0; i < k; i++) siftUp(heap, i, i, worse);
    // Ids arrive in increasing order, so a logit equal to the root's ranks below it: only a larger one enters.
    let floor = logits[heap[0]];
    for (let i = k; i < V; i++) {
      if (!(logits[i] > floor)) continue; // most tokens stop here: one comparison each
      heap[0] = i;
      siftDown(heap, k, worse);
      floor = logits[heap[0]];
    }
    // Best first, so the nucleus is a prefix; k is small, so this sort is cheap.
    const best = Array.from(heap.subarray(0, k)).sort((a, b) => (worse(a, b) ? 1 : -1));
    const max = logits[best[0]];
    const w = best.map((i) => Math.exp((logits[i] - max) / opts.temperature));
    let keep = k;
    if (opts.topP < 1) {
      const total = w.reduce((s, x) => s + x, 0);
      let mass = 0;
      for (let j = 0; j < k; j++) {
        mass += w[j] / total;
        if (mass >= opts.topP) {
          keep = j + 1;
          break;
        }
      }
    }
    this.keptCount = keep;
    const chosen = best
      .slice(0, keep)
      .map((id, j) => ({ id, w: w[j] }))
      .sort((a, b) => a.id - b.id);
    let u = rng.uniform() * chosen.reduce((s, c) => s + c.w, 0);
    for (const c of chosen) if ((u -= c.w) <= 0) return c.id;
    return chosen[chosen.length - 1].id;
  }

  /**
   * Top-p alone: bucket tokens by probability relative to the best (a linear pass),
   * take whole buckets from the top while they stay short of p, and narrow only
   * the bucket where the running mass reaches p (takeUntil).
   */
  private sampleNucleus(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
    const V = logits.length,
      T = opts.temperature;
    this.ensure(V);
    const w = this.weights,
      kept = this.kept,
      bucketOf = this.bucketOf,
      mass = this.bucketMass;
    mass.fill(0);
    const max = logits[argmax(logits)];
    // Bucket b holds weights in (2^-(b+1)/4, 2^-b/4]: b = floor(-log2(w) * 4), from the logit directly.
    const scale = BUCKETS_PER_OCTAVE / (T * Math.LN2);
    let total = 0;
    for (let i = 0; i < V; i++) {
      const x = (w[i] = Math.exp((logits[i] - max) / T));
      total += x;
      const b = (bucketOf[i] = Math.min(BUCKETS - 1, Math.floor((max - logits[i]) * scale)));
      mass[b] += x;
    }
    const target = opts.topP * total;
    let above = 0,
      boundary = 0;
    while (boundary < BUCKETS - 1 && above + mass[boundary] < target) above += mass[boundary++];
    // The bucket where the running mass reaches p: its tokens that are needed join the whole buckets above it.
    const inBoundary: number[] = [];
    let keptCount = 0;
    for (let i = 0; i < V; i++) {
      const b = bucketOf[i];
      kept[i] = b < boundary ? 1 : 0;
      keptCount += kept[i];
      if (b === boundary) inBoundary.push(i);
    }
    const taken = takeUntil(inBoundary, logits, w, target - above);
    for (const i of taken) kept[i] = 1;
    this.keptCount = keptCount + taken.length;
    const keptMass = above + taken.reduce((sum, i) => sum + w[i], 0);
    let u = rng.uniform() * keptMass;
    let last = 0;
    for (let i = 0; i < V; i++) {
      if (!kept[i]) continue;
      last = i;
      if ((u -= w[i]) <= 0) return i;
    }
    return last;
  }
}

/** Candidates sorted outright below this count; above it, one more bucketing pass narrows them. */
const SORT_BELOW = 64;

/**
 * The shortest run of `ids`, taken best first (logit desc, id asc), whose
 * weights reach `need`. Large sets (a flat distribution puts most of the
 * vocabulary in one bucket) are narrowed by re-bucketing over their own logit
 * range instead of sorted: each pass is linear and keeps one bucket of 256.
 */
function takeUntil(ids: number[], logits: ArrayLike<number>, w: Float64Array, need: number): number[] {
  const taken: number[] = [];
  let rest = ids;
  for (;;) {
    let hi = -Infinity,
      lo = Infinity;
    for (const i of rest) {
      hi = Math.max(hi, logits[i]);
      lo = Math.min(lo, logits[i]);
    }
    if (rest.length <= SORT_BELOW || hi === lo) {
      // Few left, or all tied (then id order is rank order).
      rest.sort((a, b) => logits[b] - logits[a] || a - b);
      for (const i of rest) {
        if (need <= 0 && taken.length > 0) break;
        taken.push(i);
        need -= w[i];
      }
      return taken;
    }
    const scale = (BUCKETS - 1) / (hi - lo);
    const mass = new Float64Array(BUCKETS);
    for (const i of rest) mass[Math.floor((hi - logits[i]) * scale)] += w[i];
    let boundary = 0;
    while (boundary < BUCKETS - 1 && mass[boundary] < need) need -= mass[boundary++];
    const next: number[] = [];
    for (const i of rest) {
      const b = Math.floor((hi - logits[i]) * scale);
      if (b < boundary) taken.push(i);
      else if (b === boundary) next.push(i);
    }
    rest = next;
  }
}

function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Rounding can leave u a hair above zero after the last token: return the last token with weight. */
function lastPositive(w: Float64Array, V: number): number {
  for (let i = V - 1; i > 0; i--) if (w[i] > 0) return i;
  return 0;
}

function siftUp(heap: Int32Array, at: number, value: number, worse: (a: number, b: number) => boolean): void {
  let i = at;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!worse(value, heap[parent])) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = value;
}

/** Restores the min-heap (worst at the root) after the root was replaced. */
function siftDown(heap: Int32Array, n: number, worse: (a: number, b: number) => boolean): void {
  const value = heap[0];
  let i = 0;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && worse(heap[child + 1], heap[child])) child++;
    if (!worse(heap[child], value)) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = value;
}

const shared = new Sampler();

/** Draws the next token id from logits with temperature, top-k and nucleus (top-p) filtering. */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
  return shared.sample(logits, opts, rng);
}
