// `hsm train --engine torch`: the PyTorch engine (python/hsm_torch) trains the
// same run as the native engine, data-parallel over processes, into the same
// run folder, which every other command then reads.
// - 2 processes with half the batch each step as 1 process with the whole;
// - torch and native follow the same batches and reach the same losses;
// - hsm eval reproduces torch's validation loss; hsm generate runs on its folder;
// - a native run continues on torch and back (weights and AdamW moments);
// - a rank killed mid-run ends the job with one line; --resume finishes it;
// - SIGTERM saves; missing torch and bad flags are one-line errors (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { readSafetensors } from '../src/io/safetensors.js';
import { CLI, cli, smallCorpus, tmp } from './helpers.js';
import { torchMissing } from './toolchains.js';

const skip = torchMissing();

const root = tmp('torch-engine');
const data = smallCorpus(root, 60_000);

/** A TCP port free on loopback now (the two simulated machines' rendezvous). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A small hybrid (HSM with the projection, then attention) so that both kinds of mixer train. */
const MODEL = ['--plan', 'hsm:ab[proj],attn', '--n-head', '2', '--n-embd', '32', '--context', '32'];
function flags(out: string, extra: string[] = []): string[] {
  return [
    'train',
    '--data',
    data,
    '--out',
    out,
    ...MODEL,
    ...['--batch-size', '4', '--max-iters', '8', '--warmup-iters', '2', '--lr', '3e-3'],
    ...['--eval-interval', '4', '--eval-iters', '2', '--log-interval', '1', '--checkpoint-interval', '4'],
    ...extra,
  ];
}

const hsm = (args: string[], env: NodeJS.ProcessEnv = {}) => cli(args, { env });

function trained(out: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const r = hsm(flags(out, extra), env);
  assert.equal(r.status, 0, r.stderr);
  return r;
}

const weights = (dir: string) => readSafetensors(join(dir, 'model.safetensors')).tensors;
function maxWeightDifference(a: string, b: string): number {
  const wa = weights(a),
    wb = weights(b);
  assert.deepEqual([...wa.keys()].sort(), [...wb.keys()].sort());
  let max = 0;
  for (const [name, t] of wa) {
    const u = wb.get(name)!.data;
    for (let i = 0; i < t.data.length; i++) max = Math.max(max, Math.abs(t.data[i] - u[i]));
  }
  return max;
}
const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: number; train_loss: number; val_loss?: number; grad_norm: number });

function assertSameLosses(a: string, b: string, tolerance: number): void {
  const ma = metrics(a),
    mb = metrics(b);
  assert.deepEqual(
    ma.map((m) => m.step),
    mb.map((m) => m.step),
  );
  ma.forEach((m, i) => {
    assert.ok(
      Math.abs(m.train_loss - mb[i].train_loss) < tolerance,
      `step ${m.step}: ${m.train_loss} vs ${mb[i].train_loss}`,
    );
    if (m.val_loss !== undefined) assert.ok(Math.abs(m.val_loss - mb[i].val_loss!) < tolerance);
  });
}

test('2 processes with half the batch each train exactly as 1 process; torch follows the native run', { skip }, (t) => {
  const native = join(root, 'native'),
    one = join(root, 'torch1'),
    two = join(root, 'torch2');
  trained(native);
  trained(one, ['--engine', 'torch']);
  const r = trained(two, ['--engine', 'torch', '--nproc', '2']);
  assert.match(r.stderr, /engine torch \(2 processes, cpu\)/);
  // Data parallel is exact: the same global batch, split in two, averaged by DDP.
  const dataParallel = maxWeightDifference(one, two);
  assert.ok(dataParallel < 1e-5, `1 vs 2 processes: weights differ by ${dataParallel}`);
  assertSameLosses(one, two, 1e-5);
  // Both engines draw the same batches from the same generator, starting from our initialisation.
  assertSameLosses(native, one, 1e-4);
  const engines = maxWeightDifference(native, one);
  assert.ok(engines < 1e-4, `native vs torch: weights differ by ${engines}`);
  t.diagnostic(`largest weight difference after 8 steps: 1 vs 2 processes ${dataParallel}, native vs torch ${engines}`);
  // Gradient accumulation: the micro-batches of a step come from the same stream, and DDP syncs only the last.
  const accum = ['--grad-accum', '2', '--max-iters', '4'];
  trained(join(root, 'native-accum'), accum);
  trained(join(root, 'torch2-accum'), [...accum, '--engine', 'torch', '--nproc', '2']);
  assertSameLosses(join(root, 'native-accum'), join(root, 'torch2-accum'), 1e-4);
  // The run folder is the native engine's: the same files, plus the token files and the ranks' logs.
  assert.deepEqual(
    readdirSync(two)
      .filter((f) => !f.startsWith('.'))
      .sort(),
    ['config.json', 'metrics.jsonl', 'model.safetensors', 'optimizer.safetensors', 'tokens', 'torch'],
  );
  assert.deepEqual(readdirSync(join(two, 'torch')).sort(), ['launch.json', 'rank0.log', 'rank1.log']);
});

