// Batched decoding (continuous batching): one pass advances many sequences, each at its own position,
// and must give what decoding each sequence alone gives, and what the parallel forward gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernels, withBackend, type BackendName } from '../src/backend/index.js';
import { parsePlan } from '../src/model/plan.js';
import { Transformer, type InferenceState, type ModelConfig } from '../src/model/transformer.js';
import { Rng } from '../src/tensor/random.js';
import { randomInts, relError } from './numeric.js';

const V = 20;
const config = (plan: string): ModelConfig => ({
  vocabSize: V,
  blockSize: 32,
  nLayer: parsePlan(plan).length,
  nHead: 2,
  nEmbd: 16,
  plan,
});

/**
 * A model whose every parameter is drawn N(0, 0.4²): at GPT's small init attention is nearly
 * uniform whatever the query, which would hide a query read from the wrong sequence.
 */
function makeModel(plan: string, seed: number): Transformer {
  const m = new Transformer(config(plan), { seed });
  const rng = new Rng(seed + 100);
  for (const p of m.params.list) rng.fillNormal(p.data, 0.4);
  return m;
}

const PLANS = [
  'attn*2',
  'hsm:ab*3',
  'hsm:ab[proj]*3',
  'hsm:conv[k=3]*2',
  'hsm:linear*3',
  'hsm:gated*3',
  'hsm:pair*3',
  'hsm:gated*2,attn',
];

/** One sequence decoded twice: in the batch (`batched`) and alone with decodeStep (`alone`). */
interface Sequence {
  name: string;
  tokens: Int32Array;
  /** Logits (tokens.length × V) of the parallel forward over all the tokens. */
  parallel: Float32Array;
  batched: InferenceState;
  alone: InferenceState;
}

function start(model: Transformer, name: string, rng: Rng, prefill: number, length = 32): Sequence {
  const tokens = randomInts(rng, length, V);
  const parallel = Float32Array.from(model.forward(tokens, 1, length).data);
  const batched = model.newState(),
    alone = model.newState();
  model.forward(tokens.subarray(0, prefill), 1, prefill, batched);
  model.forward(tokens.subarray(0, prefill), 1, prefill, alone);
  return { name, tokens, parallel, batched, alone };
}

/** One batched step over `active`, each row checked against decodeStep and the parallel pass. */
function stepAndCheck(model: Transformer, active: Sequence[], label: string): void {
  const tokens = active.map((s) => s.tokens[s.batched.pos]);
  const positions = active.map((s) => s.batched.pos);
  const logits = model.decodeBatch(
    tokens,
    active.map((s) => s.batched),
  );
  assert.equal(logits.length, active.length * V);
  active.forEach((s, i) => {
    const pos = positions[i];
    const row = logits.subarray(i * V, (i + 1) * V);
    const alone = model.decodeStep(tokens[i], s.alone);
    const errAlone = relError(row, alone);
    assert.ok(errAlone < 1e-5, `${label}: ${s.name} at ${pos} differs from decodeStep by ${errAlone.toExponential(2)}`);
    const errParallel = relError(row, s.parallel.subarray(pos * V, (pos + 1) * V));
    assert.ok(
      errParallel < 1e-4,
      `${label}: ${s.name} at ${pos} differs from the parallel pass by ${errParallel.toExponential(2)}`,
    );
    assert.equal(s.batched.pos, pos + 1, `${label}: ${s.name} moved on by one`);
    assert.equal(s.alone.pos, pos + 1);
  });
}

for (const backend of ['native', 'js'] as BackendName[]) {
  for (const plan of PLANS) {
    test(`batched decode equals per-sequence decode and the parallel pass: ${plan} (${backend})`, () =>
      withBackend(backend, () => {
        const model = makeModel(plan, 11);
        const rng = new Rng(12);
        // Four sequences with prompts of different lengths.
        let active = [start(model, 'a', rng, 3), start(model, 'b', rng, 7), start(model, 'c', rng, 1)];
        active.push(start(model, 'd', rng, 12));
        for (let k = 0; k < 10; k++) {
          if (k === 3) active = active.filter((s) => s.name !== 'b'); // b finishes and leaves
          if (k === 4) active.push(start(model, 'e', rng, 5)); // a new request joins
          if (k === 6) {
            active = active.filter((s) => s.name !== 'a');
            active.unshift(start(model, 'f', rng, 2)); // order in the batch is free
          }
          if (k === 8) active.reverse();
          stepAndCheck(model, active, `${plan} step ${k}`);
        }
        assert.deepEqual(
          active.map((s) => s.name),
          ['e', 'd', 'c', 'f'],
        );
      }));
  }
}

