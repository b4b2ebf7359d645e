// Training: exact resume, checkpoints, Ctrl-C, and the CLI's handling of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  readFileSync,
  readdirSync,
  renameSync,
  truncateSync,
  writeFileSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type SafeTensorsFile } from '../src/io/safetensors.js';
import { parseTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { CLI, cli, expectUserError, smallCorpus, tmp } from './helpers.js';

const tiny = (data: string, out: string, maxIters: number) =>
  parseTrainConfig({
    data,
    out,
    maxIters,
    model: { nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32 },
    batchSize: 4,
    warmupIters: 3,
    evalInterval: 4,
    evalIters: 2,
    logInterval: 1,
    checkpointInterval: 100,
    lrDecayIters: 12,
  });

function metrics(dir: string): { step: number; train_loss: number; val_loss?: number }[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** The SHA-256 of a checkpoint file's tensor bytes (its metadata holds the run id, which differs between runs). */
const weightsDigest = (path: string) => {
  const hash = createHash('sha256');
  for (const [, t] of readSafetensors(path).tensors) hash.update(new Uint8Array(t.data.buffer));
  return hash.digest('hex');
};

test('a resumed run reproduces the uninterrupted run exactly', async () => {
  const root = tmp('train');
  const data = smallCorpus(root);
  const full = join(root, 'full'),
    split = join(root, 'split');
  await train(tiny(data, full, 12));
  // Interrupt after step 7, as Ctrl-C does: the trainer saves a checkpoint and stops.
  let steps = 0;
  const first = await train(tiny(data, split, 12), { hooks: { onStep: () => steps++, shouldStop: () => steps >= 7 } });
  assert.equal(first.step, 7);
  assert.ok(first.stopped);
  const resumed = await train(tiny(data, split, 12), { resume: true });
  assert.equal(resumed.step, 12);
  assert.deepEqual(
    metrics(split).map((m) => [m.step, m.train_loss, m.val_loss]),
    metrics(full).map((m) => [m.step, m.train_loss, m.val_loss]),
    'losses after resuming equal the uninterrupted run',
  );
  assert.equal(
    weightsDigest(join(split, 'model.safetensors')),
    weightsDigest(join(full, 'model.safetensors')),
    'weights are bit-identical',
  );
  assert.ok(metrics(full).at(-1)!.train_loss < metrics(full)[0].train_loss, 'the loss went down');
});

const TINY_FLAGS = [
  '--n-layer',
  '1',
  '--n-head',
  '1',
  '--n-embd',
  '16',
  '--context',
  '16',
  '--batch-size',
  '2',
  '--eval-iters',
  '1',
];

test('bad input: corpus problems are one-line errors with exit code 2', () => {
  const root = tmp('train');
  const empty = join(root, 'empty.txt');
  writeFileSync(empty, '');
  const blank = join(root, 'blank.txt');
  writeFileSync(blank, '  \n\t\n');
  const short = join(root, 'short.txt');
  writeFileSync(short, 'just a few words of text');
  const binary = join(root, 'binary.txt');
  writeFileSync(binary, Buffer.from([0x61, 0x62, 0xff, 0xfe, 0x63]));
  const out = join(root, 'out');
  expectUserError(['train', '--data', join(root, 'missing.txt'), '--out', out, ...TINY_FLAGS], /does not exist/);
  expectUserError(['train', '--data', empty, '--out', out, ...TINY_FLAGS], /empty/);
  expectUserError(['train', '--data', blank, '--out', out, ...TINY_FLAGS], /empty/);
  expectUserError(['train', '--data', short, '--out', out, ...TINY_FLAGS], /context/);
  expectUserError(['train', '--data', binary, '--out', out, ...TINY_FLAGS], /UTF-8/);
});

test('bad input: configuration errors name the key', () => {
  const root = tmp('train');
  const cfg = join(root, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ maxIters: 5, learningRate: 0.1 }));
  expectUserError(['train', '--config', cfg, '--out', join(root, 'o')], /learningRate/);
  // Command-line parse errors (commander's) end with exit code 2 like every other bad input.
  expectUserError(['train', '--nope', '--out', join(root, 'o')], /unknown option '--nope'/);
  expectUserError(['bench', 'kernels', '--threads', 'x'], /--threads.*integers from 1 to 256/);
  expectUserError(['generate'], /required option '--ckpt/);
  writeFileSync(cfg, JSON.stringify({ maxIters: -5 }));
  expectUserError(['train', '--config', cfg, '--out', join(root, 'o')], /maxIters/);
  writeFileSync(cfg, '{ not json');
  expectUserError(['train', '--config', cfg, '--out', join(root, 'o')], /JSON/);
  expectUserError(['train', '--preset', 'no-such-preset'], /unknown preset/);
  expectUserError(['train', '--tokenizer', 'words', '--out', join(root, 'o')], /tokenizer/);
  expectUserError(['train', '--n-embd', '30', '--n-head', '4', '--out', join(root, 'o')], /divisible/);
});

test('bad input: checkpoint problems are clear and leave the run untouched', async () => {
  const root = tmp('train');
  const data = smallCorpus(root);
  const run = join(root, 'run');
  await train(tiny(data, run, 4));
  // The run's files (the lock's records change with every command that takes the folder).
  const files = () => readdirSync(run).filter((f) => !f.startsWith('.hsm.lock'));
  const before = Object.fromEntries(files().map((f) => [f, digest(join(run, f))]));

  expectUserError(['train', '--resume', '--out', join(root, 'nothing')], /does not exist/);
  expectUserError(['train', '--data', data, '--out', run, ...TINY_FLAGS], /already holds a training run/);
  expectUserError(['train', '--resume', '--out', run, '--n-embd', '64'], /different model/);
  expectUserError(['eval', '--ckpt', join(root, 'nothing')], /does not exist/);
  const after = Object.fromEntries(files().map((f) => [f, digest(join(run, f))]));
  assert.deepEqual(after, before, 'failed commands changed no file of the existing run');

  // A damaged copy: truncated weights, then a missing optimizer file.
  const damaged = join(root, 'damaged');
  spawnSync('cp', ['-r', run, damaged]);
  truncateSync(join(damaged, 'model.safetensors'), statSync(join(damaged, 'model.safetensors')).size - 100);
  expectUserError(['generate', '--ckpt', damaged, '--prompt', 'a'], /model\.safetensors is damaged/);
  spawnSync('cp', [join(run, 'model.safetensors'), join(damaged, 'model.safetensors')]);
  spawnSync('rm', [join(damaged, 'optimizer.safetensors')]);
  expectUserError(['train', '--resume', '--out', damaged], /optimizer\.safetensors is missing/);
  spawnSync('rm', [join(damaged, 'config.json')]);
  expectUserError(['eval', '--ckpt', damaged], /config\.json is missing/);

  // Poisoned copies: a NaN weight, an infinite moment, training-state metadata of the wrong kind. Our files
  // carry a checksum that catches any such edit; these copies are rewritten without it, as another tool
  // would write them, so the checks behind the checksum are exercised too.
  const poisoned = join(root, 'poisoned');
  const rewrite = (file: string, edit: (f: SafeTensorsFile) => void, keepChecksum = false) => {
    const f = readSafetensors(join(poisoned, file));
    edit(f);
    const { data_sha256: _, ...unchecked } = f.metadata;
    writeSafetensors(join(poisoned, file), [...f.tensors], keepChecksum ? f.metadata : unchecked);
  };
  const fresh = () => {
    spawnSync('rm', ['-r', poisoned]);
    spawnSync('cp', ['-r', run, poisoned]);
  };
  fresh();
  rewrite('model.safetensors', (f) => (f.tensors.get('wte.weight')!.data[5] *= 1.0001), true);
  expectUserError(['eval', '--ckpt', poisoned], /model\.safetensors is damaged: .* do not match the checksum/);
  fresh();
  rewrite('model.safetensors', (f) => (f.tensors.get('wte.weight')!.data[5] = NaN));
  expectUserError(['eval', '--ckpt', poisoned], /"wte\.weight" holds NaN at element 5/);
  expectUserError(['train', '--resume', '--out', poisoned], /"wte\.weight" holds NaN/);
  fresh();
  rewrite('optimizer.safetensors', (f) => (f.tensors.get('v.wte.weight')!.data[0] = Infinity));
  expectUserError(['train', '--resume', '--out', poisoned], /"v\.wte\.weight" holds Infinity/);
  for (const [key, value, pattern] of [
    ['optimizerStep', 'NaN', /optimizerStep/],
    ['rng', '["a","b","c","d"]', /rng/],
    ['rng', '[1,2]', /rng/],
    ['bestValLoss', '"low"', /bestValLoss/],
  ] as const) {
    fresh();
    rewrite('optimizer.safetensors', (f) => (f.metadata[key] = value));
    expectUserError(['train', '--resume', '--out', poisoned], pattern);
  }
  // An edited model section of config.json: caught before any model is built.
  for (const [edit, pattern] of [
    [{ nHead: 1 }, /disagrees with its train section in nHead/],
    [{ nLayer: 1_000_000 }, /disagrees with its train section in nLayer/],
    [{ vocabSize: -1 }, /vocabSize must be an integer from 1/],
  ] as const) {
    fresh();
    const path = join(poisoned, 'config.json');
    const runFile = JSON.parse(readFileSync(path, 'utf8')) as { model: Record<string, unknown> };
    writeFileSync(path, JSON.stringify({ ...runFile, model: { ...runFile.model, ...edit } }));
    expectUserError(['eval', '--ckpt', poisoned], pattern);
    expectUserError(['train', '--resume', '--out', poisoned], pattern);
  }

  // Weights from another model beside this run's configuration.
  const other = join(root, 'other');
  const otherCfg = tiny(data, other, 2);
  await train(parseTrainConfig({ ...otherCfg, model: { ...otherCfg.model, nEmbd: 16 } }));
  const mixed = join(root, 'mixed');
  spawnSync('cp', ['-r', run, mixed]);
  spawnSync('cp', [join(other, 'model.safetensors'), join(mixed, 'model.safetensors')]);
  expectUserError(['generate', '--ckpt', mixed, '--prompt', 'a'], /the folder mixes two runs/);
});

test('a kill at any point of a checkpoint save leaves a run that resumes exactly', async () => {
  const root = tmp('train');
  const data = smallCorpus(root);
  const full = join(root, 'full');
  await train(tiny(data, full, 12));
  const stopAt = (n: number) => {
    let steps = 0;
    return { hooks: { onStep: () => steps++, shouldStop: () => steps >= n } };
  };
  // Checkpoints of one run at steps 6 and 7.
  const run = join(root, 'run');
  await train(tiny(data, run, 12), stopAt(6));
  const at6 = join(root, 'at6');
  cpSync(run, at6, { recursive: true });
  await train(tiny(data, run, 12), { resume: true, ...stopAt(1) });
  const at7 = join(root, 'at7');
  cpSync(run, at7, { recursive: true });

  // Killed after the step-7 optimizer state was staged, before the weights: step 6 is whole.
  const early = join(root, 'early');
  cpSync(at6, early, { recursive: true });
  copyFileSync(join(at7, 'optimizer.safetensors'), join(early, 'optimizer.next.safetensors'));
  writeFileSync(join(early, '.model.safetensors.4242.tmp'), 'half a file');
  // Killed after the step-7 weights were written, before the staged state replaced the old one.
  const late = join(root, 'late');
  cpSync(at7, late, { recursive: true });
  renameSync(join(late, 'optimizer.safetensors'), join(late, 'optimizer.next.safetensors'));
  copyFileSync(join(at6, 'optimizer.safetensors'), join(late, 'optimizer.safetensors'));

  for (const [dir, step] of [
    [early, 6],
    [late, 7],
  ] as const) {
    const resumed = await train(tiny(data, dir, 12), { resume: true });
    assert.equal(resumed.step, 12);
    assert.equal(
      weightsDigest(join(dir, 'model.safetensors')),
      weightsDigest(join(full, 'model.safetensors')),
      `a save killed at step ${step + (dir === early ? 1 : 0)} resumes from step ${step} to the uninterrupted weights`,
    );
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.includes('.next.')),
      [],
      'no staged or temporary file is left behind',
    );
  }
});

