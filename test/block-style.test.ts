// The transformer++ block style (RMSNorm, SwiGLU, no biases, rotary positions) with every mixer:
// parameters, causality, streaming and batched decoding against the parallel forward, parameter matching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBackend } from '../src/backend/index.js';
import { describeModel, matchFfnWidth, modelShapes } from '../src/model/cost.js';
import { parsePlan } from '../src/model/plan.js';
import { Transformer, type ModelConfig } from '../src/model/transformer.js';
import { Rng } from '../src/tensor/random.js';
import { randomInts, relError } from './numeric.js';

const V = 11,
  T = 16;
const config = (plan: string, extra: Partial<ModelConfig> = {}): ModelConfig => ({
  vocabSize: V,
  blockSize: T,
  nLayer: parsePlan(plan).length,
  nHead: 2,
  nEmbd: 8,
  plan,
  style: 'transformer++',
  ...extra,
});

/** Weights drawn N(0, 0.4²) so that attention and gates are far from uniform (a wrong position would show). */
function makeModel(plan: string, seed: number, extra: Partial<ModelConfig> = {}): Transformer {
  const m = new Transformer(config(plan, extra), { seed });
  const rng = new Rng(seed + 100);
  for (const p of m.params.list) rng.fillNormal(p.data, 0.4);
  return m;
}

const PLANS = [
  'attn*2',
  'hsm:ab*4',
  'hsm:ab[proj]*4',
  'hsm:channel*4',
  'hsm:conv[k=3]*3',
  'hsm:linear*4',
  'hsm:gated*4',
  'hsm:pair*4',
  'hsm:gated*2,attn',
  '(hsm:pair,attn)*2',
];

test('transformer++ has RMSNorm weights, a SwiGLU c_fc of 2F rows, no biases and no position table', () => {
  const model = new Transformer(config('hsm:pair,attn'), { seed: 1 });
  const names = [...model.params.shapes.keys()];
  assert.deepEqual(
    names.filter((n) => n.includes('bias')),
    [],
  );
  assert.ok(!names.includes('wpe.weight'));
  const F = model.ffnHidden;
  assert.equal(F, Math.round((8 * 8) / 3));
  assert.deepEqual(model.params.shapes.get('h.0.mlp.c_fc.weight'), [2 * F, 8]);
  assert.deepEqual(model.params.shapes.get('h.0.mlp.c_proj.weight'), [8, F]);
  assert.deepEqual(model.params.shapes.get('h.1.ln_2.weight'), [8]);
  assert.equal(model.styleName, 'transformer++');
  assert.equal(new Transformer(config('attn*2', { style: 'gpt2', norm: 'rmsnorm' })).styleName, 'gpt2+rmsnorm');
  assert.equal(new Transformer(config('attn*2', { style: undefined })).styleName, 'gpt2');
  // An override of one option keeps the rest of the style: rotary off brings the position table back.
  assert.ok(new Transformer(config('attn*2', { rotary: false })).params.shapes.has('wpe.weight'));
});

test('transformer++ FLOPs count three FFN matrices, and parameter matching lands within one hidden unit', () => {
  const gpt = describeModel(modelShapes(config('attn*2', { style: 'gpt2' })));
  const tpp = describeModel(modelShapes(config('attn*2')));
  const perLayer = (r: typeof gpt) => r.layers[0].forwardFlopsPerToken;
  assert.equal(perLayer(tpp) - perLayer(gpt), 2 * (3 * 8 * tpp.ffnHidden - 2 * 8 * gpt.ffnHidden));
  assert.equal(tpp.style, 'transformer++');
  assert.equal(tpp.positionEncoding, 'rotary');
  assert.equal(gpt.positionEncoding, 'learned');
  const hsm = config('hsm:gated*4');
  const matched = matchFfnWidth(hsm, 'attn*2');
  const got = modelShapes({ ...hsm, ffnHidden: matched.ffnHidden }).params.count;
  assert.equal(got, matched.parameters);
  const perUnit = 3 * 8; // SwiGLU without biases: two c_fc rows and a c_proj column per hidden unit
  assert.ok(Math.abs(got - matched.target) <= (perUnit * 4) / 2, `${got} vs target ${matched.target}`);
});