test('a batch of one is decodeStep', () => {
  for (const plan of PLANS) {
    const model = makeModel(plan, 5);
    const tokens = randomInts(new Rng(6), 12, V);
    const a = model.newState(),
      b = model.newState();
    model.forward(tokens.subarray(0, 4), 1, 4, a);
    model.forward(tokens.subarray(0, 4), 1, 4, b);
    for (let t = 4; t < 12; t++) {
      const batched = model.decodeBatch(Int32Array.of(tokens[t]), [a]);
      const alone = model.decodeStep(tokens[t], b);
      assert.equal(batched.length, V);
      const err = relError(batched, alone);
      assert.ok(err <= 1e-6, `${plan} at ${t}: batch of one differs from decodeStep by ${err.toExponential(2)}`);
    }
    assert.equal(a.pos, 12);
  }
});

test('decodeBatchInto writes the same logits as decodeBatch into the rows given, and prefill into its out buffer', () => {
  const model = makeModel('hsm:pair,attn', 7);
  const prompt = randomInts(new Rng(8), 5, V);
  const twins = () => [0, 1, 2].map(() => model.newState());
  const a = twins(),
    b = twins();
  const rows = a.map(() => new Float32Array(V));
  a.forEach((s, i) => {
    const out = new Float32Array(V);
    assert.equal(model.prefill(prompt.subarray(0, i + 2), s, out), out, 'prefill returns the buffer it filled');
    assert.deepEqual(out, model.prefill(prompt.subarray(0, i + 2), b[i]));
  });
  for (const t of [3, 9]) {
    model.decodeBatchInto([t, t + 1, t + 2], a, rows);
    const whole = model.decodeBatch([t, t + 1, t + 2], b);
    rows.forEach((row, i) => assert.deepEqual(row, whole.subarray(i * V, (i + 1) * V), `sequence ${i} after ${t}`));
  }
  assert.throws(
    () => model.decodeBatchInto([1], [a[0]], [new Float32Array(V - 1)]),
    /one row of \d+ floats per sequence/,
  );
  assert.throws(() => model.prefill(prompt, model.newState(), new Float32Array(3)), /out has 3 floats/);
});

test('decodeBatch rejects a state passed twice, shared layer states and mismatched tokens', () => {
  const model = makeModel('hsm:gated*2,attn', 1);
  const a = model.newState(),
    b = model.newState();
  model.forward(Int32Array.of(1, 2, 3), 1, 3, a);
  model.forward(Int32Array.of(4, 5), 1, 2, b);
  assert.throws(() => model.decodeBatch([1, 2, 3], [a, b, a]), /states\[2\] is the same object as states\[0\]/);
  const copy: InferenceState = { ...b }; // a new object that shares b's mixer states
  assert.throws(() => model.decodeBatch([1, 2], [b, copy]), /shares a layer state/);
  assert.throws(() => model.decodeBatch([1], [a, b]), /1 tokens for 2 states/);
  assert.throws(() => model.decodeBatch([1, V], [a, b]), /outside/);
  assert.equal(a.pos, 3, 'a rejected batch leaves the states alone');
  assert.equal(b.pos, 2);
  assert.equal(model.decodeBatch([], []).length, 0);
  // Still usable afterwards, and equal to the parallel pass.
  const logits = model.decodeBatch([6, 7], [a, b]);
  const full = model.forward(Int32Array.of(1, 2, 3, 6), 1, 4).data;
  assert.ok(relError(logits.subarray(0, V), full.subarray(3 * V, 4 * V)) < 1e-4);
});