const SIGNAL_STATUS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  test(`${signal} saves a checkpoint that resumes`, async () => {
    const root = tmp('train');
    const data = smallCorpus(root);
    const out = join(root, 'run');
    const child = spawn(process.execPath, [
      CLI,
      'train',
      '--data',
      data,
      '--out',
      out,
      '--max-iters',
      '100000',
      '--log-interval',
      '1',
      ...TINY_FLAGS,
    ]);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        if (/step 5\//.test(d.toString())) resolve();
      });
    });
    child.kill(signal);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, SIGNAL_STATUS[signal], 'after a signal a scheduler must see the job did not finish');
    const summary = JSON.parse(stdout.trim()) as { step: number; stopped: boolean };
    assert.ok(summary.stopped && summary.step >= 5, stdout);
    const resumed = cli(['train', '--resume', '--out', out, '--max-iters', String(summary.step + 2)]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout).step, summary.step + 2);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { train: { maxIters: number } };
    assert.equal(saved.train.maxIters, summary.step + 2, 'the extended schedule is saved with the run');
  });
}

test('training with dropout also resumes exactly', async () => {
  const root = tmp('train');
  const data = smallCorpus(root);
  const cfg = (out: string) => {
    const base = tiny(data, out, 8);
    return parseTrainConfig({ ...base, model: { ...base.model, dropout: 0.2 } });
  };
  await train(cfg(join(root, 'full')));
  let steps = 0;
  await train(cfg(join(root, 'split')), { hooks: { onStep: () => steps++, shouldStop: () => steps >= 3 } });
  await train(cfg(join(root, 'split')), { resume: true });
  const losses = (dir: string) => metrics(dir).map((m) => [m.step, m.train_loss, m.val_loss]);
  assert.deepEqual(losses(join(root, 'split')), losses(join(root, 'full')));
});

