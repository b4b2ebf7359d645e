// The evidence a study's claims rest on: n-gram reference levels computed by hand on a tiny
// corpus, and the loss by position, whose token-weighted mean is the whole-window loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenDataset } from '../src/data/dataset.js';
import { ngramLevels } from '../src/data/ngram.js';
import { Transformer } from '../src/model/transformer.js';
import { estimateLoss, lossByPosition } from '../src/train/evaluate.js';
import { fitPowerLaw } from '../src/compare/study-charts.js';
import { Rng } from '../src/tensor/random.js';

test('n-gram levels on a tiny corpus equal Witten-Bell interpolation worked out by hand', () => {
  // V = 3, train "0 1 0 1 2" (N = 5), val "0 1 2 2": scored tokens are val[2] = 2 and val[3] = 2.
  const levels = ngramLevels([0, 1, 0, 1, 2], [0, 1, 2, 2], 3);
  // unigram: add-one, P(2) = (1 + 1) / (5 + 3)
  const p1 = 2 / 8;
  // bigram after 1: train continuations of 1 are "0" and "2" (2 times, 2 distinct): P(2|1) = (1 + 2·p1) / (2 + 2)
  const p2after1 = (1 + 2 * p1) / 4;
  // bigram after 2: 2 is never a context in train, so P(2|2) = p1
  const p2after2 = p1;
  // trigram after (0,1): continuations "0", "2" (2 times, 2 distinct): P(2|0,1) = (1 + 2·P(2|1)) / 4
  const p3first = (1 + 2 * p2after1) / 4;
  // trigram after (1,2): unseen context, falls back to P(2|2)
  const p3second = p2after2;
  assert.equal(levels.tokens, 2);
  assert.ok(Math.abs(levels.unigram - -Math.log(p1)) < 1e-12);
  assert.ok(Math.abs(levels.bigram - -(Math.log(p2after1) + Math.log(p2after2)) / 2) < 1e-12);
  assert.ok(Math.abs(levels.trigram - -(Math.log(p3first) + Math.log(p3second)) / 2) < 1e-12);
});

test('n-gram levels fall with the order on structured text, and a model of the data itself is the floor', () => {
  // A period-3 sequence: a bigram model still hesitates where a trigram model knows.
  const seq = Array.from({ length: 3000 }, (_, i) => [0, 1, 0, 2][i % 4]);
  const l = ngramLevels(seq.slice(0, 2400), seq.slice(2400), 3);
  assert.ok(l.unigram > l.bigram && l.bigram > l.trigram, JSON.stringify(l));
  assert.ok(l.trigram < 0.01, 'the trigram model predicts a period-4 sequence almost surely');
  assert.ok(Math.abs(l.bigram - Math.log(2) / 2) < 0.01, 'after 0 the bigram model hesitates between 1 and 2');
});

test('loss by position: buckets 0, [1,2), [2,4), … cover the window, and their weighted mean is the whole-window loss', () => {
  const T = 24,
    V = 13;
  const model = new Transformer(
    { vocabSize: V, blockSize: T, nLayer: 2, nHead: 2, nEmbd: 16, plan: 'hsm:pair,attn' },
    { seed: 3 },
  );
  const rng = new Rng(5);
  const data = new TokenDataset(Int32Array.from({ length: 2000 }, () => rng.int(V)));
  const buckets = lossByPosition(model, data, 'val', 3, 4, 11);
  assert.deepEqual(
    buckets.map((b) => [b.from, b.to]),
    [
      [0, 1],
      [1, 2],
      [2, 4],
      [4, 8],
      [8, 16],
      [16, 24],
    ],
  );
  assert.deepEqual(
    buckets.map((b) => b.tokens),
    [1, 1, 2, 4, 8, 8].map((w) => w * 3 * 4),
  );
  const mean = buckets.reduce((s, b) => s + b.loss * b.tokens, 0) / buckets.reduce((s, b) => s + b.tokens, 0);
  const whole = estimateLoss(model, data, 'val', 3, 4, 11);
  assert.ok(Math.abs(mean - whole) < 1e-5, `${mean} vs ${whole}`);
});

test('the power-law fit recovers L = a·C^−b from exact points', () => {
  const points = [1e12, 4e12, 1.6e13].map((flops) => ({ flops, mean: 30 * flops ** -0.07 }));
  const fit = fitPowerLaw(points)!;
  assert.ok(Math.abs(fit.b - 0.07) < 1e-12 && Math.abs(fit.a / 30 - 1) < 1e-9);
  assert.equal(fitPowerLaw(points.slice(0, 1)), null);
});
