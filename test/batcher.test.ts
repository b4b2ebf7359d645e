// The continuous batcher on its own (the HTTP tests in serve-api.test.ts go through it too): requests that join
// in the same step are prefilled together and give the tokens they give alone, and one faulty request among
// them ends alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateTokens, type GenerateOptions } from '../src/generate/generate.js';
import { Transformer } from '../src/model/transformer.js';
import { ContinuousBatcher, type EndReason, type Job } from '../src/serve/batcher.js';

const V = 30;
const model = new Transformer(
  { vocabSize: V, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 16, plan: 'hsm:pair,attn' },
  { seed: 5 },
);
model.packWeights(); // as hsm serve does

interface Outcome {
  tokens: number[];
  reason?: EndReason;
}

function job(prompt: number[], opts: GenerateOptions, out: Outcome): Job {
  return {
    prompt: Int32Array.from(prompt),
    opts,
    signal: new AbortController().signal,
    onToken: (t) => {
      out.tokens.push(t);
      return true;
    },
    onEnd: (reason) => (out.reason = reason),
  };
}

async function drain(batcher: ContinuousBatcher): Promise<void> {
  while (batcher.activeCount + batcher.queuedCount > 0) await new Promise((r) => setImmediate(r));
}

test('jobs submitted together (prompts of several lengths) give the tokens each gives alone', async () => {
  const prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 10], [11, 12, 13], [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]];
  const opts = (i: number): GenerateOptions => ({ maxTokens: 12, temperature: 0.9, topK: 0, topP: 1, seed: 40 + i });
  const outcomes = prompts.map((): Outcome => ({ tokens: [] }));
  const batcher = new ContinuousBatcher(model, { parallel: 8, maxQueue: 8 });
  batcher.submit(prompts.map((p, i) => job(p, opts(i), outcomes[i])));
  await drain(batcher);
  prompts.forEach((p, i) => {
    assert.equal(outcomes[i].reason, 'length');
    assert.deepEqual(outcomes[i].tokens, [...generateTokens(model, Int32Array.from(p), opts(i))], `prompt ${i}`);
  });
});

test('requests that join while another decodes (their prefill shares its pass) give the tokens each gives alone', async () => {
  const prompts = [
    [3, 1, 4, 1, 5],
    [9, 2],
    [6, 5, 3, 5, 8, 9, 7],
  ];
  const opts = (i: number): GenerateOptions => ({ maxTokens: 10, temperature: 0.8, topK: 0, topP: 1, seed: 70 + i });
  const outcomes = prompts.map((): Outcome => ({ tokens: [] }));
  const batcher = new ContinuousBatcher(model, { parallel: 8, maxQueue: 8 });
  batcher.submit([job(prompts[0], opts(0), outcomes[0])]);
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  const drawn = outcomes[0].tokens.length;
  assert.ok(drawn > 0 && drawn < 10, `the first request is decoding when the others join (${drawn} tokens out)`);
  batcher.submit([1, 2].map((i) => job(prompts[i], opts(i), outcomes[i])));
  await drain(batcher);
  prompts.forEach((p, i) => {
    assert.equal(outcomes[i].reason, 'length');
    assert.deepEqual(outcomes[i].tokens, [...generateTokens(model, Int32Array.from(p), opts(i))], `request ${i}`);
  });
});

test('a faulty job in a prefill group ends with an error; the others run on', async () => {
  const opts: GenerateOptions = { maxTokens: 5, temperature: 0, topK: 0, topP: 1, seed: 1 };
  const good = [{ tokens: [] }, { tokens: [] }] as Outcome[],
    bad: Outcome = { tokens: [] };
  const batcher = new ContinuousBatcher(model, { parallel: 8, maxQueue: 8 });
  batcher.submit([job([1, 2, 3], opts, good[0]), job([4, 5, V + 7], opts, bad), job([6, 7, 8], opts, good[1])]);
  await drain(batcher);
  assert.equal(bad.reason, 'error', 'a token outside the vocabulary fails its prefill');
  assert.deepEqual(bad.tokens, []);
  for (const g of good) {
    assert.equal(g.reason, 'length');
    assert.equal(g.tokens.length, 5);
  }
});
