// Generation: step-by-step decoding with the KV cache reproduces the parallel forward pass,
// and a seed fixes the sample (the sampler itself: sampler.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Transformer } from '../src/model/transformer.js';
import { generateTokens } from '../src/generate/generate.js';
import { Rng } from '../src/tensor/random.js';
import { randomInts, relError } from './numeric.js';

const config = { vocabSize: 37, blockSize: 24, nLayer: 3, nHead: 2, nEmbd: 32 };

test('KV-cache decoding equals the parallel forward at every position', () => {
  const model = new Transformer(config, { seed: 3 });
  const tokens = randomInts(new Rng(5), 20, config.vocabSize);
  const parallel = model.forward(tokens, 1, tokens.length).data;
  const V = config.vocabSize;
  for (const prefillLength of [1, 7]) {
    const cache = model.newState();
    const pre = model.forward(tokens.subarray(0, prefillLength), 1, prefillLength, cache).data;
    assert.ok(relError(pre, parallel.subarray(0, prefillLength * V)) < 1e-5, 'prefill logits');
    for (let t = prefillLength; t < tokens.length; t++) {
      const step = model.decodeStep(tokens[t], cache);
      const err = relError(step, parallel.subarray(t * V, (t + 1) * V));
      assert.ok(
        err < 1e-4,
        `position ${t} (prefill ${prefillLength}): decode differs from parallel by ${err.toExponential(2)}`,
      );
    }
  }
});

test('generation is deterministic for a seed and slides past the context', () => {
  const model = new Transformer(config, { seed: 4 });
  const prompt = Int32Array.of(1, 2, 3);
  const opts = { maxTokens: 60, temperature: 1, topK: 0, topP: 1, seed: 11 }; // 63 tokens > context 24
  const a = [...generateTokens(model, prompt, opts)];
  const b = [...generateTokens(model, prompt, opts)];
  assert.equal(a.length, 60);
  assert.deepEqual(a, b);
  assert.ok(a.every((t) => t >= 0 && t < config.vocabSize));
  const c = [...generateTokens(model, prompt, { ...opts, seed: 12 })];
  assert.notDeepEqual(a, c, 'another seed gives another sample');
});

test('logits that are not finite (a damaged model) stop generation with a one-line error naming the value', () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const model = new Transformer(config, { seed: 6 });
    // The head is ln_f(x)·wteᵀ: one non-finite entry in a row of wte makes that token's logit non-finite.
    model.params.get('wte.weight').data[5 * config.nEmbd] = bad;
    const tokens = generateTokens(model, Int32Array.of(1, 2), {
      maxTokens: 5,
      temperature: 0,
      topK: 0,
      topP: 1,
      seed: 1,
    });
    assert.throws(
      () => [...tokens],
      // ±Infinity in a weight can come out as either infinity or NaN (∞ − ∞ in the product).
      (err: Error) => /holds (NaN|-?Infinity) after 2 tokens: .*damaged checkpoint/.test(err.message),
      String(bad),
    );
  }
});
