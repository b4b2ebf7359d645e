// A user's bad day: absurd sizes and values are refused before anything is
// allocated, with one line naming the flag and its range; one writer per run
// folder, even when processes race for a stale lock; a damaged metrics log is
// repaired and reported; damaged checkpoint files are refused even without a
// checksum, and a damaged staged file never costs the last good state;
// safetensors files whose tensors do not tile the data are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { lockFolder } from '../src/io/folder-lock.js';
import { loadModel } from '../src/train/checkpoint.js';
import { parseTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { CLI, SHAKESPEARE } from './helpers.js';

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'hsm-limits-'));
  const data = join(root, 'small.txt');
  writeFileSync(data, readFileSync(SHAKESPEARE, 'utf8').slice(0, 40_000));
  return { root, data };
}

/** Peak memory of the child in KiB, where GNU time is installed (it is in CI's image); otherwise null. */
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectRefusal(args: string[], pattern: RegExp): void {
  const r = cli(args);
  assert.equal(r.status, 2, `exit code for ${args.join(' ')}: ${r.status}\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line for ${args.join(' ')}, got:\n${r.stderr}`);
  assert.match(lines[0], /^hsm: /);
  assert.match(lines[0], pattern);
}

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

/** The lines a child writes to stdout, one per call. */
function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => (waiting.length ? waiting.shift()!(l) : queue.push(l)));
  return () => new Promise((resolve) => (queue.length ? resolve(queue.shift()!) : waiting.push(resolve)));
}

test('processes racing for a stale lock: exactly one takes it, every round', async () => {
  const dir = join(setup().root, 'run');
  mkdirSync(dir);
  const worker = fileURLToPath(new URL('./lock-race-worker.js', import.meta.url));
  const lockModule = fileURLToPath(new URL('../src/io/folder-lock.js', import.meta.url));
  const start = () => spawn(process.execPath, [worker, lockModule, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  // A stale lock as a killed holder leaves it, laid down again before every round.
  const victim = start();
  victim.stdin!.write('die\n');
  await once(victim, 'exit');
  const isLock = (n: string) => n.startsWith('.hsm.lock');
  const stale = readdirSync(dir)
    .filter(isLock)
    .map((n) => [n, readFileSync(join(dir, n))] as const);
  assert.ok(stale.length > 0, 'the killed process left its lock');
  const racers = Array.from({ length: 4 }, start);
  const next = racers.map(lines);
  try {
    for (let round = 0; round < 120; round++) {
      for (const n of readdirSync(dir).filter(isLock)) rmSync(join(dir, n), { force: true });
      for (const [n, bytes] of stale) writeFileSync(join(dir, n), bytes);
      const at = Date.now() + 15;
      for (const r of racers) r.stdin!.write(`go ${at}\n`);
      const answers = await Promise.all(next.map((n) => n()));
      const winners = answers.flatMap((a, i) => (a === 'won' ? [i] : []));
      assert.equal(winners.length, 1, `round ${round}: ${answers.join(' | ')}`);
      for (const a of answers) if (a !== 'won') assert.match(a, /^lost run folder .* is in use by process \d+/);
      racers[winners[0]].stdin!.write('release\n');
      assert.equal(await next[winners[0]](), 'released');
    }
  } finally {
    for (const r of racers) r.kill();
  }
});

test('a lock that is a directory or a link is refused with what to do; one from another host expires', () => {
  const dir = join(setup().root, 'run');
  mkdirSync(dir);
  mkdirSync(join(dir, '.hsm.lock'));
  assert.throws(
    () => lockFolder(dir, 'run folder'),
    /\.hsm\.lock is a directory, which hsm never writes; .*remove it \(rm -r /,
  );
  rmSync(join(dir, '.hsm.lock'), { recursive: true });
  symlinkSync(join(dir, 'nowhere'), join(dir, '.hsm.lock.3'));
  assert.throws(() => lockFolder(dir, 'run folder'), /\.hsm\.lock\.3 is a symbolic link, which hsm never writes/);
  rmSync(join(dir, '.hsm.lock.3'));
  // Another host's holder cannot be checked from here: live while it refreshes the lock, taken over 10 minutes after.
  const record = join(dir, '.hsm.lock.4');
  writeFileSync(record, JSON.stringify({ pid: 1, host: 'elsewhere', since: '2026-01-01T00:00:00Z', released: false }));
  assert.throws(
    () => lockFolder(dir, 'run folder'),
    /in use by process 1 on elsewhere .*until it goes 10 minutes without a refresh, 0 minutes so far; if that host no longer runs it, delete .*\.hsm\.lock\.4/,
  );
  const past = new Date(Date.now() - 11 * 60_000);
  utimesSync(record, past, past);
  const notes: string[] = [];
  lockFolder(dir, 'run folder', (m) => notes.push(m))();
  assert.match(
    notes.join('\n'),
    /locked by process 1 on elsewhere, which has not refreshed the lock for 11 minutes; taking it over/,
  );
  // Our own PID in a record this process does not hold: an earlier process with this PID (a restarted container).
  const own = JSON.stringify({ pid: process.pid, host: hostname(), since: 'x', started: 'y', released: false });
  const top = Math.max(...readdirSync(dir).map((n) => Number(/^\.hsm\.lock\.(\d+)$/.exec(n)?.[1] ?? 0)));
  writeFileSync(join(dir, `.hsm.lock.${top + 1}`), own);
  lockFolder(dir, 'run folder')();
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
  const steps = () =>
    readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps(), [1, 2, 3, 4, 5, 6, 7, 8]);
  // A deleted line is a gap, reported like the other repairs.
  const text = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n');
  writeFileSync(join(out, 'metrics.jsonl'), [...text.slice(0, 2), ...text.slice(3)].join('\n'));
  warnings.length = 0;
  await train(cfg(9), { resume: true, hooks: { onWarning: (m) => warnings.push(m) } });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /metrics\.jsonl: no line for step 3 \(deleted\?\); the log keeps that gap/);
  assert.deepEqual(steps(), [1, 2, 4, 5, 6, 7, 8, 9]);
});

/** A safetensors header as these tests edit it: tensor entries, and __metadata__ (whose values are strings). */
type Header = Record<string, { shape: number[]; data_offsets: number[] } & Record<string, unknown>>;

/** Rewrites a checkpoint file with `edit` applied to its header and data, and without its checksum (as other tools write them). */
function editUnchecked(path: string, edit: (header: Header, data: Buffer) => void): void {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Header;
  const data = Buffer.from(bytes.subarray(8 + n));
  delete header.__metadata__.data_sha256;
  edit(header, data);
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, data]));
}

