import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DECODE_WINDOW } from '../src/bench/decode.js';
import { logLogSlope } from '../src/bench/scaling.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const hsm = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

test('logLogSlope recovers the exponent of a power law', () => {
  const xs = [1024, 2048, 4096, 8192];
  assert.ok(
    Math.abs(
      logLogSlope(
        xs,
        xs.map((x) => 3 * x),
      ) - 1,
    ) < 1e-12,
  );
  assert.ok(
    Math.abs(
      logLogSlope(
        xs,
        xs.map((x) => 0.5 * x * x),
      ) - 2,
    ) < 1e-12,
  );
});

test('hsm bench scaling: records per model and context, exponents, and charts', () => {
  const out = mkdtempSync(join(tmpdir(), 'hsm-scaling-'));
  const run = hsm(
    'bench',
    'scaling',
    '--json',
    '--models',
    'gpt,mine=hsm:ab*3',
    '--contexts',
    '32,64,128',
    '--tokens-per-step',
    '256',
    '--positions',
    '4,40',
    '--n-embd',
    '16',
    '--steps',
    '1',
    '--warmup',
    '1',
    '--fit-from',
    '32',
    '--out',
    out,
  );
  assert.equal(run.status, 0, run.stderr);
  const records = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const perContext = records.filter((r) => r.context !== undefined);
  assert.equal(perContext.length, 6);
  for (const r of perContext) {
    for (const key of ['model', 'context', 'train_tokens_per_s', 'peak_rss_mb', 'gen_ms_per_token'])
      assert.ok(key in r, `${key} in ${JSON.stringify(r)}`);
    assert.ok(
      Number(r.train_tokens_per_s) > 0 &&
        Number(r.peak_rss_mb) >= Number(r.baseline_rss_mb) &&
        Number(r.baseline_rss_mb) > 10,
    );
    assert.equal(Number(r.batch) * Number(r.context), 256);
    // Only positions whose timing window (64 tokens) fits in the context are reported with it.
    assert.deepEqual(
      Object.keys(r.gen_ms_per_token as object),
      [4, 40].filter((p) => p + DECODE_WINDOW <= Number(r.context)).map(String),
    );
  }
  assert.ok(perContext.filter((r) => r.model === 'gpt').every((r) => 'attention_gflops' in r));
  assert.ok(perContext.filter((r) => r.model === 'mine').every((r) => Number(r.train_speedup_vs_baseline) > 0));
  const exponents = records.filter((r) => r.exponent !== undefined);
  assert.deepEqual(
    exponents.map((r) => r.model),
    ['gpt', 'mine'],
  );
  for (const r of exponents) {
    assert.ok(
      Number.isFinite(Number(r.exponent)) && Number(r.gen_ratio_last_to_first) > 0 && Number(r.gen_peak_rss_mb) > 10,
    );
    assert.deepEqual(Object.keys(r.exponent_by_interval as object), ['32-64', '64-128']);
  }
  assert.match(run.stderr, /exponent/); // the table goes to stderr with --json

  const saved = readFileSync(join(out, 'scaling.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(String(saved[0].command).startsWith('hsm bench scaling'));
  assert.equal(saved.length, records.length + 1);
  for (const chart of ['scaling-train.svg', 'scaling-generate.svg']) {
    const svg = readFileSync(join(out, chart), 'utf8');
    assert.match(svg, /^<svg/);
    assert.match(svg, /mark-line/); // the lines were drawn, not just the axes
  }
});

test('hsm bench scaling: a bad option is a clear error', () => {
  const run = hsm('bench', 'scaling', '--contexts', '300', '--tokens-per-step', '1024');
  assert.equal(run.status, 2);
  assert.match(run.stderr, /multiple of every context/);
  const unknown = hsm('bench', 'scaling', '--models', 'gpt,transformerXL');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown model "transformerXL"/);
});
