// Crash consistency: a trainer killed (SIGKILL) at every phase of a checkpoint
// save leaves a run that --resume continues to the same weights and losses as
// an uninterrupted run; so does an --overwrite of a finished run killed at
// every phase of removing the old run and of its own first save (never a mix
// of the two runs). The kills come from the HSM_CRASH_AT test hook
// (src/io/crash-point.ts), so each phase is hit exactly, not by chance. Two
// phases run at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../src/io/safetensors.js';
import { assertNotLocked } from '../src/io/folder-lock.js';
import { pool } from './fuzz/pool.js';
import { runCli } from './fuzz/run-cli.js';
import { CLI, SHAKESPEARE } from './helpers.js';

/** The phases of the save of step `n`, in order, with the step each leaves as the last complete checkpoint. */
const savePhases = (n: number): [string, number][] => [
  [`config.json:written@${n}`, n - 1],
  [`config@${n}`, n - 1],
  [`optimizer.next.safetensors:written@${n}`, n - 1],
  [`staged@${n}`, n - 1],
  [`model.safetensors:written@${n}`, n - 1],
  [`committed@${n}`, n],
  [`saved@${n}`, n],
];
/** The phases of --overwrite removing the old run (src/train/run-folder.ts), before anything new is written. */
const REPLACE_PHASES: [string, number][] = [
  ['replace:weights-moved', 0],
  ['replace:all-moved', 0],
];

/** A checkpoint file's tensors and metadata, without what differs between two runs of one configuration (the run id, the wall time, and the checksum over them). */
function fileState(dir: string, name: string) {
  const { tensors, metadata } = readSafetensors(join(dir, name));
  const { elapsedS: _, data_sha256: __, run_id: ___, ...state } = metadata;
  return { state, tensors: [...tensors].map(([n, t]) => [n, Buffer.from(t.data.buffer).toString('base64')]) };
}

/** metrics.jsonl without the timing fields, which differ between runs. */
const losses = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').replace(/"(tokens_per_s|elapsed_s)":[\d.e+-]+,?/g, '');

/** The training command of these tests: 10 steps, a checkpoint after each; `extra` flags last. */
function trainArgs(data: string, out: string, ...extra: string[]): string[] {
  return [
    'train',
    '--data',
    data,
    '--out',
    out,
    '--max-iters',
    '10',
    '--checkpoint-interval',
    '1',
    '--log-interval',
    '1',
    '--eval-interval',
    '5',
    '--eval-iters',
    '1',
    ...['--n-layer', '1', '--n-head', '1', '--n-embd', '16', '--context', '16', '--batch-size', '2'],
    ...extra,
  ];
}

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(CLI, args, { timeoutMs: 60_000, env });

/** Whether `out` ended as `full` did: weights, moments, step, RNG, losses; nothing temporary left, the lock free. */
function assertSameRun(out: string, full: string, phase: string): void {
  assert.deepEqual(
    fileState(out, 'model.safetensors'),
    fileState(full, 'model.safetensors'),
    `${phase}: the same weights`,
  );
  assert.deepEqual(
    fileState(out, 'optimizer.safetensors'),
    fileState(full, 'optimizer.safetensors'),
    `${phase}: the same moments, step and RNG`,
  );
  assert.equal(losses(out), losses(full), `${phase}: the same losses`);
  assert.deepEqual(
    readdirSync(out).filter((f) => f.endsWith('.tmp') || f.includes('.next.') || f === '.hsm-replaced'),
    [],
    `${phase}: no temporary, staged or replaced file is left`,
  );
  assertNotLocked(out, 'run folder');
}

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'hsm-crash-'));
  const data = join(root, 'small.txt');
  writeFileSync(data, readFileSync(SHAKESPEARE, 'utf8').slice(0, 40_000));
  return { root, data };
}

test('a kill at every phase of a checkpoint save resumes to the uninterrupted run', async () => {
  const { root, data } = setup();
  const full = join(root, 'full');
  assert.equal((await run(trainArgs(data, full))).code, 0);
  await pool(savePhases(7), 2, async ([phase, lastComplete]) => {
    const out = join(root, phase.replace(/\W/g, '_'));
    const killed = await run(trainArgs(data, out), { HSM_CRASH_AT: phase });
    assert.equal(killed.signal, 'SIGKILL', `${phase}: the hook killed the trainer (${killed.stderr})`);
    const resumed = await run([...trainArgs(data, out), '--resume']);
    assert.equal(resumed.code, 0, `${phase}: ${resumed.stderr}`);
    assert.match(resumed.stderr, new RegExp(`resuming .* at step ${lastComplete}:`), phase);
    assertSameRun(out, full, phase);
  });
});

test('an --overwrite of a finished run killed at any phase never resumes a mix of the two runs', async () => {
  const { root, data } = setup();
  // The old run and the new one differ in seed and learning rate, and the same flags resume the new one.
  const old = join(root, 'old');
  const full = join(root, 'full');
  const [a, b] = await Promise.all([
    run(trainArgs(data, old)),
    run(trainArgs(data, full, '--seed', '7', '--lr', '2e-3')),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  await pool([...REPLACE_PHASES, ...savePhases(1)], 2, async ([phase, lastComplete]) => {
    const out = join(root, `over-${phase.replace(/\W/g, '_')}`);
    cpSync(old, out, { recursive: true });
    const flags = trainArgs(data, out, '--seed', '7', '--lr', '2e-3');
    const killed = await run([...flags, '--overwrite'], { HSM_CRASH_AT: phase });
    assert.equal(killed.signal, 'SIGKILL', `${phase}: the hook killed the trainer (${killed.stderr})`);
    const resumed = await run([...flags, '--resume']);
    assert.equal(resumed.code, 0, `${phase}: ${resumed.stderr}`);
    // Before the new run's first checkpoint commits, the folder holds no weights of either run: step 0, said in one line.
    if (lastComplete === 0)
      assert.match(resumed.stderr, /(holds no checkpoint yet|an --overwrite was interrupted).*from step 0/, phase);
    else assert.match(resumed.stderr, new RegExp(`resuming .* at step ${lastComplete}:`), phase);
    assertSameRun(out, full, phase);
  });
});