/** A tiny run of 4 steps with checkpoints at 2 and 4; `keepAt2` keeps its optimizer file of step 2. */
async function tinyRun() {
  const { root, data } = setup();
  const run = join(root, 'run');
  const cfg = (maxIters: number, out = run) =>
    parseTrainConfig({
      data,
      out,
      maxIters,
      checkpointInterval: 2,
      model: { nLayer: 1, nHead: 1, nEmbd: 16, blockSize: 16 },
      batchSize: 2,
    });
  await train(cfg(2));
  const optimizerAt2 = readFileSync(join(run, 'optimizer.safetensors'));
  await train(cfg(4), { resume: true });
  let copies = 0;
  /** A copy of the run with `edit` applied, and the configuration that resumes it. */
  const copy = (edit: (dir: string) => void) => {
    const dir = join(root, `copy-${copies++}`);
    cpSync(run, dir, { recursive: true });
    edit(dir);
    return { dir, resume: () => train(cfg(6, dir), { resume: true }) };
  };
  return { run, optimizerAt2, copy };
}

const oneLine = (pattern: RegExp) => (err: unknown) => {
  assert.ok(!(err as Error).message.includes('\n'), (err as Error).message);
  assert.match((err as Error).message, pattern);
  return true;
};

test('checkpoint files without a checksum are still checked: weights, moments, sampler state, steps, shapes', async () => {
  const { copy } = await tinyRun();
  const first = (h: Header, rows = 0) =>
    Object.keys(h).find((k) => k !== '__metadata__' && h[k].shape.length === 2 && h[k].shape[0] !== rows)!;
  const setFloat = (name: string, value: number) => (h: Header, data: Buffer) =>
    data.writeFloatLE(value, h[name].data_offsets[0] + 4);
  // Weights: read by eval, generate and resume alike (loadModel).
  for (const [value, pattern] of [
    [
      3e38,
      /model\.safetensors: ".*" holds 3\.0*\d*e\+38 at element 1, beyond the ±1000000000000 no trained weight reaches/,
    ],
    [NaN, /model\.safetensors: ".*" holds NaN at element 1/],
  ] as const) {
    const { dir } = copy((d) =>
      editUnchecked(join(d, 'model.safetensors'), (h, data) => setFloat(first(h), value)(h, data)),
    );
    assert.throws(() => loadModel(dir), oneLine(pattern));
  }
  // The optimizer state: read by a resume.
  const optimizerCases: [string, (h: Header, data: Buffer) => void, RegExp][] = [
    ['sampler state', (h) => (h.__metadata__.rng = '[0,0,0,0]'), /rng: the batch sampler state is all zeros/],
    [
      'optimizerStep',
      (h) => (h.__metadata__.optimizerStep = '3'),
      /records optimizerStep 3 at step 4; they are always equal/,
    ],
    [
      'shape',
      (h) => {
        const name = Object.keys(h).find(
          (k) => k.startsWith('m.') && h[k].shape.length === 2 && h[k].shape[0] !== h[k].shape[1],
        )!;
        h[name].shape = [...h[name].shape].reverse();
      },
      /the state "m\..*" is F32 \[\d+,\d+\], but the parameter is F32 \[\d+,\d+\]/,
    ],
    [
      'negative v',
      (h, data) =>
        setFloat(
          Object.keys(h).find((k) => k.startsWith('v.'))!,
          -1,
        )(h, data),
      /holds a negative second moment/,
    ],
    [
      'huge m',
      (h, data) =>
        setFloat(
          Object.keys(h).find((k) => k.startsWith('m.'))!,
          3e38,
        )(h, data),
      /"m\..*" holds 3\.0*\d*e\+38 at element 1 against a second moment of .*, an update beyond float32/,
    ],
  ];
  for (const [what, edit, pattern] of optimizerCases) {
    const { resume } = copy((d) => editUnchecked(join(d, 'optimizer.safetensors'), edit));
    await assert.rejects(resume(), oneLine(pattern), what);
  }
});

