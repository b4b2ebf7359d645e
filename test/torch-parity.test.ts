// Our GPT against PyTorch (tools/torch_reference.py): the model is python/hsm_torch's, built from a
// description that script writes itself, and torch computes the gradients and the optimizer steps
// (torch.optim.AdamW, clip_grad_norm_). In the spirit of llm.c's test_gpt2: same weights and batch,
// compare logits, loss, every gradient, and the state after 5 AdamW steps with gradient clipping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape } from '../src/autograd/tape.js';
import { withBackend, type BackendName } from '../src/backend/index.js';
import { readSafetensors, type SafeTensor } from '../src/io/safetensors.js';
import { Transformer } from '../src/model/transformer.js';
import { AdamW } from '../src/optim/adamw.js';
import type { DType } from '../src/tensor/buffer-pool.js';
import { torchFixture } from './helpers.js';

const fixture = readSafetensors(torchFixture('gpt_tiny'));
const meta = JSON.parse(fixture.metadata.config) as {
  model: {
    vocab_size: number;
    block_size: number;
    n_layer: number;
    n_head: number;
    n_embd: number;
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
};
const tensor = (name: string): SafeTensor => {
  const t = fixture.tensors.get(name);
  if (!t) throw new Error(`fixture has no tensor ${name}`);
  return t;
};
const B = meta.batch_size,
  T = meta.seq_len;
const idx = tensor('input.idx').data as Int32Array;
const targets = tensor('input.targets').data as Int32Array;

function loadModel(dtype: DType): Transformer {
  const m = meta.model;
  const model = new Transformer(
    { vocabSize: m.vocab_size, blockSize: m.block_size, nLayer: m.n_layer, nHead: m.n_head, nEmbd: m.n_embd },
    { dtype },
  );
  assert.deepEqual([...model.params.byName.keys()], m.param_names, 'parameter names and order match nanoGPT');
  for (const name of m.param_names) model.params.get(name).data.set(tensor(name).data);
  return model;
}

/** max |ours − ref| / max |ref| */
function relDiff(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let diff = 0,
    mag = 1e-30;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i] - ref[i]));
    mag = Math.max(mag, Math.abs(ref[i]));
  }
  return diff / mag;
}

const cases: { backend: BackendName; dtype: DType; tol: number }[] = [
  { backend: 'native', dtype: 'float32', tol: 1e-4 },
  { backend: 'js', dtype: 'float32', tol: 1e-4 },
  { backend: 'js', dtype: 'float64', tol: 1e-9 },
];

for (const { backend, dtype, tol } of cases) {
  test(`GPT matches PyTorch: forward, loss and every gradient (${backend}, ${dtype})`, () => {
    withBackend(backend, () => {
      const model = loadModel(dtype);
      const tape = new Tape();
      const logits = tape.record(() => model.forward(idx, B, T));
      const loss = tape.record(() => model.loss(idx, targets, B, T));
      assert.ok(
        relDiff(logits.data, tensor('logits').data) < tol,
        `logits differ by ${relDiff(logits.data, tensor('logits').data)}`,
      );
      const refLoss = tensor('loss').data[0];
      assert.ok(Math.abs(loss.item() - refLoss) / refLoss < tol, `loss ${loss.item()} vs ${refLoss}`);
      tape.backward(loss);
      for (const name of meta.model.param_names) {
        const grad = model.params.get(name).grad;
        assert.ok(grad, `no gradient reached ${name}`);
        const err = relDiff(grad, tensor(`grad.${name}`).data);
        assert.ok(err < tol, `gradient of ${name} differs by ${err.toExponential(2)} (tolerance ${tol})`);
      }
      tape.release();
    });
  });

  test(`GPT matches PyTorch after ${meta.optimizer.steps} clipped AdamW steps (${backend}, ${dtype})`, () => {
    withBackend(backend, () => {
      const model = loadModel(dtype);
      const o = meta.optimizer;
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
      const refLosses = tensor('adamw.losses').data,
        refNorms = tensor('adamw.grad_norms').data;
      const tape = new Tape();
      for (let step = 0; step <= o.steps; step++) {
        const loss = tape.record(() => model.loss(idx, targets, B, T));
        assert.ok(
          Math.abs(loss.item() - refLosses[step]) / refLosses[step] < tol,
          `loss before step ${step + 1}: ${loss.item()} vs ${refLosses[step]}`,
        );
        if (step < o.steps) {
          opt.zeroGrad();
          tape.backward(loss);
          const norm = opt.step();
          assert.ok(
            Math.abs(norm - refNorms[step]) / refNorms[step] < tol,
            `grad norm at step ${step + 1}: ${norm} vs ${refNorms[step]}`,
          );
        }
        tape.release();
      }
      for (const name of meta.model.param_names) {
        const err = relDiff(model.params.get(name).data, tensor(`step5.${name}`).data);
        assert.ok(err < tol, `${name} after ${o.steps} steps differs by ${err.toExponential(2)}`);
      }
    });
  });
}
