// One-off check (not part of the build): a bigram model's loss by position bucket on the
// windows that `hsm compare` scores a run of seed S on (lossByPosition with seed S + 2,
// 50 batches of 8 windows), to tell the text of those windows from what a model does with
// its context. Needs `npm run build`.
//   node tools/bigram_by_position.mjs [seed] [context]
import { openTextData } from '../dist/src/data/text-data.js';
import { Rng } from '../dist/src/tensor/random.js';

const seed = Number(process.argv[2] ?? 1);
const T = Number(process.argv[3] ?? 512);
const { data, tokenizer } = openTextData('sotu', 'char', 0.1);
const V = tokenizer.vocabSize;
const pairs = new Float64Array(V * V);
const firsts = new Float64Array(V);
for (let i = 0; i + 1 < data.train.length; i++) {
  pairs[data.train[i] * V + data.train[i + 1]]++;
  firsts[data.train[i]]++;
}
// Add-half smoothing: a plain, fixed estimator; only differences between buckets matter here.
const loss = (a, b) => -Math.log((pairs[a * V + b] + 0.5) / (firsts[a] + 0.5 * V));

const edges = [0, 1];
while (edges.at(-1) < T) edges.push(Math.min(T, 2 * edges.at(-1)));
const sums = new Float64Array(edges.length - 1);
const counts = new Float64Array(edges.length - 1);
const rng = new Rng(seed + 2);
for (let i = 0; i < 50; i++) {
  const { x, y } = data.sampleBatch('val', rng, 8, T);
  for (let r = 0; r < x.length; r++) {
    const t = r % T;
    const b = edges.findIndex((e, k) => t >= e && t < edges[k + 1]);
    sums[b] += loss(x[r], y[r]);
    counts[b]++;
  }
}
for (let b = 0; b < sums.length; b++)
  console.log(JSON.stringify({ from: edges[b], to: edges[b + 1], bigram_loss: +(sums[b] / counts[b]).toFixed(4) }));
