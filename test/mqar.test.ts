// The multi-query associative recall (MQAR) task of the recall grids: key-value
// pairs then queries, each answered by its pair; shorter instances mixed into training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdTokenizer } from '../src/data/id-tokenizer.js';
import { formatMqarSpec, generateMqarSequence, MqarData, mqarKeyCount } from '../src/data/mqar.js';
import { Rng } from '../src/tensor/random.js';

test('MQAR sequences: distinct keys, each query answered by its pair, same seed same data', () => {
  const spec = { vocabSize: 64, context: 64, pairs: 8 };
  const x = new Int32Array(64),
    y = new Int32Array(64);
  generateMqarSequence(spec, new Rng(3), x, y);
  const K = mqarKeyCount(64);
  const value = new Map<number, number>();
  for (let i = 0; i < 8; i++) {
    assert.ok(x[2 * i] >= 1 && x[2 * i] <= K && x[2 * i + 1] > K, 'keys then values');
    value.set(x[2 * i], x[2 * i + 1]);
  }
  assert.equal(value.size, 8, 'keys are distinct');
  const asked = [...y.keys()].filter((t) => y[t] >= 0);
  assert.equal(asked.length, 8);
  for (const t of asked) {
    assert.ok(t >= 16);
    assert.equal(y[t], value.get(x[t]), 'the target is the value of the queried key');
    assert.equal(x[t + 1], y[t], 'the answer follows the query');
  }
  assert.deepEqual(new MqarData(spec).heldOut, new MqarData(spec).heldOut);
  assert.throws(() => new MqarData({ vocabSize: 64, context: 30, pairs: 8 }), /context of at least 32/);
  const tok = new IdTokenizer(64);
  assert.deepEqual([...tok.encode(tok.decode([3, 0, 63]))], [3, 0, 63]);
  assert.throws(() => tok.encode('3 64'), /not a token id/);
});

test('MQAR with shorter instances mixed into training: each size as likely, padded with filler; held-out stays full size', () => {
  const spec = { vocabSize: 64, context: 64, pairs: 8, mix: [{ context: 16, pairs: 2 }] };
  const data = new MqarData(spec, { heldOutSequences: 64 });
  const plain = new MqarData({ vocabSize: 64, context: 64, pairs: 8 }, { heldOutSequences: 64 });
  assert.deepEqual(data.heldOut, plain.heldOut, 'the held-out questions do not change');
  const { x, y } = data.sampleBatch('train', new Rng(5), 400, 64);
  let short = 0;
  for (let b = 0; b < 400; b++) {
    const xs = x.subarray(b * 64, (b + 1) * 64),
      ys = y.subarray(b * 64, (b + 1) * 64);
    const asked = [...ys.keys()].filter((t) => ys[t] >= 0);
    if (asked.length === 2) {
      short++;
      assert.ok(
        asked.every((t) => t >= 4 && t < 16),
        'a short instance asks inside its 16 tokens',
      );
      assert.ok(
        xs.subarray(16).every((v) => v === 0),
        'filler after it',
      );
      for (const t of asked) assert.ok([xs[0], xs[2]].includes(xs[t]), 'it asks for one of its own two keys');
    } else assert.equal(asked.length, 8, 'otherwise a full-size instance');
  }
  assert.ok(short > 150 && short < 250, `about half the sequences are short: ${short} of 400`);
  assert.match(formatMqarSpec(spec), /,mix=16x2$/);
  assert.throws(
    () => new MqarData({ ...spec, mix: [{ context: 64, pairs: 2 }] }),
    /instance of 64 tokens must be shorter than the sequence \(64 tokens\)/,
  );
  assert.throws(
    () => new MqarData({ ...spec, mix: [{ context: 8, pairs: 4 }] }),
    /context of at least 16 tokens, got 8/,
  );
});
