// HSM models: plans, shift schedules, causality, coverage of the schedule, streaming = parallel,
// parameter matching and hsm info (each mixer on its own: mixers.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape } from '../src/autograd/tape.js';
import { withBackend } from '../src/backend/index.js';
import { MIXERS } from '../src/model/mixers/registry.js';
import { formatPlan, parsePlan } from '../src/model/plan.js';
import { layerShifts, receptiveField } from '../src/model/schedule.js';
import { Transformer, type ModelConfig } from '../src/model/transformer.js';
import { Rng } from '../src/tensor/random.js';
import { hsmMixerVariants } from './mixer-variants.js';
import { assertUserError, cli } from './helpers.js';
import { randomInts, randomTensor, relError } from './numeric.js';

const HSM_MIXERS = Object.keys(MIXERS).filter((m) => m !== 'attn');
const VARIANTS = hsmMixerVariants();

test('plan strings parse, repeat and print back', () => {
  const plan = parsePlan('(hsm:ab*3, attn)*2,hsm:conv[k=4,proj]');
  assert.equal(plan.length, 9);
  assert.deepEqual(
    plan.map((b) => b.mixer),
    ['ab', 'ab', 'ab', 'attn', 'ab', 'ab', 'ab', 'attn', 'conv'],
  );
  assert.deepEqual(plan[8].options, { k: 4, proj: true });
  assert.equal(formatPlan(plan), 'hsm:ab*3,attn,hsm:ab*3,attn,hsm:conv[k=4,proj]');
  assert.throws(() => parsePlan('hsm:ab*0'), /repeat count/);
  assert.throws(() => parsePlan('mlp*2'), /unknown block/);
  assert.throws(
    () => new Transformer({ vocabSize: 5, blockSize: 8, nLayer: 2, nHead: 1, nEmbd: 4, plan: 'hsm:nope*2' }),
    /unknown mixer/,
  );
  assert.throws(
    () => new Transformer({ vocabSize: 5, blockSize: 8, nLayer: 2, nHead: 1, nEmbd: 4, plan: 'hsm:ab[k=3]*2' }),
    /no option "k"/,
  );
  assert.throws(
    () => new Transformer({ vocabSize: 5, blockSize: 8, nLayer: 3, nHead: 1, nEmbd: 4, plan: 'hsm:ab*2' }),
    /nLayer is 3/,
  );
});

test('shift schedules: pow2, pow2-heads and explicit lists', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((l) => layerShifts('pow2', l, 1, 64)[0]),
    [1, 2, 4, 8, 16, 32, 1],
  );
  assert.deepEqual(layerShifts('pow2-heads', 1, 4, 64), [16, 32, 1, 2]);
  assert.deepEqual(
    layerShifts(
      [
        [1, 3],
        [5, 7],
      ],
      1,
      2,
      64,
    ),
    [5, 7],
  );
  assert.deepEqual(layerShifts([3, 9], 0, 2, 64), [3, 3]);
  assert.throws(() => layerShifts([1], 1, 1, 64), /one entry per HSM layer/);
  assert.deepEqual(receptiveField([[1], [2], [4]], 8), { field: 8, complete: true });
  assert.deepEqual(receptiveField([[1], [2]], 8), { field: 4, complete: false });
  assert.deepEqual(receptiveField([[2], 'all'], 8), { field: 8, complete: true });
});

const small = (plan: string, extra: Partial<ModelConfig> = {}): ModelConfig => ({
  vocabSize: 11,
  blockSize: 16,
  nLayer: parsePlan(plan).length,
  nHead: 2,
  nEmbd: 8,
  plan,
  ...extra,
});
const PLANS = [...VARIANTS.map((v) => formatPlan(Array(4).fill(v))), 'hsm:ab*3,attn', '(hsm:gated,attn)*2'];

for (const plan of PLANS) {
  test(`causality: ${plan} — changing token u never changes logits before u`, () => {
    const model = new Transformer(small(plan), { seed: 2 });
    const tokens = randomInts(new Rng(6), 16, 11);
    const base = model.forward(tokens, 1, 16).data;
    for (const u of [3, 9, 15]) {
      const changed = Int32Array.from(tokens);
      changed[u] = (changed[u] + 1) % 11;
      const out = model.forward(changed, 1, 16).data;
      for (let i = 0; i < u * 11; i++)
        assert.equal(out[i], base[i], `position ${Math.floor(i / 11)} changed when token ${u} did`);
      assert.notDeepEqual(
        out.subarray(u * 11, (u + 1) * 11),
        base.subarray(u * 11, (u + 1) * 11),
        'the changed position itself changes',
      );
    }
  });

  test(`streaming equals parallel: ${plan}`, () => {
    const model = new Transformer(small(plan), { seed: 7 });
    const tokens = randomInts(new Rng(8), 16, 11);
    const parallel = model.forward(tokens, 1, 16).data;
    const state = model.newState();
    const pre = model.forward(tokens.subarray(0, 5), 1, 5, state).data;
    assert.ok(relError(pre, parallel.subarray(0, 5 * 11)) < 1e-5);
    for (let t = 5; t < 16; t++) {
      const err = relError(model.decodeStep(tokens[t], state), parallel.subarray(t * 11, (t + 1) * 11));
      assert.ok(err < 1e-4, `${plan}: position ${t} decodes ${err.toExponential(2)} away from the parallel pass`);
    }
  });
}

