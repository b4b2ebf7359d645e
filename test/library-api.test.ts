// The README's library example, kept true: build from a config, train on a string, generate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateText, parseTrainConfig, train } from '../src/index.js';
import { shakespeare, tmp } from './helpers.js';

test('README example: train on a string and generate from it', async () => {
  const text = shakespeare(30_000);
  const out = join(tmp('api'), 'run');
  const cfg = parseTrainConfig({
    out,
    maxIters: 30,
    evalInterval: 30,
    evalIters: 2,
    model: { nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32 },
  });
  const { model, tokenizer, finalValLoss } = await train(cfg, { corpus: { name: 'mine', text, source: 'memory' } });
  assert.ok(
    finalValLoss !== null && finalValLoss < Math.log(tokenizer.vocabSize),
    `the model learned something (val ${finalValLoss})`,
  );
  const sample = generateText(model, tokenizer, 'ROMEO:', { maxTokens: 40, seed: 1 });
  assert.equal([...sample].length, 40);
  assert.equal(sample, generateText(model, tokenizer, 'ROMEO:', { maxTokens: 40, seed: 1 }), 'same seed, same text');
});
