// The sampler (src/generate/sampler.ts): greedy, top-k and top-p, and every
// code path of it against a slow, sort-based definition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, sampleToken } from '../src/generate/sampler.js';
import { Rng } from '../src/tensor/random.js';

test('sampler: greedy, top-k and top-p restrict the candidates', () => {
  const logits = [0.1, 3, 2.5, -1, 2.9];
  const rng = new Rng(1);
  assert.equal(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, rng), 1);
  for (let i = 0; i < 200; i++) {
    assert.ok([1, 4].includes(sampleToken(logits, { temperature: 1, topK: 2, topP: 1 }, rng)));
    assert.equal(sampleToken(logits, { temperature: 1, topK: 0, topP: 0.01 }, rng), 1);
  }
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) seen.add(sampleToken(logits, { temperature: 1, topK: 0, topP: 1 }, rng));
  assert.equal(seen.size, 5, 'with no filter every token can be drawn');
});

/**
 * The sampler's definition, written the slow, obvious way: sort every token by
 * (logit desc, id asc), keep the top k, then the shortest prefix whose
 * renormalised mass reaches p, and draw by walking the kept tokens in id order.
 */
function referenceSample(
  logits: Float32Array,
  T: number,
  topK: number,
  topP: number,
  u: number,
): { token: number; kept: number } {
  const V = logits.length;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  let keep = topK > 0 ? Math.min(topK, V) : V;
  const w = order.map((i) => Math.exp((logits[i] - logits[order[0]]) / T));
  if (topP < 1) {
    const total = w.slice(0, keep).reduce((s, x) => s + x, 0);
    let mass = 0;
    for (let j = 0; j < keep; j++) {
      mass += w[j] / total;
      if (mass >= topP) {
        keep = j + 1;
        break;
      }
    }
  }
  const kept = order
    .slice(0, keep)
    .map((id, j) => ({ id, w: w[j] }))
    .sort((a, b) => a.id - b.id);
  let r = u * kept.reduce((s, c) => s + c.w, 0);
  for (const c of kept) if ((r -= c.w) <= 0) return { token: c.id, kept: keep };
  return { token: kept[kept.length - 1].id, kept: keep };
}

test('sampler: every path (top-k heap, top-p buckets, no filter) equals the sort-based definition', () => {
  const data = new Rng(7);
  const cases = [
    { T: 1, topK: 0, topP: 1 },
    { T: 0.7, topK: 40, topP: 1 },
    { T: 0.7, topK: 40, topP: 0.95 },
    { T: 1.3, topK: 0, topP: 0.9 },
    { T: 0.2, topK: 0, topP: 0.5 },
    { T: 1, topK: 3, topP: 0.3 },
    { T: 5, topK: 0, topP: 0.999 },
  ];
  let draws = 0;
  const sampler = new Sampler();
  for (const V of [2, 17, 300, 5000]) {
    for (let trial = 0; trial < 6; trial++) {
      // Logits on a coarse grid, so ties (which go to the lower id) are common.
      const spread = [0.5, 3, 12][trial % 3];
      const logits = Float32Array.from({ length: V }, () => Math.round(data.normal() * spread * 4) / 4);
      for (const c of cases) {
        const opts = { temperature: c.T, topK: c.topK, topP: c.topP };
        for (let d = 0; d < 5; d++) {
          const seed = 1000 * trial + d;
          const got = sampler.sample(logits, opts, new Rng(seed));
          const want = referenceSample(logits, c.T, c.topK, c.topP, new Rng(seed).uniform());
          const where = `V=${V} trial ${trial} ${JSON.stringify(c)} seed ${seed}`;
          assert.equal(got, want.token, where);
          assert.equal(sampler.keptCount, want.kept, `${where}: candidates kept`);
          draws++;
        }
      }
    }
  }
  assert.equal(draws, 4 * 6 * 7 * 5);
});
