// Crash consistency: a trainer killed (SIGKILL) at every phase of a checkpoint
// save leaves a run that --resume continues to the same weights and losses as
// an uninterrupted run. The kills come from the HSM_CRASH_AT test hook
// (src/io/crash-point.ts), so each phase is hit exactly, not by chance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../src/io/safetensors.js';
import { CLI, smallCorpus, tmp } from './helpers.js';

/** The phases of the save of step 7, in order; the first four leave step 6 as the last complete checkpoint. */
const PHASES = [
  ['config.json:written@7', 6],
  ['config@7', 6],
  ['optimizer.next.safetensors:written@7', 6],
  ['staged@7', 6],
  ['model.safetensors:written@7', 6],
  ['committed@7', 7],
  ['saved@7', 7],
] as const;

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** The optimizer file's moments and training state, without its wall time (which differs between runs). */
function optimizerState(dir: string) {
  const { tensors, metadata } = readSafetensors(join(dir, 'optimizer.safetensors'));
  const { elapsedS: _, data_sha256: __, ...state } = metadata; // the checksum covers elapsedS
  return { state, moments: [...tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer).toString('base64')]) };
}

/** metrics.jsonl without the timing fields, which differ between runs. */
const losses = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').replace(/"(tokens_per_s|elapsed_s)":[\d.e+-]+,?/g, '');

test('a kill at every phase of a checkpoint save resumes to the uninterrupted run', () => {
  const root = tmp('crash');
  const data = smallCorpus(root);
  const flags = (out: string) => [
    CLI,
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
  ];
  const full = join(root, 'full');
  assert.equal(spawnSync(process.execPath, flags(full)).status, 0);
  for (const [phase, lastComplete] of PHASES) {
    const out = join(root, phase.replace(/\W/g, '_'));
    const killed = spawnSync(process.execPath, flags(out), {
      env: { ...process.env, HSM_CRASH_AT: phase },
      encoding: 'utf8',
    });
    assert.equal(killed.signal, 'SIGKILL', `${phase}: the hook killed the trainer (${killed.stderr})`);
    const resumed = spawnSync(process.execPath, [...flags(out), '--resume'], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, `${phase}: ${resumed.stderr}`);
    assert.match(resumed.stderr, new RegExp(`resuming .* at step ${lastComplete}:`), phase);
    assert.equal(digest(join(out, 'model.safetensors')), digest(join(full, 'model.safetensors')), phase);
    assert.deepEqual(optimizerState(out), optimizerState(full), `${phase}: the same moments, step and RNG`);
    assert.equal(losses(out), losses(full), `${phase}: the same losses`);
    assert.deepEqual(
      readdirSync(out).filter((f) => f.endsWith('.tmp') || f.includes('.next.') || f === '.hsm.lock'),
      [],
      `${phase}: no temporary, staged or lock file is left`,
    );
  }
});
