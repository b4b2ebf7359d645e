// `hsm export --onnx`, checked by a real runtime (onnxruntime-node, CPU):
// every test plan's model.onnx gives our forward's logits, and decoder.onnx,
// fed its own state token by token, gives them position by position with a
// state whose size does not change for pure HSM models; a GPT, an HSM and a
// hybrid trained run folder (char, byte and gpt2 tokenizers) exported by the
// CLI give `hsm generate --temperature 0`'s 100 tokens exactly; an export
// stopped by a signal leaves no folder; bad input is one line and exit code 2.
// Exporting needs PyTorch (apt-get install python3-torch): without it these
// tests are skipped, or fail when HSM_REQUIRE_TORCH=1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchOnnxDecode } from '../src/bench/onnx-decode.js';
import { writeFreshRun } from '../src/bench/serve.js';
import { GPT2_RANKS_FILE } from '../src/data/gpt2-bpe.js';
import { tokenizerFromSpec } from '../src/data/tokenizers.js';
import { generateTokens } from '../src/generate/generate.js';
import { parseTrainConfig, train } from '../src/index.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { modelDescription } from '../src/model/describe.js';
import { Transformer } from '../src/model/transformer.js';
import { projectRoot } from '../src/project-root.js';
import { checkOnnxSize, exportModelGraphs, runOnnxExporter } from '../src/serve/onnx-graphs.js';
import { GREEDY_EXAMPLE } from '../src/serve/onnx-readme.js';
import { OnnxDecoder, wholeSequenceLogits } from '../src/serve/onnx-runtime.js';
import { loadModel } from '../src/train/checkpoint.js';
import { findTorchPython } from '../src/train/torch-launch.js';
import { B, buildCase, CASES, CONTEXT } from './model-cases.js';
import { CLI, SHAKESPEARE } from './helpers.js';
import { torchMissing } from './toolchains.js';

const skip = torchMissing();
/** The issue's bar for logits: max |ONNX Runtime − ours| (absolute; logits here are of order 1 to 10). */
const TOLERANCE = 1e-4;
const GREEDY_TOKENS = 100;

function hsm(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user error: exit code 2 and one line on stderr, matching `pattern`. */
function assertUserError(r: ReturnType<typeof hsm>, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit code 2 expected; stderr: ${r.stderr}`);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line expected: ${r.stderr}`);
  assert.match(r.stderr, pattern);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function argmax(logits: ArrayLike<number>, from = 0, to = logits.length): number {
  let best = from;
  for (let v = from + 1; v < to; v++) if (logits[v] > logits[best]) best = v;
  return best - from;
}

/** Shapes of the state tensors, by name. */
function stateShapes(state: { tensors: Record<string, { dims: readonly number[] }> }): Record<string, string> {
  return Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => [k, t.dims.join('x')]));
}

const root = mkdtempSync(join(tmpdir(), 'hsm-onnx-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('hsm export --onnx: a bad run folder, an occupied folder or no torch is one line and exit code 2', () => {
  const run = join(root, 'fresh');
  writeFreshRun(run, 'hsm:ab*2', 16, 16, { tokenizer: 'byte' });
  assertUserError(hsm(['export', '--onnx', join(root, 'x'), '--ckpt', join(root, 'nope')]), /does not exist/);
  const broken = join(root, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'config.json'), '{');
  assertUserError(hsm(['export', '--onnx', join(root, 'x'), '--ckpt', broken]), /config\.json is not valid JSON/);
  assertUserError(hsm(['export', '--ckpt', run]), /needs one of --web <folder> .* or --onnx <folder>/);
  assertUserError(hsm(['export', '--web', join(root, 'w'), '--onnx', join(root, 'x'), '--ckpt', run]), /needs one of/);
  const occupied = join(root, 'occupied');
  mkdirSync(occupied);
  writeFileSync(join(occupied, 'notes.txt'), 'mine');
  assertUserError(hsm(['export', '--onnx', occupied, '--ckpt', run]), /not empty; .* --overwrite/);
  assertUserError(
    hsm(['export', '--onnx', occupied, '--ckpt', run, '--overwrite']),
    /does not hold an earlier export .* will not replace it/,
  );
  assert.equal(readFileSync(join(occupied, 'notes.txt'), 'utf8'), 'mine');
  // No Python with torch: say what to install, and write nothing.
  const out = join(root, 'no-torch');
  assertUserError(
    hsm(['export', '--onnx', out, '--ckpt', run], { HSM_PYTHON: join(root, 'no-such-python') }),
    /hsm export --onnx needs Python 3 with PyTorch.*not found.*apt-get install python3-torch/,
  );
  assert.ok(!existsSync(out));
  assert.deepEqual(
    readdirSync(root).filter((f) => f.startsWith('.')),
    [],
  );
});

