// Each HSM mixer on its own (src/model/mixers): float64 finite-difference
// gradients for its input and every parameter, and the fused shift-mix kernels
// against the composed ops they replace. Whole models: hsm.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape } from '../src/autograd/tape.js';
import { MIXERS } from '../src/model/mixers/registry.js';
import { ParameterStore } from '../src/model/parameters.js';
import { Rng } from '../src/tensor/random.js';
import { hsmMixerVariants } from './mixer-variants.js';
import { gradCheck, randomTensor, relError } from './numeric.js';

/** A single mixer in float64 with its own parameters. */
function mixerAlone(mixer: string, options: Record<string, number | boolean>, shifts: number[], C = 6, nHead = 2) {
  const params = new ParameterStore('float64');
  const m = MIXERS[mixer].create({
    params,
    prefix: 'm',
    rng: new Rng(3),
    nEmbd: C,
    nHead,
    nLayer: 2,
    blockSize: 16,
    shifts,
    options,
  });
  // Perturb every parameter so that no gradient path is hidden by a symmetric initialisation.
  const rng = new Rng(4);
  for (const p of params.list) for (let i = 0; i < p.size; i++) p.data[i] += 0.3 * rng.normal();
  return { m, params };
}

for (const { mixer, options } of hsmMixerVariants()) {
  for (const shifts of [[1], [3], [2, 5]]) {
    const tag = `${mixer}${Object.keys(options).length ? JSON.stringify(options) : ''} shifts=${shifts}`;
    test(`grad ${tag}: input and every parameter (float64 finite differences)`, () => {
      const { m, params } = mixerAlone(mixer, options, shifts);
      const x = randomTensor(new Rng(5), [2, 7, 6]);
      const err = gradCheck(([input]) => m.forward(input), [x, ...params.list]);
      assert.ok(err < 1e-6, `${tag}: gradient error ${err.toExponential(2)}`);
    });
  }
}

test('fused shift-mix kernels equal the composed mixers (outputs and gradients)', async () => {
  const { ShiftMixer } = await import('../src/model/mixers/mixer.js');
  for (const mixer of ['ab', 'channel']) {
    for (const shifts of [[1], [4, 1]]) {
      const run = (composed: boolean) => {
        const params = new ParameterStore('float32');
        const m = MIXERS[mixer].create({
          params,
          prefix: 'm',
          rng: new Rng(3),
          nEmbd: 8,
          nHead: 2,
          nLayer: 2,
          blockSize: 16,
          shifts,
          options: {},
        });
        assert.ok(m instanceof ShiftMixer);
        const rng = new Rng(4);
        for (const p of params.list) for (let i = 0; i < p.size; i++) p.data[i] += 0.3 * rng.normal();
        const x = randomTensor(new Rng(5), [3, 11, 8], 'float32');
        x.requiresGrad = true;
        const tape = new Tape();
        const y = tape.record(() => (composed ? m.composedForward(x) : m.forward(x)));
        const seed = new Float32Array(y.size);
        new Rng(6).fillNormal(seed);
        tape.backward(y, seed);
        const result = [
          Float32Array.from(y.data),
          Float32Array.from(x.grad!),
          ...params.list.map((p) => Float32Array.from(p.grad!)),
        ];
        tape.release();
        return result;
      };
      const fused = run(false),
        composed = run(true);
      fused.forEach((f, i) =>
        assert.ok(relError(f, composed[i]) < 1e-5, `${mixer} s=${shifts}: output/gradient ${i} differs`),
      );
    }
  }
});
