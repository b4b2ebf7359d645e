// The recall task's generators (Zoology's and the legacy one), its no-recall
// baseline, the output head on scored rows only, and stopping at an accuracy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tape } from '../src/autograd/tape.js';
import { IdTokenizer } from '../src/data/id-tokenizer.js';
import { bagWithReplacement, noRecallBaseline } from '../src/data/mqar-baseline.js';
import { formatMqarSpec, generateMqarSequence, MqarData, type MqarSpec } from '../src/data/mqar.js';
import { legacyKeyCount } from '../src/data/mqar-legacy.js';
import { powerLawSlots } from '../src/data/mqar-zoology.js';
import { UserError } from '../src/errors.js';
import { Transformer } from '../src/model/transformer.js';
import { crossEntropy } from '../src/ops/index.js';
import { Rng } from '../src/tensor/random.js';
import { parseTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';

/** `n` sequences of a spec from one seed. */
function sequences(spec: MqarSpec, n: number, seed = 1): { x: Int32Array; y: Int32Array }[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const x = new Int32Array(spec.context),
      y = new Int32Array(spec.context);
    generateMqarSequence(spec, rng, x, y);
    return { x, y };
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('Zoology MQAR: keys and values in their halves, values distinct, labels only at each key asked once, answers not in the input', () => {
  const spec = { vocabSize: 8192, context: 128, pairs: 8 };
  for (const { x, y } of sequences(spec, 200)) {
    const value = new Map<number, number>();
    for (let i = 0; i < 8; i++) {
      assert.ok(x[2 * i] >= 1 && x[2 * i] < 4096, `key ${x[2 * i]} in [1, 4096)`);
      assert.ok(x[2 * i + 1] >= 4096 && x[2 * i + 1] < 8192, `value ${x[2 * i + 1]} in [4096, 8192)`);
      value.set(x[2 * i], x[2 * i + 1]);
    }
    assert.equal(value.size, 8, 'keys distinct');
    assert.equal(new Set(value.values()).size, 8, 'values distinct');
    const asked = [...y.keys()].filter((t) => y[t] >= 0);
    assert.equal(asked.length, 8, 'one label per pair');
    assert.deepEqual(new Set(asked.map((t) => x[t])), new Set(value.keys()), 'every key asked once');
    for (const t of asked) {
      assert.ok(t >= 16 && (t - 16) % 2 === 0, 'a query sits on an even slot after the pairs');
      assert.equal(y[t], value.get(x[t]), 'its label is its value');
      assert.equal(x[t + 1], 0, 'the answer is not in the input');
    }
    for (let t = 16; t < 128; t++) if (!asked.includes(t)) assert.equal(x[t], 0, 'filler elsewhere');
  }
});

test("Zoology MQAR: power-law query slots (median slot 8 at length 128 with 8 pairs, as numpy's sampler gives); a = 1 is uniform", () => {
  const slotsOf = (spec: MqarSpec) =>
    sequences(spec, 2000, 7).flatMap(({ y }) => [...y.keys()].filter((t) => y[t] >= 0).map((t) => (t - 16) / 2));
  const powerLaw = slotsOf({ vocabSize: 8192, context: 128, pairs: 8 });
  assert.equal(median(powerLaw), 8);
  assert.ok(Math.max(...powerLaw) <= 55, 'slots stay inside the 56 after the pairs');
  const uniform = slotsOf({ vocabSize: 8192, context: 128, pairs: 8, powerA: 1 });
  assert.ok(Math.abs(median(uniform) - 27.5) <= 1.5, `uniform median ${median(uniform)}`);
  // The sampler alone: distinct slots, and the first found lean lowest (numpy's rounds keep first appearances).
  const rng = new Rng(3);
  const firsts: number[] = [],
    lasts: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const s = powerLawSlots(rng, 56, 8, 0.01);
    assert.equal(new Set(s).size, 8);
    firsts.push(s[0]);
    lasts.push(s[7]);
  }
  assert.ok(median(firsts) < median(lasts), `first ${median(firsts)} vs last ${median(lasts)}`);
});

test('Zoology MQAR options: values with replacement, one shared range, answers in the input, noise filler', () => {
  const repeats = sequences({ vocabSize: 40, context: 64, pairs: 16, distinctValues: false }, 50).some(
    ({ x }) => new Set(Array.from({ length: 16 }, (_, i) => x[2 * i + 1])).size < 16,
  );
  assert.ok(repeats, 'with replacement, 16 values from 20 repeat');
  for (const { x } of sequences({ vocabSize: 40, context: 64, pairs: 16, separateRanges: false }, 50)) {
    const kv = [...x.subarray(0, 32)];
    assert.equal(new Set(kv).size, 32, 'one range: all 32 tokens of the pairs differ');
    assert.ok(kv.every((t) => t >= 1 && t < 40));
  }
  for (const { x, y } of sequences({ vocabSize: 64, context: 64, pairs: 4, answerInInput: true }, 50))
    for (let t = 8; t < 63; t++) if (y[t] >= 0) assert.equal(x[t + 1], y[t], 'the answer follows its query');
  const noisy = sequences({ vocabSize: 8192, context: 128, pairs: 8, fillerNoise: true }, 20);
  assert.ok(
    noisy.every(({ x }) => x.filter((t) => t === 0).length <= 1),
    'filler replaced by random tokens',
  );
  assert.equal(
    formatMqarSpec({ vocabSize: 8192, context: 128, pairs: 8 }),
    'mqar:vocab=8192,context=128,pairs=8,generator=zoology,powerA=0.01,distinctValues=true,separateRanges=true,answerInInput=false,fillerNoise=false',
  );
  const bad: [MqarSpec, RegExp][] = [
    [{ vocabSize: 8192, context: 128, pairs: 8, queries: 12 }, /queries other than pairs need generator "legacy"/],
    [{ vocabSize: 8192, context: 128, pairs: 8, powerA: 0 }, /powerA 0 must be a number above 0, at most 1/],
    [{ vocabSize: 8192, context: 60, pairs: 16 }, /context of at least 64 tokens, got 60/],
    [{ vocabSize: 20, context: 64, pairs: 10 }, /10 pairs need 10 distinct keys but vocabulary 20 has 9/],
    [
      { generator: 'legacy', vocabSize: 64, context: 64, pairs: 4, powerA: 0.5 },
      /legacy generator has no option powerA/,
    ],
  ];
  for (const [spec, message] of bad)
    assert.throws(
      () => new MqarData(spec),
      (e: unknown) => e instanceof UserError && message.test(e.message),
    );
});

test('the legacy generator reproduces the data committed results were trained on, bit for bit', () => {
  // sha256 of fixed-seed held-out sets and batches, computed with the generator before the Zoology one was added.
  const expected: [MqarSpec, string, string][] = [
    [
      { vocabSize: 64, context: 128, pairs: 8 },
      'a04f7719083413c7e2a7197db131bd8562ca959d42849abd6ab0c6dedd261350',
      '2626178cea6e2e025c21e303bf01bdfdf2d750e4c311c8f17ee629a0f3141693',
    ],
    [
      { vocabSize: 64, context: 64, pairs: 4, queries: 6 },
      'e5b60dd31097019ef739c0e4cf6c349c092455dd3a2420fa1d585d73f7742ee6',
      '8826bb3aebde0c83b70517fab23c68ad8f6068d3beb4c012ea993a7f10ba26af',
    ],
    [
      {
        vocabSize: 64,
        context: 256,
        pairs: 16,
        mix: [
          { context: 64, pairs: 4 },
          { context: 128, pairs: 8 },
        ],
      },
      '631e97405e0217ce1aaf87eb0404a822389e9190874a254b1887dae46d0aad94',
      '7d9822db2ed8fa4a9340f4066a4f781f6d629ec17951add2589e544e01b6a646',
    ],
  ];
  const sha = (arrays: Int32Array[]) => {
    const h = createHash('sha256');
    for (const a of arrays) h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    return h.digest('hex');
  };
  for (const [spec, heldOut, batches] of expected) {
    const d = new MqarData({ ...spec, generator: 'legacy' }, { heldOutSequences: 16, heldOutSeed: 90_001 });
    const rng = new Rng(7);
    const b = d.sampleBatch('train', rng, 8, spec.context);
    const v = d.sampleBatch('val', rng, 4, spec.context);
    assert.equal(sha([d.heldOut.x, d.heldOut.y]), heldOut, JSON.stringify(spec));
    assert.equal(sha([b.x, b.y, v.x, v.y]), batches, JSON.stringify(spec));
  }
  assert.equal(
    formatMqarSpec({ generator: 'legacy', vocabSize: 64, context: 128, pairs: 8 }),
    'mqar:vocab=64,context=128,pairs=8,queries=8',
    'the data string committed runs recorded',
  );
});

test('no-recall baseline: worked by hand on tiny settings, and the legacy task’s corrected chance levels', () => {
  // 2 values drawn from 2: the same twice (p 1/2, the bag is right on both queries) or different (right on one).
  let b = bagWithReplacement(2, 2);
  assert.ok(Math.abs(b.accuracy - 3 / 4) < 1e-12);
  // The asked pair's value is shared (count 2 of 2: loss 0) or alone (count 1 of 2: ln 2), each with p 1/2.
  assert.ok(Math.abs(b.crossEntropy - Math.log(2) / 2) < 1e-12);
  // 3 draws from 2: counts (3,0) in 2 of 8 sequences (max 3), (2,1) in 6 (max 2): E[max] = 18/8.
  b = bagWithReplacement(3, 2);
  assert.ok(Math.abs(b.accuracy - 18 / 8 / 3) < 1e-12);
  // The asked value's count is 1 + Binomial(2, 1/2): 1, 2, 3 with p 1/4, 1/2, 1/4.
  assert.ok(Math.abs(b.crossEntropy - (Math.log(3) / 4 + Math.log(3 / 2) / 2)) < 1e-12);
  // Distinct values: 1/P and ln P.
  const z = noRecallBaseline({ vocabSize: 8192, context: 128, pairs: 8 });
  assert.deepEqual(z.bag, { accuracy: 1 / 8, crossEntropy: Math.log(8) });
  assert.equal(z.afterAnswers, undefined, 'no answers in the input to discount');
  // With the answers in the input and distinct values, the bag less the answered values is exact: H_P / P.
  const after = noRecallBaseline({ vocabSize: 8192, context: 64, pairs: 4, answerInInput: true }, 4000).afterAnswers!;
  assert.ok(Math.abs(after.accuracy - (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4) < 1e-9);
  assert.ok(Math.abs(after.crossEntropy - (Math.log(4) + Math.log(3) + Math.log(2)) / 4) < 1e-9);
  // The committed legacy grid (vocabulary 64: 31 values, with replacement): 29.7%, 21.0% (1.93 nats), 15.1%.
  const legacy = (context: number, pairs: number) =>
    noRecallBaseline({ generator: 'legacy', vocabSize: 64, context, pairs }, 2000);
  assert.equal(legacy(64, 4).bag.accuracy.toFixed(3), '0.297');
  assert.equal(legacy(128, 8).bag.accuracy.toFixed(3), '0.210');
  assert.equal(legacy(128, 8).bag.crossEntropy.toFixed(2), '1.93');
  assert.equal(legacy(256, 16).bag.accuracy.toFixed(3), '0.151');
  assert.ok(legacy(64, 4).afterAnswers!.accuracy > 0.5, 'discounting answered values lifts length 64 past 50%');
});

test('the output head on scored rows only: the same loss and gradients as on every row', () => {
  for (const plan of ['attn*2', 'hsm:conv,attn']) {
    const model = new Transformer({ vocabSize: 64, blockSize: 32, nLayer: 2, nHead: 1, nEmbd: 16, plan });
    const { x, y } = new MqarData({ vocabSize: 64, context: 32, pairs: 4 }).sampleBatch('train', new Rng(2), 3, 32);
    const run = (f: () => ReturnType<typeof crossEntropy>) => {
      const tape = new Tape();
      for (const p of model.params.list) p.zeroGrad();
      const loss = tape.record(f);
      tape.backward(loss, Float32Array.of(1));
      const out = { loss: loss.item(), grads: model.params.list.map((p) => Float32Array.from(p.grad!)) };
      tape.release();
      return out;
    };
    const all = run(() => crossEntropy(model.forward(x, 3, 32), y));
    const scored = run(() => model.loss(x, y, 3, 32));
    assert.ok(Math.abs(all.loss - scored.loss) < 1e-6, `${plan}: ${all.loss} vs ${scored.loss}`);
    all.grads.forEach((g, i) => g.forEach((v, j) => assert.ok(Math.abs(v - scored.grads[i][j]) < 1e-6)));
  }
});

test('stopAtAccuracy: training ends at the first evaluation that reaches it, a resume trains no further, a raised threshold trains on', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'hsm-mqar-')), 'run');
  const data = new MqarData({ vocabSize: 32, context: 16, pairs: 2 }, { heldOutSequences: 16 });
  const source = { tokenizer: new IdTokenizer(32), data };
  const cfg = (stopAtAccuracy: number) =>
    parseTrainConfig({
      data: 'mqar',
      tokenizer: 'ids',
      model: { nEmbd: 16, nHead: 1, blockSize: 16, plan: 'attn*2' },
      batchSize: 4,
      maxIters: 40,
      evalInterval: 5,
      evalIters: 2,
      logInterval: 5,
      stopAtAccuracy,
      out,
    });
  const first = await train(cfg(0), { source });
  assert.equal(first.step, 5, 'any accuracy reaches 0: stopped at the first evaluation');
  assert.ok(first.stoppedAtAccuracy !== null && first.stoppedAtAccuracy! >= 0);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.at(-1).step, 5);
  assert.ok(typeof lines.at(-1).val_accuracy === 'number');
  const again = await train(cfg(0), { source, resume: true });
  assert.equal(again.step, 5, 'the finished run is not trained again');
  const more = await train(cfg(1), { source, resume: true });
  assert.ok(more.step > 5, `a threshold of 100% trains on (to step ${more.step})`);
});

test('legacy MQAR sequences: distinct keys, each query answered by its pair, same seed same data', () => {
  const spec = { generator: 'legacy' as const, vocabSize: 64, context: 64, pairs: 8 };
  const x = new Int32Array(64),
    y = new Int32Array(64);
  generateMqarSequence(spec, new Rng(3), x, y);
  const K = legacyKeyCount(64);
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
  assert.throws(
    () => new MqarData({ generator: 'legacy', vocabSize: 64, context: 30, pairs: 8 }),
    /context of at least 32/,
  );
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