/** |∂ out[last position] / ∂ x[u]| for every position u, through the block stack. */
function influence(model: Transformer, T: number): number[] {
  return withBackend('js', () => {
    const x = randomTensor(new Rng(9), [1, T, model.config.nEmbd], 'float32');
    x.requiresGrad = true;
    const tape = new Tape();
    const y = tape.record(() => model.blocks(x));
    const seed = new Float32Array(y.size);
    seed.fill(1, (T - 1) * model.config.nEmbd);
    tape.backward(y, seed);
    const C = model.config.nEmbd;
    const out = Array.from({ length: T }, (_, u) => {
      let s = 0;
      for (let i = 0; i < C; i++) s += Math.abs(x.grad![u * C + i]);
      return s;
    });
    tape.release();
    return out;
  });
}

test('coverage: a pure pow2 plan with L ≥ log2(T) reaches every earlier position', () => {
  const T = 16;
  for (const mixer of HSM_MIXERS) {
    const model = new Transformer(small(`hsm:${mixer}*4`), { seed: 1 });
    assert.ok(model.receptiveField().complete);
    const g = influence(model, T);
    g.forEach((v, u) => assert.ok(v > 0, `${mixer}: no gradient from position ${T - 1} to ${u}`));
  }
});

test('coverage: with fewer layers exactly the reachable offsets have gradient', () => {
  const T = 16;
  for (const mixer of ['ab', 'gated', 'pair']) {
    const model = new Transformer(small(`hsm:${mixer}*2`), { seed: 1 }); // shifts 1, 2: offsets 0..3
    assert.deepEqual(model.receptiveField(), { field: 4, complete: false });
    const g = influence(model, T);
    for (let u = 0; u < T; u++) {
      const offset = T - 1 - u;
      if (offset <= 3) assert.ok(g[u] > 0, `${mixer}: offset ${offset} should be reachable`);
      else assert.equal(g[u], 0, `${mixer}: offset ${offset} is not reachable but got gradient ${g[u]}`);
    }
  }
});

test('a pure HSM model without positions decodes past its training context', () => {
  const model = new Transformer(small('hsm:ab*4'), { seed: 3 });
  assert.equal(model.positions, false);
  assert.equal(model.maxDecodeLength, Infinity);
  const state = model.newState();
  model.forward(Int32Array.of(1, 2, 3), 1, 3, state);
  for (let t = 0; t < 40; t++) model.decodeStep(t % 11, state);
  assert.equal(state.pos, 43);
  // The recurrent form at position 42 equals the parallel form over all 43 tokens.
  const tokens = Int32Array.from([1, 2, 3, ...Array.from({ length: 40 }, (_, t) => t % 11)]);
  const fresh = model.newState();
  model.forward(tokens.subarray(0, 3), 1, 3, fresh);
  let last: Float32Array = new Float32Array(0);
  for (let t = 3; t < 43; t++) last = model.decodeStep(tokens[t], fresh);
  const parallel = model.forward(tokens, 1, 43).data.subarray(42 * 11);
  assert.ok(relError(last, parallel) < 1e-4, 'decoding past the context equals the parallel pass');
});

test('parameter matching sizes the FFN to the baseline count', async () => {
  const { matchFfnWidth } = await import('../src/model/cost.js');
  const config: ModelConfig = { vocabSize: 65, blockSize: 64, nLayer: 6, nHead: 4, nEmbd: 128, plan: 'hsm:ab*6' };
  const m = matchFfnWidth(config, 'attn*4');
  const matched = new Transformer({ ...config, ffnHidden: m.ffnHidden });
  const gpt = new Transformer({ ...config, plan: 'attn*4', nLayer: 4 });
  assert.equal(matched.params.count, m.parameters);
  assert.equal(m.target, gpt.params.count);
  // One hidden unit more or less moves the count by L·(2C+1) = 1542: we land within half of that.
  assert.ok(
    Math.abs(matched.params.count - gpt.params.count) <= (6 * 257) / 2,
    `${matched.params.count} vs ${gpt.params.count}`,
  );
});

test('hsm info prints shifts, receptive field, the warning and both counts', () => {
  const run = (...args: string[]) => cli(['info', ...args]);
  const short = run('--plan', 'hsm:ab*3', '--context', '64');
  assert.equal(short.status, 0, short.stderr);
  assert.match(short.stdout, /s=1\b[\s\S]*s=2\b[\s\S]*s=4\b/);
  assert.match(short.stdout, /receptive field: 8 of 64/);
  assert.match(short.stdout, /warning: the receptive field/);
  const matched = run('--plan', 'hsm:gated*6', '--context', '64', '--match-params', 'attn*4', '--vocab-size', '65');
  assert.match(matched.stdout, /parameter-matched to attn\*4: 809,856/);
  // Without --vocab-size the head is sized by the tokenizer on the corpus (the default, sotu: 99 characters).
  assert.match(short.stdout, /vocabulary 99,/);
  assertUserError(run('--plan', 'hsm:ab*2,lstm'), /unknown block "lstm"/);
});
