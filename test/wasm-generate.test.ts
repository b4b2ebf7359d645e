// Models on the WebAssembly kernels: greedy generation equals the native
// backend's token for token (GPT, HSM, hybrid), and a training step's loss and
// gradients equal the js reference's; weights pinned in the module's memory change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wasmBackend, withBackend } from '../src/backend/index.js';
import { Tape } from '../src/autograd/tape.js';
import { generateTokens } from '../src/generate/generate.js';
import { loadModel } from '../src/train/checkpoint.js';
import { Transformer } from '../src/model/transformer.js';
import { AdamW } from '../src/optim/adamw.js';
import { Rng } from '../src/tensor/random.js';
import { trainServeFixtures } from './serve-fixtures.js';
import { relError } from './numeric.js';
import { firstMissing, nativeMissing, wasmMissing } from './toolchains.js';

const noWasm = wasmMissing();
const skip = firstMissing(noWasm, nativeMissing());

test('greedy generation on wasm equals native token for token (GPT, HSM, hybrid)', { skip }, async () => {
  const dirs = await trainServeFixtures(['gpt', 'hsm', 'hybrid']);
  for (const [name, dir] of Object.entries(dirs)) {
    const { model, tokenizer } = loadModel(dir);
    const prompt = tokenizer.encode('ROMEO:\nWhat ');
    const opts = { maxTokens: 100, temperature: 0, topK: 0, topP: 1, seed: 1 };
    const native = withBackend('native', () => [...generateTokens(model, prompt, opts)]);
    const wasm = withBackend('wasm', () => [...generateTokens(model, prompt, opts)]);
    assert.equal(wasm.length, 100);
    assert.deepEqual(wasm, native, `${name}: wasm and native greedy tokens differ`);
    // With the weights pinned in the module's memory (as the browser worker keeps them): the same tokens.
    const weights = model.params.list.map((p) => p.data as Float32Array);
    wasmBackend()!.pin(weights);
    try {
      const pinned = withBackend('wasm', () => [...generateTokens(model, prompt, opts)]);
      assert.deepEqual(pinned, native, `${name}: greedy tokens with pinned weights differ`);
    } finally {
      wasmBackend()!.unpin(weights);
    }
  }
});

test('a training step on wasm equals js: loss and every gradient', { skip: noWasm }, () => {
  for (const plan of ['attn*2', 'hsm:ab[proj]*2', 'hsm:gated,attn']) {
    const model = new Transformer({ vocabSize: 23, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, plan });
    const rng = new Rng(3);
    const B = 3,
      T = 16;
    const x = Int32Array.from({ length: B * T }, () => rng.int(23));
    const y = Int32Array.from({ length: B * T }, () => rng.int(23));
    const run = (backend: 'js' | 'wasm') =>
      withBackend(backend, () => {
        for (const p of model.params.list) p.grad?.fill(0);
        const tape = new Tape();
        const loss = tape.record(() => model.loss(x, y, B, T));
        const value = loss.item();
        tape.backward(loss);
        const grads = model.params.list.map((p) => Float32Array.from(p.grad!));
        tape.release();
        return { value, grads };
      });
    const js = run('js'),
      wasm = run('wasm');
    // Pinned weights: the same loss and gradients; an AdamW step writes the resident copy and the array alike.
    const weights = model.params.list.map((p) => p.data as Float32Array);
    wasmBackend()!.pin(weights);
    const pinned = run('wasm');
    const optimizer = new AdamW(model.params.list, { lr: 0.01 });
    withBackend('wasm', () => {
      for (const p of model.params.list) p.grad = Float32Array.from(wasm.grads[model.params.list.indexOf(p)]);
      optimizer.step();
    });
    const afterStep = run('wasm');
    wasmBackend()!.unpin(weights);
    const reference = run('wasm');
    assert.equal(pinned.value, wasm.value, `${plan}: pinned weights change the loss`);
    assert.equal(afterStep.value, reference.value, `${plan}: after an AdamW step the resident weights are stale`);
    assert.ok(Math.abs(js.value - wasm.value) < 1e-5, `${plan}: loss ${wasm.value} vs js ${js.value}`);
    model.params.list.forEach((p, i) => {
      const err = relError(wasm.grads[i], js.grads[i], 1e-6);
      assert.ok(err < 1e-4, `${plan}: gradient of ${p.name} differs from js by ${err.toExponential(2)}`);
    });
  }
});