for (const plan of PLANS) {
  test(`transformer++ causality: ${plan}`, () => {
    const model = makeModel(plan, 2);
    const tokens = randomInts(new Rng(6), T, V);
    const base = model.forward(tokens, 1, T).data;
    for (const u of [3, 9, 15]) {
      const changed = Int32Array.from(tokens);
      changed[u] = (changed[u] + 1) % V;
      const out = model.forward(changed, 1, T).data;
      for (let i = 0; i < u * V; i++) assert.equal(out[i], base[i], `position ${Math.floor(i / V)} changed`);
    }
  });

  test(`transformer++ streaming and batched decoding equal the parallel forward: ${plan}`, () => {
    const model = makeModel(plan, 7);
    const rng = new Rng(8);
    const seqs = [5, 1, 11].map((prefill) => {
      const tokens = randomInts(rng, T, V);
      const state = model.newState();
      model.forward(tokens.subarray(0, prefill), 1, prefill, state);
      return { tokens, prefill, state, parallel: Float32Array.from(model.forward(tokens, 1, T).data) };
    });
    // Sequence 0 alone with decodeStep; all three in decode batches at their own positions.
    const alone = model.newState();
    model.forward(seqs[0].tokens.subarray(0, 5), 1, 5, alone);
    for (let t = 5; t < T; t++) {
      const err = relError(model.decodeStep(seqs[0].tokens[t], alone), seqs[0].parallel.subarray(t * V, (t + 1) * V));
      assert.ok(err < 1e-4, `${plan}: position ${t} decodes ${err.toExponential(2)} away from the parallel pass`);
    }
    for (let step = 0; ; step++) {
      const live = seqs.filter((s) => s.prefill + step < T);
      if (live.length === 0) break;
      const logits = model.decodeBatch(
        live.map((s) => s.tokens[s.prefill + step]),
        live.map((s) => s.state),
      );
      live.forEach((s, i) => {
        const t = s.prefill + step;
        const err = relError(logits.subarray(i * V, (i + 1) * V), s.parallel.subarray(t * V, (t + 1) * V));
        assert.ok(err < 1e-4, `${plan}: batched row ${i} at position ${t} is ${err.toExponential(2)} away`);
      });
    }
  });
}

test('rotary attention sees order: without a position table, permuting earlier tokens changes the output', () => {
  // With neither positions nor rotary, attention is permutation-invariant over its past (a bag of tokens).
  const tokens = Int32Array.of(1, 2, 3, 4, 5, 6);
  const swapped = Int32Array.of(2, 1, 3, 4, 5, 6);
  const last = (m: Transformer, idx: Int32Array) => m.forward(idx, 1, 6).data.slice(5 * V);
  const bag = makeModel('attn', 3, { rotary: false, positions: false, nLayer: 1 });
  assert.ok(relError(last(bag, tokens), last(bag, swapped)) < 1e-6, 'no positions: order-blind');
  const turned = makeModel('attn', 3, { nLayer: 1 });
  assert.ok(relError(last(turned, tokens), last(turned, swapped)) > 1e-3, 'rotary: order matters');
});

test('transformer++ gives the same logits on the js and native backends', () => {
  const model = makeModel('(hsm:pair,attn)*2', 5);
  const tokens = randomInts(new Rng(9), 2 * T, V);
  const js = withBackend('js', () => Float32Array.from(model.forward(tokens, 2, T).data));
  const native = withBackend('native', () => Float32Array.from(model.forward(tokens, 2, T).data));
  assert.ok(relError(native, js) < 1e-5);
});