test('a model too large for one .onnx file is refused before anything runs', () => {
  // 50257 × 12288 float32 embeddings alone are 2.3 GiB (6.8 with the block); shapesOnly allocates nothing.
  const big = new Transformer(
    { vocabSize: 50257, blockSize: 8, nLayer: 1, nHead: 1, nEmbd: 12288, plan: 'hsm:ab' },
    { shapesOnly: true },
  );
  assert.throws(
    () => checkOnnxSize(big),
    /weights take \d+\.\d GiB of float32, more than one \.onnx file holds \(2 GiB/,
  );
});

test("a block hsm_torch does not know is refused with the exporter's one line", { skip }, async () => {
  const { model } = buildCase(1);
  const out = join(root, 'unknown-block');
  mkdirSync(out);
  const weights = join(root, 'unknown-block.safetensors');
  writeSafetensors(
    weights,
    model.params.list.map((p) => [p.name!, p] as const),
  );
  const description = modelDescription(model);
  description.blocks[0] = { ...description.blocks[0], mixer: 'mystery' };
  await assert.rejects(runOnnxExporter(findTorchPython('test'), [{ description, weights, out }]), (err: Error) =>
    /^cannot export to ONNX: hsm_torch cannot build this model \(unknown mixer 'mystery'/.test(err.message),
  );
});

// Every test plan: export them all in one exporter process, then compare.
const planDirs = CASES.map((_, i) => join(root, `plan-${i}`));
let exported: Promise<void> | null = null;
function exportPlans(): Promise<void> {
  exported ??= (async () => {
    planDirs.forEach((d) => mkdirSync(d));
    await exportModelGraphs(
      CASES.map((_, i) => buildCase(i).model),
      planDirs,
    );
  })();
  return exported;
}

CASES.forEach(({ name, config }, i) => {
  test(`ONNX Runtime gives our logits: ${name}${config.plan ? ` (${config.plan})` : ''}`, { skip }, async (t) => {
    await exportPlans();
    const { model, idx } = buildCase(i);
    const ours = model.forward(idx, B, CONTEXT).data;
    const V = model.config.vocabSize;
    // the whole sequence, batch B (traced at batch 2 and 5 tokens: both axes are dynamic)
    const whole = await wholeSequenceLogits(planDirs[i], idx, B, CONTEXT);
    const dWhole = maxAbsDiff(whole, ours);
    assert.ok(dWhole <= TOLERANCE, `model.onnx differs by ${dWhole.toExponential(2)}`);
    // the decoder, token by token, all B sequences in one batch
    const decoder = await OnnxDecoder.open(planDirs[i]);
    const state = decoder.newState(B);
    const first = stateShapes(state);
    const pureHsm = !model.positions && model.mixers.every((m) => m.reach !== 'all');
    let dStep = 0;
    for (let pos = 0; pos < CONTEXT; pos++) {
      const logits = await decoder.step(
        Array.from({ length: B }, (_, b) => idx[b * CONTEXT + pos]),
        state,
      );
      for (let b = 0; b < B; b++)
        for (let v = 0; v < V; v++)
          dStep = Math.max(dStep, Math.abs(logits[b * V + v] - ours[(b * CONTEXT + pos) * V + v]));
      if (pureHsm) assert.deepEqual(stateShapes(state), first, `the state changed shape at position ${pos}`);
    }
    await decoder.release();
    assert.ok(dStep <= TOLERANCE, `decoder.onnx differs by ${dStep.toExponential(2)}`);
    t.diagnostic(
      `max |ONNX − ours|: model.onnx ${dWhole.toExponential(2)}, decoder.onnx ${dStep.toExponential(2)}; ` +
        `state ${decoder.stateBytes(state)} bytes at position ${CONTEXT}${pureHsm ? ' (as at position 0)' : ''}`,
    );
  });
});

// Trained run folders exported by the CLI: a GPT (char), a pure HSM model (byte) and a hybrid (gpt2).
const FIXTURES = {
  gpt: { plan: 'attn*2', tokenizer: 'char', prompt: 'ROMEO:\nWhat ' },
  hsm: { plan: 'hsm:conv[k=3,proj],hsm:pair,hsm:gated,hsm:ab[proj]', tokenizer: 'byte', prompt: 'Citizen: café ' },
  hybrid: { plan: 'hsm:channel[proj],attn,hsm:linear', tokenizer: 'gpt2', prompt: 'First Citizen:\nWe are' },
} as const;
type FixtureName = keyof typeof FIXTURES;
const runs = {} as Record<FixtureName, string>;

before(async () => {
  if (skip) return;
  const text = readFileSync(SHAKESPEARE, 'utf8').slice(0, 20_000) + ' café ✓';
  for (const [name, f] of Object.entries(FIXTURES)) {
    const out = join(root, `run-${name}`);
    const cfg = parseTrainConfig({
      out,
      tokenizer: f.tokenizer,
      maxIters: 40,
      evalInterval: 40,
      evalIters: 1,
      batchSize: 4,
      lr: 3e-3,
      // the context holds the prompt and 100 tokens, so hsm generate never slides a GPT's window
      model: {
        plan: f.plan,
        nHead: 2,
        nEmbd: 32,
        blockSize: 128,
        ...(name === 'hsm' ? { schedule: 'pow2-heads' } : {}),
      },
    });
    await train(cfg, { corpus: { name: 'shakespeare-slice', text, source: 'memory' } });
    runs[name as FixtureName] = out;
  }
});

/** `hsm export --onnx` of a fixture, as a user runs it. */
function exportRun(name: FixtureName): string {
  const out = join(root, `onnx-${name}`);
  const r = hsm(['export', '--onnx', out, '--ckpt', runs[name]]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /decoder\.onnx carries \d+ state tensors/);
  return out;
}

/** Starts an export and sends `signal` once its temporary folder exists (the exporter is then at work). */
async function interruptedExport(name: FixtureName, out: string, signal: NodeJS.Signals): Promise<number | null> {
  const child = spawn(process.execPath, [CLI, 'export', '--onnx', out, '--ckpt', runs[name]], { stdio: 'ignore' });
  const staging = join(root, `.${out.split('/').pop()}.onnx-export-${child.pid}`);
  const deadline = Date.now() + 60_000;
  while (!existsSync(staging) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(existsSync(staging), 'the export never made its temporary folder');
  child.kill(signal);
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

async function checkGreedy(name: FixtureName, out: string, t: { diagnostic(s: string): void }) {
  const { model, tokenizer } = loadModel(runs[name]);
  const f = FIXTURES[name];
  // the folder's tokenizer is the run's
  const exportedTokenizer = tokenizerFromSpec(JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')));
  const prompt = exportedTokenizer.encode(f.prompt);
  assert.deepEqual(prompt, tokenizer.encode(f.prompt));
  assert.equal(existsSync(join(out, GPT2_RANKS_FILE)), f.tokenizer === 'gpt2');

  // whole-sequence logits over a stretch of text
  const T = 64;
  const idx = tokenizer.encode(readFileSync(SHAKESPEARE, 'utf8').slice(0, 400)).slice(0, T);
  const d = maxAbsDiff(await wholeSequenceLogits(out, idx, 1, T), model.forward(idx, 1, T).data);
  assert.ok(d <= TOLERANCE, `model.onnx differs by ${d.toExponential(2)}`);

  // 100 greedy tokens from decoder.onnx fed its own state: the prompt token by token, then each argmax
  const decoder = await OnnxDecoder.open(out);
  const state = decoder.newState(1);
  const first = stateShapes(state),
    bytesAtStart = decoder.stateBytes(state);
  const ids: number[] = Array.from(prompt);
  let margin = Infinity;
  for (let pos = 0; pos < prompt.length + GREEDY_TOKENS - 1; pos++) {
    const logits = await decoder.step([ids[pos]], state);
    if (pos >= prompt.length - 1) {
      const best = argmax(logits);
      for (let v = 0; v < logits.length; v++) if (v !== best) margin = Math.min(margin, logits[best] - logits[v]);
      ids.push(best);
    }
    if (name === 'hsm') assert.deepEqual(stateShapes(state), first, `the state changed shape at position ${pos}`);
  }
  await decoder.release();
  const onnxTokens = ids.slice(prompt.length);
  const ours = [
    ...generateTokens(model, prompt, { maxTokens: GREEDY_TOKENS, temperature: 0, topK: 0, topP: 1, seed: 1 }),
  ];
  assert.deepEqual(onnxTokens, ours);
  const cli = hsm([
    'generate',
    '--ckpt',
    runs[name],
    '--prompt',
    f.prompt,
    '--max-tokens',
    '100',
    '--temperature',
    '0',
  ]);
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout, f.prompt + tokenizer.decode(onnxTokens) + '\n');
  const bytesAtEnd = decoder.stateBytes(state);
  if (name === 'hsm') assert.equal(bytesAtEnd, bytesAtStart);
  else assert.ok(bytesAtEnd > bytesAtStart, 'a KV cache grows with the position');
  t.diagnostic(
    `model.onnx ${d.toExponential(2)} from ours; 100 greedy tokens equal, smallest top-1 margin ${margin.toExponential(2)}; ` +
      `state ${bytesAtStart} → ${bytesAtEnd} bytes over ${ids.length - 1} positions`,
  );
  return { onnxTokens, prompt };
}

test(
  'GPT (char): a signal during the export leaves no folder; the export runs greedy like hsm generate',
  { skip },
  async (t) => {
    const out = join(root, 'onnx-gpt');
    assert.equal(await interruptedExport('gpt', out, 'SIGTERM'), 143);
    assert.ok(!existsSync(out), 'a stopped export left its folder');
    assert.deepEqual(
      readdirSync(root).filter((f) => f.includes('.onnx-export-')),
      [],
      'a stopped export left its temporary folder',
    );
    await checkGreedy('gpt', exportRun('gpt'), t);
  },
);

test(
  'HSM (byte, pow2-heads): constant state; killed mid-export leaves no folder, and the next export clears up',
  { skip },
  async (t) => {
    const out = join(root, 'onnx-hsm');
    await interruptedExport('hsm', out, 'SIGKILL');
    assert.ok(!existsSync(out), 'a killed export left a folder in place');
    exportRun('hsm');
    assert.deepEqual(
      readdirSync(root).filter((f) => f.includes('.onnx-export-')),
      [],
      "the killed export's temporary folder is still there",
    );
    await checkGreedy('hsm', out, t);
  },
);

test(
  "hybrid (gpt2): greedy like hsm generate; the README's example runs; --overwrite replaces the export",
  { skip },
  async (t) => {
    const out = exportRun('hybrid');
    const { onnxTokens, prompt } = await checkGreedy('hybrid', out, t);
    // The README's code block, run as a user would (greedy.mjs beside the graphs), gives the same first 20 tokens.
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    assert.ok(readme.includes(GREEDY_EXAMPLE), 'the README holds the example');
    writeFileSync(join(out, 'greedy.mjs'), GREEDY_EXAMPLE);
    mkdirSync(join(out, 'node_modules'));
    for (const pkg of ['onnxruntime-node', 'onnxruntime-common'])
      symlinkSync(join(projectRoot(), 'node_modules', pkg), join(out, 'node_modules', pkg));
    const example = spawnSync(process.execPath, ['greedy.mjs', JSON.stringify(Array.from(prompt))], {
      cwd: out,
      encoding: 'utf8',
    });
    assert.equal(example.status, 0, example.stderr);
    assert.deepEqual(JSON.parse(example.stdout), onnxTokens.slice(0, 20));
    // an earlier export is replaced with --overwrite, and only with it
    assertUserError(hsm(['export', '--onnx', out, '--ckpt', runs.hybrid]), /not empty/);
    const again = hsm(['export', '--onnx', out, '--ckpt', runs.hybrid, '--overwrite']);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(!existsSync(join(out, 'greedy.mjs')), 'the old folder is gone');
    assert.ok(existsSync(join(out, 'decoder.onnx')));
  },
);

test('hsm bench onnx: the exported decoder and ours, side by side in one run', { skip }, async () => {
  const records: Record<string, unknown>[] = [];
  await benchOnnxDecode({
    plans: ['hsm:conv[k=3]*2'],
    positions: [4, 40],
    nEmbd: 32,
    vocabSize: 17,
    batches: [1, 3],
    window: 8,
    emit: (r) => records.push(r),
  });
  assert.deepEqual(
    records.map((r) => r.engine),
    ['hsm-native', 'onnxruntime-node'],
  );
  for (const r of records) {
    for (const v of [
      ...Object.values(r.tokens_per_s as object),
      ...Object.values(r.batch_tokens_per_s as object),
    ] as number[])
      assert.ok(v > 0 && Number.isFinite(v), JSON.stringify(r));
  }
  // a pure HSM model's state: the same bytes at both positions, and as many as ours (ring buffers of 2 and 4 rows, C=32)
  assert.deepEqual(records[1].state_bytes, { 4: 768, 40: 768 });
  assert.equal(records[0].state_bytes, 768);
});
