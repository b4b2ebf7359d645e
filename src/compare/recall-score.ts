// Scores a trained model on the recall task's held-out sequences. This is
// model-side work, so it lives here and not with the data (src/data/mqar.ts).
import type { MqarData } from '../data/mqar.js';
import { scoredRows, type Transformer } from '../model/transformer.js';
import { countRight } from '../train/evaluate.js';

/** Share of held-out queries whose most likely next token is the right value (the head runs at the queries only). */
export function recallAccuracy(data: MqarData, model: Transformer, batchSize = 32): number {
  const T = data.spec.context,
    V = model.config.vocabSize,
    n = data.heldOutSequences;
  let right = 0,
    asked = 0;
  for (let start = 0; start < n; start += batchSize) {
    const B = Math.min(batchSize, n - start);
    const x = data.heldOut.x.subarray(start * T, (start + B) * T),
      y = data.heldOut.y.subarray(start * T, (start + B) * T);
    const rows = scoredRows(y);
    const targets = rows.map((r) => y[r]);
    right += countRight(model.forwardRows(x, B, T, rows).data, targets, V);
    asked += rows.length;
  }
  return right / asked;
}

/** One held-out sequence with the model's answers, for reports: "k→v …  |  k? v' ✓ …". */
export function describeRecall(data: MqarData, model: Transformer, index = 0): string {
  const T = data.spec.context,
    V = model.config.vocabSize;
  const x = data.heldOut.x.subarray(index * T, (index + 1) * T),
    y = data.heldOut.y.subarray(index * T, (index + 1) * T);
  const logits = model.forward(x, 1, T).data;
  const pairs = Array.from({ length: data.spec.pairs }, (_, i) => `${x[2 * i]}→${x[2 * i + 1]}`);
  const answers: string[] = [];
  for (let t = 0; t < T; t++) {
    if (y[t] < 0) continue;
    const guess = argmax(logits, t * V, V);
    answers.push(`${x[t]}? ${guess}${guess === y[t] ? ' ✓' : ` ✗ (${y[t]})`}`);
  }
  return `pairs: ${pairs.join(' ')}\nanswers: ${answers.join(', ')}`;
}

function argmax(a: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[offset + i] > a[offset + best]) best = i;
  return best;
}
