#!/usr/bin/env node
// Random kill -9 campaign: trains a tiny model with a checkpoint after every
// step (so kills often land inside a save), kills the trainer at random
// instants N times, resuming each time, then lets it finish and compares the
// weights with an uninterrupted run. Prints one JSON line per kill and a
// summary. Usage: npm run build && node tools/fuzz/kill-campaign.mjs [--kills 20] [--seed 1] [--out DIR]
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clearTimeout, setTimeout } from 'node:timers';
import { parseArgs } from 'node:util';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});
const kills = Number(values.kills);
const OUT = resolve(values.out ?? '/tmp/hsm-kill-campaign');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const data = join(OUT, 'small.txt');
writeFileSync(data, readFileSync(resolve(REPO, 'data/tinyshakespeare.txt'), 'utf8').slice(0, 40_000));
const MAX_ITERS = 4000; // long enough that every kill lands before the end
const flags = (out) => [
  CLI,
  'train',
  '--data',
  data,
  '--out',
  out,
  '--max-iters',
  String(MAX_ITERS),
  '--checkpoint-interval',
  '1',
  '--eval-interval',
  '500',
  '--eval-iters',
  '2',
  '--log-interval',
  '50',
  '--n-layer',
  '2',
  '--n-head',
  '2',
  '--n-embd',
  '32',
  '--context',
  '32',
  '--batch-size',
  '4',
];
const env = { ...process.env, HSM_THREADS: '1' };
let state = Number(values.seed) >>> 0 || 1; // xorshift32: the kill instants are reproducible
const random = () => ((state ^= state << 13), (state ^= state >>> 17), (state ^= state << 5), (state >>> 0) / 2 ** 32);
const { readSafetensors } = await import(pathToFileURL(join(REPO, 'dist/src/io/safetensors.js')).href);
/** The SHA-256 of a checkpoint file's tensor bytes (its metadata holds the run id, which differs between runs). */
const digest = (p) => {
  const hash = createHash('sha256');
  for (const [, t] of readSafetensors(p).tensors) hash.update(new Uint8Array(t.data.buffer));
  return hash.digest('hex');
};
/** The step of the run's committed checkpoint, read through `hsm eval` (null when it cannot be read). */
function stepOf(dir) {
  const r = spawnSync(process.execPath, [CLI, 'eval', '--ckpt', dir, '--iters', '1'], { encoding: 'utf8', env });
  return r.status === 0 ? JSON.parse(r.stdout).step : null;
}

const reference = join(OUT, 'reference');
if (spawnSync(process.execPath, flags(reference), { env }).status !== 0) throw new Error('reference run failed');
const run = join(OUT, 'run');
let unresumable = 0,
  killed = 0,
  midSave = 0;
for (let k = 0; k < kills; k++) {
  const resume = existsSync(join(run, 'model.safetensors'));
  const child = spawn(process.execPath, [...flags(run), ...(resume ? ['--resume'] : [])], { env, stdio: 'ignore' });
  const wait = 2500 + random() * 4000; // after start-up (about 1-2 s on a loaded machine), anywhere in training
  const exit = await new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), wait);
    child.on('exit', (code, signal) => (clearTimeout(timer), done({ code, signal })));
  });
  const left = existsSync(run) ? readdirSync(run).filter((f) => f.startsWith('.') || f.includes('.next.')) : [];
  if (exit.code === 2) unresumable++;
  if (exit.signal === 'SIGKILL') killed++;
  if (left.some((f) => f.endsWith('.tmp') || f.includes('.next.'))) midSave++;
  console.log(
    JSON.stringify({
      kill: k + 1,
      resumed: resume,
      after_ms: Math.round(wait),
      exit,
      left_behind: left,
      step: existsSync(join(run, 'config.json')) ? stepOf(run) : null,
    }),
  );
  if (exit.code === 0) break; // finished before the kill
}
const last = spawnSync(process.execPath, [...flags(run), '--resume'], { encoding: 'utf8', env });
const same =
  last.status === 0 && digest(join(run, 'model.safetensors')) === digest(join(reference, 'model.safetensors'));
console.log(
  JSON.stringify({
    summary: true,
    killed,
    killed_inside_a_save: midSave,
    unresumable,
    final_exit: last.status,
    weights_equal_uninterrupted: same,
  }),
);
