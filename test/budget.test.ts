// FLOP budgets: each model trains the steps its own FLOPs per step allow, the
// schedule follows those steps, and a budgeted run resumes exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTokenizer } from '../src/data/tokenizers.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { describeModel } from '../src/model/cost.js';
import { applyBudget, trainFlopsPerStep } from '../src/train/budget.js';
import { parseTrainConfig, resolveModelConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { Transformer } from '../src/model/transformer.js';
import { assertUserError, cli, shakespeare, smallCorpus, tmp } from './helpers.js';

const TEXT = shakespeare(40_000);

function setup() {
  const root = tmp('budget');
  return { root, data: smallCorpus(root) };
}

const budgeted = (data: string, out: string, plan: string, flops: number) =>
  parseTrainConfig({
    data,
    out,
    budget: { flops },
    model: { nHead: 2, nEmbd: 32, blockSize: 32, plan },
    batchSize: 4,
    warmupIters: 2,
    evalInterval: 5,
    evalIters: 2,
    logInterval: 1,
    checkpointInterval: 100,
  });

/** The SHA-256 of a checkpoint file's tensor bytes (its metadata holds the run id, which differs between runs). */
const digest = (path: string) => {
  const hash = createHash('sha256');
  for (const [, t] of readSafetensors(path).tensors) hash.update(new Uint8Array(t.data.buffer));
  return hash.digest('hex');
};

test('a FLOP budget gives each plan the steps its FLOPs per step imply, and the cosine decay ends there', async () => {
  const { root, data } = setup();
  const vocab = createTokenizer('char', TEXT).vocabSize;
  const flops = 2.5e9;
  const steps: Record<string, number> = {};
  for (const plan of ['attn*2', 'hsm:linear*5']) {
    const cfg = budgeted(data, join(root, plan.replace(/\W/g, '_')), plan, flops);
    // FLOPs per step counted independently: the model's own report × tokens per step.
    const model = new Transformer(resolveModelConfig(cfg.model, vocab));
    const perStep = describeModel(model).trainFlopsPerToken * 4 * 32;
    assert.equal(trainFlopsPerStep(cfg, vocab), perStep);
    const result = await train(cfg);
    assert.equal(result.step, Math.floor(flops / perStep), plan);
    assert.equal(result.config.maxIters, result.step);
    assert.equal(result.config.lrDecayIters, result.step);
    const saved = JSON.parse(readFileSync(join(cfg.out, 'config.json'), 'utf8')) as {
      train: { maxIters: number; budget: { flops: number } };
    };
    assert.deepEqual([saved.train.maxIters, saved.train.budget.flops], [result.step, flops]);
    steps[plan] = result.step;
  }
  assert.ok(steps['hsm:linear*5'] !== steps['attn*2'], `the plans cost differently: ${JSON.stringify(steps)}`);
});

test('a budgeted run stopped midway resumes to the same weights as an uninterrupted one', async () => {
  const { root, data } = setup();
  const full = budgeted(data, join(root, 'full'), 'hsm:gated*3,attn', 2e9);
  const split = { ...full, out: join(root, 'split') };
  const whole = await train(full);
  let n = 0;
  const first = await train(split, { hooks: { onStep: () => n++, shouldStop: () => n >= 6 } });
  assert.ok(first.stopped && first.step === 6);
  const rest = await train(split, { resume: true });
  assert.equal(rest.step, whole.step);
  assert.equal(digest(join(split.out, 'model.safetensors')), digest(join(full.out, 'model.safetensors')));
  assert.equal(
    readFileSync(join(split.out, 'metrics.jsonl'), 'utf8').replace(/"(tokens_per_s|elapsed_s)":[\d.e+-]+/g, ''),
    readFileSync(join(full.out, 'metrics.jsonl'), 'utf8').replace(/"(tokens_per_s|elapsed_s)":[\d.e+-]+/g, ''),
  );
});

test('budgets that cannot train, and a step count beside a budget, are one-line errors', () => {
  const { root, data } = setup();
  const vocab = createTokenizer('char', TEXT).vocabSize;
  assert.throws(() => applyBudget(budgeted(data, root, 'attn*2', 1e3), vocab), /does not pay for one step/);
  assert.throws(() => applyBudget(budgeted(data, root, 'attn*2', 4.5e7), vocab), /no more than warmupIters 2/);
  assert.throws(() => parseTrainConfig({ budget: { flops: -1 } }), /budget\.flops/);
  assertUserError(
    cli(['train', '--data', data, '--budget-flops', '1e12', '--max-iters', '5', '--out', join(root, 'x')]),
    /--max-iters conflicts with the FLOP budget/,
  );
});
