// Sequence-length warm-up: the schedule of window lengths, its checks, and a run that uses it (and resumes exactly).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrainConfig } from '../src/train/config.js';
import { checkSeqWarmup, windowsAt } from '../src/train/seq-warmup.js';
import { train } from '../src/train/trainer.js';
import { expectUserError, smallCorpus, tmp } from './helpers.js';

const config = (extra: Record<string, unknown>) =>
  parseTrainConfig({ model: { blockSize: 512 }, batchSize: 4, maxIters: 100, ...extra });

test('windows start short and many, double in equal stages, and keep the tokens of a step', () => {
  const cfg = config({ seqWarmupFraction: 0.3, seqWarmupStart: 64 });
  const contexts = Array.from({ length: 100 }, (_, step) => windowsAt(cfg, step));
  assert.deepEqual(
    [0, 9, 10, 19, 20, 29, 30, 99].map((s) => contexts[s].context),
    [64, 64, 128, 128, 256, 256, 512, 512],
  );
  for (const w of contexts)
    assert.equal(w.batchSize * w.context, 4 * 512, 'every step trains on batchSize × blockSize tokens');
  assert.deepEqual(windowsAt(config({}), 0), { batchSize: 4, context: 512 }, 'no warm-up: the configured windows');
  assert.equal(windowsAt(config({ seqWarmupFraction: 0.5 }), 0).context, 64, 'the first length defaults to 64');
});

test('a warm-up whose first length is not the context over a power of 2 is refused before training', () => {
  for (const [extra, pattern] of [
    [
      { seqWarmupFraction: 0.2, seqWarmupStart: 48 },
      /seqWarmupStart 48 must be the context \(512\) divided by a power of 2/,
    ],
    [{ seqWarmupFraction: 0.2, seqWarmupStart: 512 }, /seqWarmupStart 512 must be the context/],
    [{ seqWarmupStart: 64 }, /seqWarmupStart needs seqWarmupFraction/],
  ] as const)
    assert.throws(() => checkSeqWarmup(config(extra)), pattern);
  expectUserError(
    ['train', '--context', '96', '--seq-warmup-fraction', '0.2', '--max-iters', '5'],
    /seqWarmupStart 64 must be the context \(96\) divided by a power of 2/,
  );
  expectUserError(['train', '--seq-warmup-fraction', '1.5'], /--seq-warmup-fraction: must be a number from 0 to 1/);
});

test('a run with the warm-up trains on the short windows and resumes exactly inside it', async () => {
  const root = tmp('seq-warmup');
  const data = smallCorpus(root);
  const tiny = (out: string, extra: Record<string, unknown> = {}) =>
    parseTrainConfig({
      data,
      out,
      maxIters: 10,
      model: { nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32 },
      batchSize: 2,
      warmupIters: 2,
      evalInterval: 5,
      evalIters: 2,
      logInterval: 1,
      checkpointInterval: 100,
      seqWarmupFraction: 0.6,
      seqWarmupStart: 8,
      ...extra,
    });
  const losses = (dir: string) =>
    readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { train_loss: number; val_loss?: number })
      .map((m) => [m.train_loss, m.val_loss]);
  const full = join(root, 'full'),
    split = join(root, 'split'),
    plain = join(root, 'plain');
  await train(tiny(full));
  let steps = 0;
  const first = await train(tiny(split), { hooks: { onStep: () => steps++, shouldStop: () => steps >= 3 } });
  assert.equal(first.step, 3, 'stopped in the warm-up (8-token windows until step 2, 16 until step 6)');
  await train(tiny(split), { resume: true });
  assert.deepEqual(losses(split), losses(full), 'the resumed run equals the uninterrupted one');
  await train(tiny(plain, { seqWarmupFraction: undefined, seqWarmupStart: undefined }));
  assert.notDeepEqual(losses(plain)[0], losses(full)[0], 'the warm-up changed what the first step trained on');
});