test('decodeBatch stops at the context where decodeStep does, and not for pure HSM', () => {
  const attn = makeModel('hsm:gated*2,attn', 2);
  const full = attn.newState(),
    short = attn.newState();
  attn.forward(randomInts(new Rng(3), 32, V), 1, 32, full);
  attn.forward(Int32Array.of(1, 2), 1, 2, short);
  assert.throws(
    () => attn.decodeStep(1, full),
    (e) => e instanceof RangeError && /beyond the model's context 32/.test(e.message),
  );
  assert.throws(
    () => attn.decodeBatch([1, 2], [short, full]),
    (e) => e instanceof RangeError && /position 32 is beyond the model's context 32 \(sequence 1/.test(e.message),
  );
  assert.equal(short.pos, 2, 'nothing moved');
  attn.decodeBatch([3], [short]);
  assert.equal(short.pos, 3);

  // A pure HSM model has no positions and decodes past its context, batched too.
  const hsm = makeModel('hsm:linear*3', 4);
  assert.equal(hsm.maxDecodeLength, Infinity);
  const rng = new Rng(5);
  const active = [start(hsm, 'long', rng, 30, 40), start(hsm, 'short', rng, 2, 40)];
  for (let k = 0; k < 8; k++) stepAndCheck(hsm, active, `past the context, step ${k}`);
  assert.equal(active[0].batched.pos, 38);
});

test('prefillBatch: prompts of different lengths prefilled together decode as each prefilled alone', () => {
  for (const plan of PLANS) {
    const model = makeModel(plan, 11);
    const rng = new Rng(12);
    const prompts = [7, 1, 12, 4, 12].map((n) => randomInts(rng, n, V));
    const together = prompts.map(() => model.newState()),
      alone = prompts.map(() => model.newState());
    const rows = prompts.map(() => new Float32Array(V));
    model.prefillBatch(prompts, together, rows);
    prompts.forEach((p, i) => {
      const own = model.prefill(p, alone[i]);
      assert.ok(relError(rows[i], own) < 1e-5, `${plan}: prompt ${i}'s logits`);
      assert.equal(together[i].pos, p.length, `${plan}: prompt ${i}'s position`);
    });
    // The states recorded only the prompt, not the padding: the next steps agree too.
    for (const t of [3, 5, 8]) {
      const tokens = prompts.map((_, i) => (t + i) % V);
      const a = model.decodeBatch(tokens, together),
        b = model.decodeBatch(tokens, alone);
      assert.ok(relError(a, b) < 1e-5, `${plan}: step after ${t}`);
    }
  }
  const model = makeModel('hsm:pair,attn', 3);
  const s = model.newState();
  assert.throws(
    () => model.prefillBatch([Int32Array.of(1), Int32Array.of(2)], [s, s], [new Float32Array(V), new Float32Array(V)]),
    /its own state/,
  );
  assert.throws(
    () => model.prefillBatch([new Int32Array(0)], [model.newState()], [new Float32Array(V)]),
    /at least one token/,
  );
  assert.throws(
    () => model.prefillBatch([Int32Array.of(1)], [model.newState()], [new Float32Array(2)]),
    /one row of 20 floats/,
  );
});

