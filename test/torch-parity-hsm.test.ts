// HSM and hybrid models against PyTorch (tools/torch_reference.py, with python/hsm_torch's
// models and torch's autograd and AdamW), as test/torch-parity.test.ts does for GPT: same
// weights and batch; compare logits, loss, every gradient, and the state after
// 5 clipped AdamW steps. Fixtures: pure ab / gated / pair plans over shifts
// 1…16, and a hybrid (ab ×3 then attention, with learned positions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape } from '../src/autograd/tape.js';
import { withBackend, type BackendName } from '../src/backend/index.js';
import { readSafetensors, type SafeTensor } from '../src/io/safetensors.js';
import { Transformer } from '../src/model/transformer.js';
import { AdamW } from '../src/optim/adamw.js';
import type { DType } from '../src/tensor/buffer-pool.js';
import { torchFixture } from './helpers.js';

interface FixtureMeta {
  model: {
    vocab_size: number;
    block_size: number;
    n_layer: number;
    n_head: number;
    n_embd: number;
    plan: string;
    positions: boolean;
    hsm_heads: number;
    schedule: 'pow2';
    shifts: number[][];
    param_names: string[];
  };
  batch_size: number;
  seq_len: number;
  optimizer: {
    lr: number;
    betas: [number, number];
    eps: number;
    weight_decay: number;
    max_norm: number;
    steps: number;
    decay_params: string[];
  };
}

function loadFixture(name: string) {
  const file = readSafetensors(torchFixture(name));
  const meta = JSON.parse(file.metadata.config) as FixtureMeta;
  const tensor = (key: string): SafeTensor => {
    const t = file.tensors.get(key);
    if (!t) throw new Error(`${name} has no tensor ${key}`);
    return t;
  };
  return {
    name,
    meta,
    tensor,
    B: meta.batch_size,
    T: meta.seq_len,
    idx: tensor('input.idx').data as Int32Array,
    targets: tensor('input.targets').data as Int32Array,
  };
}
type Fixture = ReturnType<typeof loadFixture>;

function loadModel(f: Fixture, dtype: DType): Transformer {
  const m = f.meta.model;
  const model = new Transformer(
    {
      vocabSize: m.vocab_size,
      blockSize: m.block_size,
      nLayer: m.n_layer,
      nHead: m.n_head,
      nEmbd: m.n_embd,
      plan: m.plan,
    },
    { dtype },
  );
  assert.deepEqual([...model.params.byName.keys()], m.param_names, `${f.name}: parameter names and order`);
  assert.equal(model.positions, m.positions, `${f.name}: learned positions`);
  assert.deepEqual(
    model.mixers.map((mx) => mx.shifts),
    m.shifts,
    `${f.name}: shifts per layer`,
  );
  for (const name of m.param_names) model.params.get(name).data.set(f.tensor(name).data);
  return model;
}

/** max |ours − ref| / max |ref| */
function relDiff(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  assert.equal(ours.length, ref.length);
  let diff = 0,
    mag = 1e-30;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i] - ref[i]));
    mag = Math.max(mag, Math.abs(ref[i]));
  }
  return diff / mag;
}

/** Checks err < tol and tracks the worst error of a test (reported as a diagnostic). */
function tracker(tol: number) {
  let worst = 0,
    where = '';
  return {
    check(err: number, what: string) {
      assert.ok(err < tol, `${what} differs by ${err.toExponential(2)} (tolerance ${tol})`);
      if (err >= worst) {
        worst = err;
        where = what;
      }
    },
    get summary() {
      return `max rel. error ${worst.toExponential(2)} (${where})`;
    },
  };
}

const fixtures = ['hsm_ab', 'hsm_gated', 'hsm_pair', 'hybrid'].map(loadFixture);
const cases: { backend: BackendName; dtype: DType; tol: number }[] = [
  { backend: 'native', dtype: 'float32', tol: 1e-4 },
  { backend: 'js', dtype: 'float64', tol: 1e-9 },
];

for (const f of fixtures) {
  test(`${f.name} (${f.meta.model.plan}): AdamW decay groups are the engine's default (dim ≥ 2)`, () => {
    const model = loadModel(f, 'float32');
    const decayed = model.params.list.filter((p) => p.ndim >= 2).map((p) => p.name);
    assert.deepEqual(decayed, f.meta.optimizer.decay_params);
  });

  for (const { backend, dtype, tol } of cases) {
    test(`${f.name} (${f.meta.model.plan}) matches PyTorch: forward, loss and every gradient (${backend}, ${dtype})`, (t) => {
      withBackend(backend, () => {
        const model = loadModel(f, dtype);
        const errors = tracker(tol);
        const tape = new Tape();
        const logits = tape.record(() => model.forward(f.idx, f.B, f.T));
        const loss = tape.record(() => model.loss(f.idx, f.targets, f.B, f.T));
        errors.check(relDiff(logits.data, f.tensor('logits').data), 'logits');
        const refLoss = f.tensor('loss').data[0];
        errors.check(Math.abs(loss.item() - refLoss) / refLoss, 'loss');
        tape.backward(loss);
        for (const name of f.meta.model.param_names) {
          const grad = model.params.get(name).grad;
          assert.ok(grad, `no gradient reached ${name}`);
          errors.check(relDiff(grad, f.tensor(`grad.${name}`).data), `gradient of ${name}`);
        }
        tape.release();
        t.diagnostic(errors.summary);
      });
    });

    test(`${f.name} (${f.meta.model.plan}) matches PyTorch after ${f.meta.optimizer.steps} clipped AdamW steps (${backend}, ${dtype})`, (t) => {
      withBackend(backend, () => {
        const model = loadModel(f, dtype);
        const o = f.meta.optimizer;
        const decay = new Set(o.decay_params);
        const opt = new AdamW(model.params.list, {
          lr: o.lr,
          beta1: o.betas[0],
          beta2: o.betas[1],
          eps: o.eps,
          weightDecay: o.weight_decay,
          gradClip: o.max_norm,
          decays: (p) => decay.has(p.name!),
        });
        const refLosses = f.tensor('adamw.losses').data,
          refNorms = f.tensor('adamw.grad_norms').data;
        const errors = tracker(tol);
        const tape = new Tape();
        for (let step = 0; step <= o.steps; step++) {
          const loss = tape.record(() => model.loss(f.idx, f.targets, f.B, f.T));
          errors.check(Math.abs(loss.item() - refLosses[step]) / refLosses[step], `loss before step ${step + 1}`);
          if (step < o.steps) {
            opt.zeroGrad();
            tape.backward(loss);
            const norm = opt.step();
            errors.check(Math.abs(norm - refNorms[step]) / refNorms[step], `grad norm at step ${step + 1}`);
          }
          tape.release();
        }
        for (const name of f.meta.model.param_names) {
          errors.check(
            relDiff(model.params.get(name).data, f.tensor(`step${o.steps}.${name}`).data),
            `${name} after ${o.steps} steps`,
          );
        }
        t.diagnostic(errors.summary);
      });
    });
  }
}
