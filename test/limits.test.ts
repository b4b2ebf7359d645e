// A user's bad day: absurd sizes and values are refused before anything is
// allocated, with one line naming the flag and its range; one writer per run
// folder; a damaged metrics log is repaired and reported; safetensors files
// whose tensors do not tile the data are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { lockFolder } from '../src/io/folder-lock.js';
import { parseTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { CLI, assertUserError, cli as runCli, smallCorpus, tmp } from './helpers.js';

function setup() {
  const root = tmp('limits');
  return { root, data: smallCorpus(root) };
}

/** Refusals come before any allocation, so a minute is plenty. */
const cli = (args: string[]) => runCli(args, { timeoutMs: 60_000 });

const expectRefusal = (args: string[], pattern: RegExp): void => assertUserError(cli(args), pattern, args.join(' '));

const TINY = ['--n-layer', '1', '--n-head', '1', '--n-embd', '16', '--context', '16', '--batch-size', '2'];

test('absurd sizes are refused before allocation, naming the flag and the range', () => {
  const { root, data } = setup();
  const out = join(root, 'o');
  const train = (...flags: string[]) => ['train', '--data', data, '--out', out, '--max-iters', '1', ...flags];
  expectRefusal(train('--context', '10000000'), /--context: must be an integer from 1 to 1048576/);
  expectRefusal(train('--batch-size', '1e12'), /--batch-size: must be an integer from 1 to 65536/);
  expectRefusal(train('--n-layer', '100000'), /--n-layer: must be an integer from 1 to 256/);
  // Within every range, but far beyond this machine: the memory estimate refuses it before building the model.
  expectRefusal(train('--context', '1000000', '--batch-size', '64'), /needs about [\d.]+ GiB .*--no-memory-check/);
  expectRefusal(train('--plan', 'hsm:conv[k=1000000]*2'), /option k=1000000 must be an integer from 2 to 64/);
  expectRefusal(train('--plan', 'hsm:conv[k=0]*2'), /option k=0 must be an integer from 2 to 64/);
  expectRefusal(train('--plan', 'hsm:ab[proj=5]*2'), /option "proj" is a flag and takes no value/);
  expectRefusal(train('--plan', 'hsm:nope', '--n-layer', '2'), /unknown mixer "nope"/);
  expectRefusal(train('--plan', 'hsm:ab*2', '--match-params', 'attn*1000'), /more than the 256 a plan may have/);
  expectRefusal(['info', '--plan', 'attn*100000'], /more than the 256 a plan may have/);
  expectRefusal(['info', '--vocab-size', '-1'], /--vocab-size.*integer from 1 to 2097152/);
});

test('numeric flags of eval and generate are checked, and an --out that cannot be a folder is one line', async () => {
  const { root, data } = setup();
  const run = join(root, 'run');
  await train(
    parseTrainConfig({ data, out: run, maxIters: 2, model: { nLayer: 1, nHead: 1, nEmbd: 16, blockSize: 16 } }),
  );
  expectRefusal(['eval', '--ckpt', run, '--iters', '-1'], /--iters.*integer from 1 to 100000/);
  expectRefusal(['eval', '--ckpt', run, '--batch-size', '0'], /--batch-size.*integer from 1 to 65536/);
  expectRefusal(['generate', '--ckpt', run, '--top-k', '1.5'], /--top-k.*integer from 0/);
  expectRefusal(['generate', '--ckpt', run, '--top-p', '0'], /--top-p.*above 0, at most 1/);
  expectRefusal(['generate', '--ckpt', run, '--top-p', '1.5'], /--top-p/);
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  expectRefusal(['train', '--data', data, '--out', file, ...TINY], /is a file, not a folder/);
  expectRefusal(['train', '--data', data, '--out', join(file, 'sub'), ...TINY], /is a file, not a folder/);
  expectRefusal(['compare', '--grid', 'smoke', '--out', file], /is a file, not a folder/);
});

test('one writer per run folder: a second trainer is refused at once, the first finishes unharmed', async () => {
  const { root, data } = setup();
  const out = join(root, 'run');
  const flags = ['train', '--data', data, '--out', out, '--log-interval', '1', ...TINY];
  const first = spawn(process.execPath, [CLI, ...flags, '--max-iters', '100000', '--checkpoint-interval', '5']);
  let stdout = '';
  first.stdout.on('data', (d) => (stdout += d));
  await new Promise<void>((resolve) =>
    first.stderr.on('data', (d: Buffer) => /step 6\//.test(d.toString()) && resolve()),
  );
  expectRefusal([...flags, '--max-iters', '60', '--overwrite'], /is in use by process \d+/);
  expectRefusal(['train', '--resume', '--out', out], /is in use by process \d+/);
  first.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => first.on('exit', resolve));
  assert.equal(code, 130);
  const last = (JSON.parse(stdout) as { step: number }).step;
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(
    steps,
    Array.from({ length: last }, (_, i) => i + 1),
    'one writer: every step once, in order',
  );
  // A lock left by a process that is gone is taken over, and the trainer says so.
  writeFileSync(join(out, '.hsm.lock'), `999999999 ${(await import('node:os')).hostname()} 2026-01-01T00:00:00Z\n`);
  const resumed = cli(['train', '--resume', '--out', out, '--max-iters', String(last + 1)]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /locked by process 999999999, which is no longer running; taking it over/);
  // In-process: a held lock refuses a second taker until released.
  const release = lockFolder(out, 'run folder');
  assert.throws(() => lockFolder(out, 'run folder'), /in use by process/);
  release();
  lockFolder(out, 'run folder')();
});

test('resume repairs a damaged metrics log and says which lines it dropped', async () => {
  const { root, data } = setup();
  const out = join(root, 'run');
  const cfg = (maxIters: number) =>
    parseTrainConfig({
      data,
      out,
      maxIters,
      logInterval: 1,
      model: { nLayer: 1, nHead: 1, nEmbd: 16, blockSize: 16 },
      batchSize: 2,
    });
  await train(cfg(6));
  appendFileSync(join(out, 'metrics.jsonl'), '{"step": 7, "train_lo\n');
  const warnings: string[] = [];
  await train(cfg(8), { resume: true, hooks: { onWarning: (m) => warnings.push(m) } });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /metrics\.jsonl: dropped 1 damaged, repeated or out-of-order line\(s\) \(line 7\)/);
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('safetensors: tensors must tile the data exactly (no header overlap, overlap, gap or trailing bytes)', () => {
  const tensors = [
    ['a', { shape: [2], data: Float32Array.of(1, 2) }],
    ['b', { shape: [3], data: Float32Array.of(3, 4, 5) }],
  ] as const;
  const bytes = Buffer.concat(serializeSafetensors(tensors, { step: '1' }));
  assert.deepEqual([...parseSafetensors(bytes).tensors.get('b')!.data], [3, 4, 5]);
  /** The file with its header's entries edited (and its length field rewritten). */
  const edit = (change: (h: Record<string, { data_offsets: number[]; shape: number[] }>) => void, tail = 0) => {
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Record<
      string,
      { data_offsets: number[]; shape: number[] }
    >;
    change(header);
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([length, json, bytes.subarray(8 + n), Buffer.alloc(tail)]);
  };
  const refuse = (file: Buffer, pattern: RegExp) => assert.throws(() => parseSafetensors(file, 'f'), pattern);
  refuse(
    edit((h) => (h.b.data_offsets = [4, 16])),
    /"b" starts at byte 4 of the data, not 8 \(overlaps another tensor/,
  );
  refuse(
    edit((h) => {
      h.a.data_offsets = [0, 4];
      h.a.shape = [1];
    }),
    /"b" starts at byte 8 of the data, not 4 \(leaves a gap/,
  );
  refuse(
    edit(() => {}, 8),
    /cover 20 bytes of data but the file holds 28 \(trailing bytes/,
  );
  refuse(
    edit((h) => (h.a.data_offsets = [-8, 0])),
    /tensor "a": data_offsets/,
  );
  refuse(
    edit((h) => (h.b.shape = [-3])),
    /tensor "b": shape/,
  );
  refuse(
    edit((h) => (h.b.shape = [4])),
    /"b" spans 12 bytes but its shape \[4\] of F32 needs 16/,
  );
  refuse(bytes.subarray(0, bytes.length - 4), /cover 20 bytes of data but the file holds 16 \(truncated/);
});