test('decodeAndPrefill: running sequences and joining prompts in one pass get what decodeBatchInto and prefillBatch give', () => {
  // The usual plans, and the channel mixer with pow2-heads (a shift per head group).
  const models = PLANS.map((plan) => ({ plan, model: makeModel(plan, 11) }));
  const heads = new Transformer({ ...config('hsm:pair*2,hsm:channel'), schedule: 'pow2-heads' }, { seed: 11 });
  models.push({ plan: 'hsm:pair*2,hsm:channel pow2-heads', model: heads });
  for (const { plan, model } of models) {
    const rng = new Rng(13);
    // Five running sequences at different positions, in two copies: one for the mixed pass, one for the separate calls.
    const history = [3, 9, 1, 6, 14].map((n) => randomInts(rng, n, V));
    const running = [0, 1].map(() =>
      history.map((h) => {
        const s = model.newState();
        model.prefill(h, s);
        return s;
      }),
    );
    const prompts = [7, 1, 12].map((n) => randomInts(rng, n, V));
    const joining = [0, 1].map(() => prompts.map(() => model.newState()));
    const tokens = history.map((_, i) => (i * 7 + 2) % V);
    const rows = () => Array.from({ length: 8 }, () => new Float32Array(V));
    const mixed = rows(),
      separate = rows();
    model.decodeAndPrefill(
      { tokens, states: running[0], rows: mixed.slice(0, 5) },
      { prompts, states: joining[0], rows: mixed.slice(5) },
    );
    model.decodeBatchInto(tokens, running[1], separate.slice(0, 5));
    model.prefillBatch(prompts, joining[1], separate.slice(5));
    mixed.forEach((row, i) => assert.ok(relError(row, separate[i]) < 1e-5, `${plan}: row ${i}'s logits`));
    [0, 1].forEach((c) => {
      running[c].forEach((s, i) => assert.equal(s.pos, history[i].length + 1, `${plan}: sequence ${i}'s position`));
      joining[c].forEach((s, i) => assert.equal(s.pos, prompts[i].length, `${plan}: prompt ${i}'s position`));
    });
    // The states recorded the same things: the next steps of all eight agree too.
    const all = (c: number) => [...running[c], ...joining[c]];
    for (const t of [4, 11]) {
      const next = all(0).map((_, i) => (t + i) % V);
      assert.ok(
        relError(model.decodeBatch(next, all(0)), model.decodeBatch(next, all(1))) < 1e-5,
        `${plan}: step ${t}`,
      );
    }
  }
  // Checked before any state changes: a token outside the vocabulary, or a state in both sets.
  const model = makeModel('hsm:pair,attn', 3);
  const s = model.newState();
  model.prefill(Int32Array.of(1, 2), s);
  const row = () => new Float32Array(V);
  assert.throws(
    () =>
      model.decodeAndPrefill(
        { tokens: [1], states: [s], rows: [row()] },
        { prompts: [Int32Array.of(V + 3)], states: [model.newState()], rows: [row()] },
      ),
    /outside|token/,
  );
  assert.equal(s.pos, 2, 'a refused pass leaves the running state as it was');
  assert.throws(
    () =>
      model.decodeAndPrefill(
        { tokens: [1], states: [s], rows: [row()] },
        { prompts: [Int32Array.of(1)], states: [s], rows: [row()] },
      ),
    /same object/,
  );
});

test('packed weights (packWeights) decode as the plain ones, and a batch of 16 gives each sequence the bits it gets in a batch of 4', () => {
  for (const plan of ['hsm:pair*3', 'hsm:gated*2,attn']) {
    const plain = makeModel(plan, 21),
      packed = makeModel(plan, 21);
    packed.packWeights();
    const rng = new Rng(22);
    const prompts = Array.from({ length: 16 }, () => randomInts(rng, 6, V));
    const start = (m: Transformer) => {
      const states = prompts.map(() => m.newState());
      const rows = prompts.map(() => new Float32Array(V));
      m.prefillBatch(prompts, states, rows);
      return { states, rows };
    };
    const a = start(plain),
      b = start(packed);
    a.rows.forEach((row, i) => assert.ok(relError(b.rows[i], row) < 1e-5, `${plan}: prefill of prompt ${i}`));
    const four = prompts.slice(0, 4).map((p) => {
      const s = packed.newState();
      packed.prefill(p, s);
      return s;
    });
    for (let t = 0; t < 5; t++) {
      const tokens = prompts.map((_, i) => (t * 3 + i) % V);
      const want = plain.decodeBatch(tokens, a.states),
        got = packed.decodeBatch(tokens, b.states);
      assert.ok(relError(got, want) < 1e-5, `${plan}: step ${t}`);
      const firstFour = packed.decodeBatch(tokens.slice(0, 4), four);
      assert.deepEqual(firstFour, got.subarray(0, 4 * V), `${plan}: step ${t}, 4 of the 16 alone`);
    }
    const native = kernels().name === 'native';
    assert.equal(packed.packedWeightBytes > 0, native, `${plan}: packed copies exist natively only`);
    assert.equal(plain.packedWeightBytes, 0);
  }
});
