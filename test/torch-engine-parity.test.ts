// Our engine against python/hsm_torch, the PyTorch definition of our models:
// every mixer (with and without [proj]), a hybrid and pow2-heads head groups
// are built here, described (src/model/describe.ts) and handed with their
// weights to `python3 -m hsm_torch.parity`, which rebuilds them from the
// description alone; logits, loss and every gradient must agree in float32,
// and hsm_torch's own initialisation must have our distributions.
// Needs PyTorch (test/toolchains.ts: skipped without it, a failure where
// HSM_REQUIRE_TORCH=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Tape } from '../src/autograd/tape.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { modelDescription, MODEL_DESCRIPTION_FORMAT } from '../src/model/describe.js';
import { Transformer } from '../src/model/transformer.js';
import { projectRoot } from '../src/project-root.js';
import { tmp } from './helpers.js';
import { torchMissing, torchPython } from './toolchains.js';
import { B, base, buildCase, CASES, CONTEXT, freshModel, V } from './model-cases.js';

interface Ours {
  names: string[];
  logits: Float32Array;
  loss: number;
  grads: Map<string, Float32Array>;
}

function runOurs({ model, idx, targets }: ReturnType<typeof buildCase>): Ours {
  const logits = Float32Array.from(model.forward(idx, B, CONTEXT).data);
  const tape = new Tape();
  const loss = tape.record(() => model.loss(idx, targets, B, CONTEXT));
  tape.backward(loss);
  const grads = new Map<string, Float32Array>();
  for (const p of model.params.list) {
    assert.ok(p.grad, `no gradient reached ${p.name}`);
    grads.set(p.name!, Float32Array.from(p.grad));
  }
  const result = { names: model.params.list.map((p) => p.name!), logits, loss: loss.item(), grads };
  tape.release();
  return result;
}

const skip = torchMissing();
const python = torchPython()!;