test(
  'hsm eval reproduces the validation loss torch computed; hsm info and generate run on the torch run',
  { skip },
  () => {
    const two = join(root, 'torch2');
    const last = metrics(two).at(-1)!;
    // The trainer evaluates evalIters batches of batchSize from Rng(seed + 2); eval draws the same ones.
    const r = hsm(['eval', '--ckpt', two, '--seed', String(1337 + 2), '--iters', '2', '--batch-size', '4']);
    assert.equal(r.status, 0, r.stderr);
    const loss = (JSON.parse(r.stdout) as { loss: number }).loss;
    assert.ok(Math.abs(loss - last.val_loss!) < 1e-4, `eval ${loss} vs torch ${last.val_loss}`);
    const info = hsm(['info', '--ckpt', two]);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, /plan hsm:ab\[proj\],attn/);
    // The weights are written in our parameter order, not torch's module order.
    assert.deepEqual([...weights(two).keys()], [...weights(join(root, 'native')).keys()]);
    const g = hsm(['generate', '--ckpt', two, '--prompt', 'ROMEO:', '--max-tokens', '20', '--temperature', '0']);
    assert.equal(g.status, 0, g.stderr);
    assert.ok(g.stdout.startsWith('ROMEO:') && g.stdout.length > 'ROMEO:'.length, g.stdout);
  },
);

test(
  'a native run continues on torch, and a torch run on native, with weights and moments carried over',
  { skip },
  () => {
    const native = join(root, 'native');
    // Stop each first engine right after it saved step 4 (the crash hook kills it there), then switch engines.
    for (const [first, second] of [
      [[], ['--engine', 'torch']],
      [['--engine', 'torch'], []],
    ]) {
      const out = join(root, `switch-${first.length ? 'torch' : 'native'}-first`);
      if (first.length) {
        // The torch engine's ranks do not run our crash hook: the torch run stops at --max-iters 4 instead,
        // with the 8-step run's schedule (lrDecayIters), so that the continuation is the same run.
        trained(out, [...first, '--max-iters', '4', '--lr-decay-iters', '8']);
      } else assert.equal(hsm(flags(out), { HSM_CRASH_AT: 'saved@4' }).signal, 'SIGKILL');
      const resumed = hsm([...flags(out, second), '--resume', ...(first.length ? ['--lr-decay-iters', '8'] : [])]);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.match(resumed.stderr, /resuming .* at step 4/);
      assertSameLosses(native, out, 1e-4);
      const diff = maxWeightDifference(native, out);
      assert.ok(diff < 1e-4, `${first.length ? 'torch→native' : 'native→torch'}: weights differ by ${diff}`);
    }
  },
);

