// The fused MLP op against the ops it fuses (linear → gelu → linear), on the default backend in float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape } from '../src/autograd/tape.js';
import { kernels } from '../src/backend/index.js';
import { gelu, linear, mlp } from '../src/ops/index.js';
import { PACKED_MIN_ROWS, PackedWeights, packedWeight } from '../src/ops/packed-weights.js';
import { Rng } from '../src/tensor/random.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { randomTensor, relError } from './numeric.js';

const rng = new Rng(5);
const r = (...shape: number[]) => randomTensor(rng, shape, 'float32');

/** Output and the gradients of every input that requires one, after backward from a random seed. */
function run(f: (t: Tensor[]) => Tensor, inputs: Tensor[], needs: boolean[]): Float32Array[] {
  inputs.forEach((t, i) => {
    t.requiresGrad = needs[i];
    t.grad = null;
  });
  const tape = new Tape();
  const out = tape.record(() => f(inputs));
  const seed = new Float32Array(out.size);
  new Rng(9).fillNormal(seed);
  tape.backward(out, seed);
  const result = [
    Float32Array.from(out.data),
    ...inputs.filter((t) => t.requiresGrad).map((t) => Float32Array.from(t.grad!)),
  ];
  tape.release();
  return result;
}

test('mlp equals linear → gelu → linear: output and gradients, with any subset of inputs trainable', () => {
  const inputs = [r(3, 37, 24), r(96, 24), r(96), r(24, 96), r(24)];
  const fused = ([x, w1, b1, w2, b2]: Tensor[]) => mlp(x, w1, b1, w2, b2);
  const composed = ([x, w1, b1, w2, b2]: Tensor[]) => linear(gelu(linear(x, w1, b1)), w2, b2);
  for (const needs of [
    [true, true, true, true, true],
    [true, false, false, false, false],
    [false, true, true, false, false],
    [false, false, false, true, true],
  ]) {
    const a = run(fused, inputs, needs),
      b = run(composed, inputs, needs);
    assert.equal(a.length, b.length);
    a.forEach((v, i) =>
      assert.ok(
        relError(v, b[i]) < 1e-5,
        `trainable ${needs}: output/gradient ${i} differs by ${relError(v, b[i]).toExponential(2)}`,
      ),
    );
  }
});

test('mlp rejects shapes that do not fit', () => {
  assert.throws(() => mlp(r(2, 5), r(7, 4), r(7), r(5, 7), r(5)), /mlp: shapes do not fit/);
});

test('with packed weights, mlp reads both of its weights packed from PACKED_MIN_ROWS rows on (natively), and gives the same bits', () => {
  const C = 8,
    F = 4 * C;
  const [wFc, bFc, wProj, bProj] = [r(F, C), r(F), r(C, F), r(C)];
  for (const rows of [PACKED_MIN_ROWS, 15, 16]) {
    const x = r(rows, C);
    const weights = new PackedWeights();
    const packed = weights.run(() => mlp(x, wFc, bFc, wProj, bProj));
    assert.deepEqual(packed.data, mlp(x, wFc, bFc, wProj, bProj).data, `${rows} rows`);
    // Both weights packed: the second one's input is F wide, but the product still has `rows` rows.
    const native = kernels().name === 'native';
    assert.equal(weights.bytes >= 2 * C * F * 4, native, `${rows} rows: ${weights.bytes} bytes packed`);
    weights.run(() => {
      assert.equal(packedWeight(wProj, x, false) !== undefined, native, `${rows} rows: c_proj`);
      assert.equal(packedWeight(wFc, x, false) !== undefined, native, `${rows} rows: c_fc`);
    });
  }
  const few = r(PACKED_MIN_ROWS - 1, C);
  new PackedWeights().run(() => assert.equal(packedWeight(wProj, few, false), undefined, 'fewer rows stay unpacked'));
});