test('weights, optimizer and config.json are one run: an edited config.json or a file of another run is refused', async () => {
  const { run, copy } = await tinyRun();
  const edited = copy((d) => {
    const config = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    config.train.gradAccum = 2;
    writeFileSync(join(d, 'config.json'), JSON.stringify(config));
  });
  expectRefusal(
    ['train', '--resume', '--out', edited.dir, '--max-iters', '6'],
    /model\.safetensors was trained with gradAccum 1, but config\.json says 2 \(edited\?\)/,
  );
  assert.throws(() => loadModel(edited.dir), oneLine(/trained with gradAccum 1, but config\.json says 2/));
  // Another run's optimizer state (a folder copied over another): a different run id.
  const other = await tinyRun();
  const mixed = copy((d) => cpSync(join(other.run, 'optimizer.safetensors'), join(d, 'optimizer.safetensors')));
  await assert.rejects(
    mixed.resume(),
    oneLine(
      /optimizer\.safetensors belongs to run [0-9a-f]+ but config\.json to run [0-9a-f]+: the folder mixes two runs/,
    ),
  );
  assert.ok(existsSync(join(run, 'model.safetensors')));
});

test('settling an interrupted save never destroys the last good state: a damaged staged file is kept aside and named', async () => {
  const { optimizerAt2, copy } = await tinyRun();
  // Killed after the commit of step 4: its staged optimizer state is damaged, optimizer.safetensors still holds step 2's.
  const { dir, resume } = copy((d) => {
    const staged = readFileSync(join(d, 'optimizer.safetensors'));
    staged[staged.length - 3] ^= 0x10;
    writeFileSync(join(d, 'optimizer.next.safetensors'), staged);
    writeFileSync(join(d, 'optimizer.safetensors'), optimizerAt2);
  });
  await assert.rejects(
    resume(),
    oneLine(
      /the weights are from step 4 but no optimizer file holds their state: optimizer\.next\.safetensors is damaged: .*checksum.*, and optimizer\.safetensors is from step 2; the staged file was kept as optimizer\.next\.unusable-.*\.safetensors and nothing else was changed\. Restore/,
    ),
  );
  assert.ok(readFileSync(join(dir, 'optimizer.safetensors')).equals(optimizerAt2), 'the last good state is untouched');
  assert.ok(!existsSync(join(dir, 'optimizer.next.safetensors')));
  assert.equal(readdirSync(dir).filter((n) => n.startsWith('optimizer.next.unusable-')).length, 1);
});

test('--resume of a run that stopped before its first checkpoint starts it from step 0, in one line', () => {
  const { root, data } = setup();
  const out = join(root, 'run');
  mkdirSync(out);
  writeFileSync(join(out, 'metrics.jsonl'), ''); // what a run killed during its first steps leaves
  expectRefusal(
    ['eval', '--ckpt', out],
    /holds no checkpoint yet: the run stopped before its first save committed; `hsm train --resume/,
  );
  const r = cli(['train', '--resume', '--data', data, '--out', out, '--max-iters', '2', ...TINY]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr.split('\n')[0],
    /^hsm: .* holds no checkpoint yet \(the run stopped before its first save committed\); starting it from step 0$/,
  );
  assert.equal((JSON.parse(r.stdout) as { step: number }).step, 2);
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