/** Starts a longer torch run on 2 processes and calls `act` once its first checkpoint is saved. */
async function interrupted(out: string, act: (cli: ReturnType<typeof spawn>) => void) {
  const child = spawn(
    process.execPath,
    [CLI, ...flags(out, ['--engine', 'torch', '--nproc', '2', '--max-iters', '400'])],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  let acted = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (!acted && /step [4-9]\/400|step \d\d+\/400/.test(stderr)) {
      acted = true;
      act(child);
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  return { code, signal, stderr };
}

/** The pid of rank `rank` among the children of `parent` (read from their environment). */
function rankPid(parent: number, rank: number): number {
  const children = spawnSync('ps', ['-o', 'pid=', '--ppid', String(parent)], { encoding: 'utf8' })
    .stdout.trim()
    .split(/\s+/)
    .map(Number);
  for (const pid of children) {
    const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    if (env.includes(`RANK=${rank}`)) return pid;
  }
  throw new Error(`no rank ${rank} under ${parent}`);
}

test('a rank killed mid-run ends the job with one line; --resume finishes it', { skip }, async (t) => {
  const out = join(root, 'killed');
  const r = await interrupted(out, (cli) => process.kill(rankPid(cli.pid!, 1), 'SIGKILL'));
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  t.diagnostic(lines.at(-1)!);
  assert.match(
    lines.at(-1)!,
    /^hsm: torch engine: rank 1 of 2 was killed by SIGKILL; its log is .*rank1\.log\. The other ranks were stopped and the checkpoint of step \d+ .* is intact: continue with hsm train --resume --engine torch --nproc 2/,
  );
  const resumed = hsm([...flags(out, ['--engine', 'torch', '--nproc', '2', '--max-iters', '12']), '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).step, 12);
});

test('SIGTERM stops every rank after its step and saves; --resume continues', { skip }, async () => {
  const out = join(root, 'stopped');
  const r = await interrupted(out, (cli) => cli.kill('SIGTERM'));
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /checkpoint saved at step (\d+); continue with --resume/);
  const saved = Number(/checkpoint saved at step (\d+)/.exec(r.stderr)![1]);
  assert.equal(metrics(out).at(-1)!.step, saved);
  const resumed = hsm([...flags(out, ['--engine', 'torch', '--max-iters', String(saved + 2)]), '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
});

test('no torch, bad engine flags and unshareable batches are one-line errors (exit 2)', () => {
  const fake = join(root, 'python-without-torch');
  writeFileSync(fake, '#!/bin/sh\necho "ModuleNotFoundError: No module named \'torch\'" >&2\nexit 1\n');
  chmodSync(fake, 0o755);
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--engine', 'torch'], { HSM_PYTHON: join(root, 'nowhere', 'python3') }, /needs Python 3 with PyTorch.*not found/],
    [
      ['--engine', 'torch'],
      { HSM_PYTHON: fake },
      /needs Python 3 with PyTorch.*No module named 'torch'.*apt-get install python3-torch/,
    ],
    [['--nproc', '2'], {}, /--nproc applies to --engine torch only/],
    [['--engine', 'jax'], {}, /--engine.*Allowed choices are native, torch/],
    [['--engine', 'torch', '--nnodes', '2'], {}, /--nnodes 2 needs --master-addr and --master-port/],
    [['--engine', 'torch', '--nnodes', '2', '--node-rank', '2'], {}, /--node-rank 2 must be below --nnodes 2/],
  ];
  if (!skip)
    cases.push([['--engine', 'torch', '--nproc', '3'], {}, /batchSize 4 must be a multiple of the 3 processes/]);
  for (const [extra, env, message] of cases) {
    const r = hsm(flags(join(root, 'refused'), [...extra, '--overwrite']), env);
    assert.equal(r.status, 2, `${extra.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], message);
  }
});

test(
  'two machines (simulated on loopback): node 0 keeps the run, and the job trains as 2 processes on one',
  { skip },
  async () => {
    const port = String(await freePort());
    const node = (rank: number, out: string, extra: string[] = []) =>
      spawn(
        process.execPath,
        [
          CLI,
          ...flags(out, [
            ...['--engine', 'torch', '--nnodes', '2', '--node-rank', String(rank)],
            ...['--master-addr', '127.0.0.1', '--master-port', port],
            ...extra,
          ]),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
    const finished = (cli: ReturnType<typeof spawn>) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        let stderr = '';
        cli.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
        cli.on('close', (code) => resolve({ code, stderr }));
      });
    const [n0, n1] = await Promise.all([
      finished(node(0, join(root, 'node0'))),
      finished(node(1, join(root, 'node1'))),
    ]);
    assert.equal(n0.code, 0, n0.stderr);
    assert.equal(n1.code, 0, n1.stderr);
    assert.match(n1.stderr, /node 1 done; node 0 holds the run/);
    assert.deepEqual(
      readdirSync(join(root, 'node1'))
        .filter((f) => !f.startsWith('.hsm.lock'))
        .sort(),
      ['tokens', 'torch'],
    ); // no run of its own (the lock's released record stays)
    assertSameLosses(join(root, 'torch2'), join(root, 'node0'), 1e-6);
    // A node whose flags build another model is refused by its ranks, and the job ends on both machines.
    const [b0, b1] = await Promise.all([
      finished(node(0, join(root, 'bad0'))),
      finished(node(1, join(root, 'bad1'), ['--n-embd', '16'])),
    ]);
    assert.equal(b1.code, 2, b1.stderr);
    assert.match(
      b1.stderr,
      /rank 1 of 2 exited with status 2 \(hsm: rank 1: this machine's model differs from node 0's/,
    );
    assert.equal(b0.code, 2, b0.stderr);
  },
);