/** hsm_torch's logits, loss, gradients and initial weights for every case, from one python process (importing torch takes seconds). */
let torchOutputs: Map<string, { tensors: Map<string, Float32Array> }> | Error | undefined;
function torchOutput(i: number): Map<string, Float32Array> {
  if (torchOutputs === undefined) {
    const dir = tmp('torch-parity');
    try {
      const args: string[] = [];
      CASES.forEach((_, j) => {
        const { model, idx, targets } = buildCase(j);
        const inPath = join(dir, `in-${j}.safetensors`);
        writeSafetensors(
          inPath,
          [
            ...model.params.list.map((p) => [p.name!, p] as const),
            ['input.idx', { shape: [B, CONTEXT], data: idx }] as const,
            ['input.targets', { shape: [B, CONTEXT], data: targets }] as const,
          ],
          { description: JSON.stringify(modelDescription(model)) },
        );
        args.push(inPath, join(dir, `out-${j}.safetensors`));
      });
      const run = spawnSync(python, ['-m', 'hsm_torch.parity', ...args], {
        env: { ...process.env, PYTHONPATH: join(projectRoot(), 'python') },
        encoding: 'utf8',
      });
      if (run.status !== 0) throw new Error(`hsm_torch.parity failed (${run.status ?? run.signal}): ${run.stderr}`);
      torchOutputs = new Map(
        CASES.map((c, j) => {
          const file = readSafetensors(join(dir, `out-${j}.safetensors`));
          return [c.name, { tensors: new Map([...file.tensors].map(([n, t]) => [n, t.data as Float32Array])) }];
        }),
      );
    } catch (err) {
      torchOutputs = err as Error;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (torchOutputs instanceof Error) throw torchOutputs;
  return torchOutputs.get(CASES[i].name)!.tensors;
}

/**
 * The tolerance is relative to each tensor's scale: max |ours − torch| ≤ 1e-4 ·
 * max |torch|, per tensor (logits, loss, each gradient). Both engines are
 * float32 with different summation orders. Measured here: at most 2.4e-5 of
 * the scale, for ab's per-group scalars (one gradient summing B·T·C products
 * that largely cancel; torch's own float32 result is as far from float64), and
 * about 1e-6 for every other tensor; max absolute differences 1–5e-6 with
 * logits of order 5. The erf GELU instead of the tanh one fails every model at
 * 1.0–4.1e-4. The diagnostics print each model's worst relative and absolute error.
 */
const TOLERANCE = 1e-4;

function compare(ours: ArrayLike<number>, ref: ArrayLike<number>, what: string): { abs: number; rel: number } {
  assert.equal(ours.length, ref.length, `${what}: ${ours.length} values, torch has ${ref.length}`);
  let abs = 0,
    scale = 0;
  for (let i = 0; i < ref.length; i++) {
    assert.ok(Number.isFinite(ref[i]) && Number.isFinite(ours[i]), `${what}: non-finite value at ${i}`);
    abs = Math.max(abs, Math.abs(ours[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  assert.ok(scale > 0, `${what} is all zeros in torch: that parameter does not reach the loss there`);
  const rel = abs / scale;
  assert.ok(rel <= TOLERANCE, `${what} differs by ${abs.toExponential(2)} = ${rel.toExponential(2)} of its scale`);
  return { abs, rel };
}

/** Conv taps whose every lag j·s reaches before the start of a CONTEXT-long sequence: their gradient is exactly zero. */
function deadTaps(model: Transformer): Set<string> {
  const dead = new Set<string>();
  model.plan.forEach((block, l) => {
    if (block.mixer !== 'conv') return;
    const k = Number(block.options.k ?? 3),
      s = Math.min(...model.mixers[l].shifts);
    for (let j = 1; j < k; j++) if (j * s >= CONTEXT) dead.add(`h.${l}.mix.w${j}`);
  });
  return dead;
}

/**
 * hsm_torch's initial value of one parameter against ours, by distribution (the
 * generators differ): a constant (ones, zeros) must be the same constant; a
 * random one (every such parameter has 768 or more elements here) must have
 * a standard deviation within 15% of ours (sampling noise: about 2.5% each)
 * and a mean within 5 standard errors of 0.
 */
function checkInit(name: string, ours: ArrayLike<number>, theirs: ArrayLike<number>): void {
  assert.equal(theirs.length, ours.length, `init of ${name}: ${theirs.length} values, ours ${ours.length}`);
  const n = ours.length;
  if (Array.prototype.every.call(ours, (v: number) => v === ours[0])) {
    const same = Array.prototype.every.call(theirs, (v: number) => v === ours[0]);
    assert.ok(same, `init of ${name}: ours is the constant ${ours[0]}, hsm_torch's is not`);
    return;
  }
  const stats = (a: ArrayLike<number>) => {
    let sum = 0,
      sq = 0;
    for (let j = 0; j < n; j++) {
      sum += a[j];
      sq += a[j] * a[j];
    }
    const mean = sum / n;
    return { mean, std: Math.sqrt(sq / n - mean * mean) };
  };
  const o = stats(ours),
    t = stats(theirs);
  assert.ok(n >= 768, `init of ${name}: ${n} elements are too few to compare distributions`);
  const ratio = t.std / o.std;
  assert.ok(
    ratio > 0.85 && ratio < 1.15,
    `init of ${name}: std ${t.std.toExponential(3)}, ours ${o.std.toExponential(3)}`,
  );
  assert.ok(Math.abs(t.mean) < (5 * o.std) / Math.sqrt(n), `init of ${name}: mean ${t.mean.toExponential(3)}`);
}

test('modelDescription resolves the plan, schedule, head groups and widths into plain JSON', () => {
  const model = new Transformer(
    { ...base, nLayer: 3, plan: 'hsm:conv[k=4,proj],attn,hsm:ab', schedule: 'pow2-heads', hsmHeads: 2, dropout: 0.1 },
    { shapesOnly: true },
  );
  const d = modelDescription(model);
  assert.deepEqual(d, {
    format: MODEL_DESCRIPTION_FORMAT,
    vocab_size: V,
    block_size: CONTEXT,
    n_layer: 3,
    n_head: 4,
    n_embd: 32,
    ln_eps: 1e-5,
    dropout: 0.1,
    positions: true, // the plan has attention
    ffn_hidden: 128,
    norm: 'layernorm', // GPT-2's block style by default
    ffn: 'gelu',
    bias: true,
    rotary: false,
    rotary_base: 10_000,
    blocks: [
      { mixer: 'conv', options: { k: 4, proj: true }, shifts: [1, 2] }, // HSM layer 0: 2^0, 2^1
      { mixer: 'attn', options: {}, shifts: [] },
      { mixer: 'ab', options: {}, shifts: [4, 8] }, // HSM layer 1: 2^2, 2^3 (attention does not count)
    ],
  });
  assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
  const pure = modelDescription(new Transformer({ ...base, plan: 'hsm:ab*4', ffnHidden: 50 }, { shapesOnly: true }));
  assert.equal(pure.positions, false);
  assert.equal(pure.ffn_hidden, 50);
  assert.deepEqual(
    pure.blocks.map((b) => b.shifts),
    [[1], [2], [4], [8]],
  );
  const tpp = modelDescription(new Transformer({ ...base, style: 'transformer++' }, { shapesOnly: true }));
  assert.deepEqual(
    [tpp.norm, tpp.ffn, tpp.bias, tpp.rotary, tpp.positions, tpp.ffn_hidden],
    ['rmsnorm', 'swiglu', false, true, false, 85],
  );
});

CASES.forEach(({ name, config }, i) => {
  test(`hsm_torch matches the engine: ${name}${config.plan ? ` (${config.plan})` : ''}`, { skip }, (t) => {
    const built = buildCase(i);
    const ours = runOurs(built);
    const ref = torchOutput(i);
    const get = (key: string): Float32Array => {
      const v = ref.get(key);
      assert.ok(v, `hsm_torch wrote no ${key}`);
      return v;
    };
    // torch's parameters are exactly ours: every grad.<name> and nothing else
    assert.deepEqual(
      [...ref.keys()].filter((k) => k.startsWith('grad.')),
      ours.names.map((n) => `grad.${n}`),
    );
    let worst = { abs: 0, rel: 0, what: '' };
    const track = (r: { abs: number; rel: number }, what: string) => {
      if (r.rel >= worst.rel) worst = { ...r, what };
    };
    let maxAbs = 0;
    const check = (o: ArrayLike<number>, r: ArrayLike<number>, what: string) => {
      const res = compare(o, r, what);
      maxAbs = Math.max(maxAbs, res.abs);
      track(res, what);
    };
    check(ours.logits, get('logits'), 'logits');
    check([ours.loss], get('loss'), 'loss');
    const dead = deadTaps(built.model);
    // k = 7 at T = 24: w6 of layer 2 (lag 6·4) and w3…w6 of layer 3 (lags 3·8…6·8)
    assert.equal(dead.size, name.startsWith('conv[k=7') ? 5 : 0, 'the conv taps that read only zeros');
    for (const n of ours.names) {
      if (dead.has(n)) {
        // both engines must see that this tap reads only the zeros before the start
        assert.ok(ours.grads.get(n)!.every((g) => g === 0) && get(`grad.${n}`).every((g) => g === 0), n);
      } else check(ours.grads.get(n)!, get(`grad.${n}`), `gradient of ${n}`);
    }
    // and hsm_torch's own initialisation has our distributions
    for (const p of freshModel(i).params.list) checkInit(p.name!, p.data, get(`init.${p.name}`));
    t.diagnostic(
      `max abs difference ${maxAbs.toExponential(2)}; worst relative ${worst.rel.toExponential(2)} (${worst.what})`,
    );
  });
});