test('steady-state training steps allocate no new buffers', async () => {
  const { Tape } = await import('../src/autograd/tape.js');
  const { Transformer } = await import('../src/model/transformer.js');
  const { AdamW } = await import('../src/optim/adamw.js');
  const { Rng } = await import('../src/tensor/random.js');
  const { trainStep } = await import('../src/train/step.js');
  for (const plan of ['attn*2', 'hsm:ab,hsm:gated', 'hsm:pair,attn']) {
    const model = new Transformer({ vocabSize: 17, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, plan });
    const optimizer = new AdamW(model.params.list, { lr: 1e-3, gradClip: 1 });
    const tape = new Tape();
    const rng = new Rng(1);
    // The trainer's own step (two micro-batches, so accumulation is covered too).
    const step = () =>
      trainStep({
        model,
        optimizer,
        tape,
        batchSize: 4,
        context: 16,
        gradAccum: 2,
        batch: () => ({
          x: Int32Array.from({ length: 64 }, () => rng.int(17)),
          y: Int32Array.from({ length: 64 }, () => rng.int(17)),
        }),
      });
    step();
    const after = tape.pool.allocations;
    step();
    step();
    assert.equal(
      tape.pool.allocations,
      after,
      `${plan}: later steps allocated ${tape.pool.allocations - after} new buffers`,
    );
  }
});
