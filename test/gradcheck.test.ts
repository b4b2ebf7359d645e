// Float64 finite-difference gradient checks for every differentiable op.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  add,
  causalAttention,
  crossEntropy,
  embedding,
  gelu,
  layerNorm,
  linear,
  matmul,
  mul,
  rows,
  scale,
  shift,
  sigmoid,
  softmax,
  sub,
  sum,
  groupSum,
  groupExpand,
  columns,
  mlp,
  rmsNorm,
  rotary,
  rotaryTables,
  swiglu,
} from '../src/ops/index.js';
import { Rng } from '../src/tensor/random.js';
import { dropout } from '../src/ops/dropout.js';
import { shiftMix } from '../src/ops/shift-mix.js';
import { gradCheck, randomInts, randomTensor } from './numeric.js';

const TOL = 1e-6;
const rng = new Rng(42);
const r = (...shape: number[]) => randomTensor(rng, shape);

function check(name: string, f: Parameters<typeof gradCheck>[0], inputs: ReturnType<typeof r>[]): void {
  test(`grad ${name}`, () => {
    const err = gradCheck(f, inputs);
    assert.ok(err < TOL, `${name}: relative gradient error ${err.toExponential(2)} exceeds ${TOL}`);
  });
}

check('add same shape', ([a, b]) => add(a, b), [r(3, 5), r(3, 5)]);
check('add broadcast bias', ([a, b]) => add(a, b), [r(2, 3, 5), r(5)]);
check('add broadcast rows', ([a, b]) => add(a, b), [r(2, 3, 5), r(3, 5)]);
check('mul same shape', ([a, b]) => mul(a, b), [r(4, 3), r(4, 3)]);
check('mul broadcast', ([a, b]) => mul(a, b), [r(2, 4, 3), r(3)]);
check('mul scalar tensor', ([a, b]) => mul(a, b), [r(2, 4, 3), r(1)]);
check('sub', ([a, b]) => sub(a, b), [r(3, 5), r(3, 5)]);
check('groupSum', ([x]) => groupSum(x, 3), [r(2, 4, 6)]);
check('groupExpand', ([x]) => groupExpand(x, 6), [r(2, 4, 3)]);
check('scale', ([a]) => scale(a, -0.7), [r(3, 4)]);
check('gelu', ([a]) => gelu(a), [randomTensor(rng, [40], 'float64', 3)]);
check('sigmoid', ([a]) => sigmoid(a), [randomTensor(rng, [40], 'float64', 3)]);
check('sum', ([a]) => sum(a), [r(3, 7)]);

for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    const tag = `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`;
    const aShape = transA ? [5, 3] : [3, 5],
      bShape = transB ? [4, 5] : [5, 4];
    check(`matmul ${tag}`, ([a, b]) => matmul(a, b, { transA, transB }), [r(...aShape), r(...bShape)]);
    check(`matmul batched ${tag}`, ([a, b]) => matmul(a, b, { transA, transB }), [r(2, ...aShape), r(2, ...bShape)]);
    check(`matmul shared-B ${tag}`, ([a, b]) => matmul(a, b, { transA, transB }), [r(3, ...aShape), r(...bShape)]);
  }
}
check('linear with bias', ([x, w, b]) => linear(x, w, b), [r(2, 3, 5), r(4, 5), r(4)]);
check('linear without bias', ([x, w]) => linear(x, w), [r(6, 5), r(3, 5)]);
check('mlp (fused c_fc → GELU → c_proj)', ([x, w1, b1, w2, b2]) => mlp(x, w1, b1, w2, b2), [
  r(2, 3, 5),
  r(7, 5),
  r(7),
  r(5, 7),
  r(5),
]);
check(
  'mlp on a temporary input (fresh input gradient buffer)',
  ([x, w1, b1, w2, b2]) => add(x, mlp(gelu(x), w1, b1, w2, b2)),
  [r(4, 5), r(6, 5), r(6), r(5, 6), r(5)],
);
check(
  'mlp input used twice (accumulated input gradient)',
  ([x, w1, b1, w2, b2]) => add(mlp(x, w1, b1, w2, b2), mlp(x, w1, b1, w2, b2)),
  [r(4, 5), r(6, 5), r(6), r(5, 6), r(5)],
);
check('layerNorm', ([x, w, b]) => layerNorm(x, w, b), [r(2, 3, 7), r(7), r(7)]);
check('layerNorm without bias', ([x, w]) => layerNorm(x, w, null), [r(2, 3, 7), r(7)]);
check('rmsNorm', ([x, w]) => rmsNorm(x, w), [r(2, 3, 7), r(7)]);
check('swiglu', ([h]) => swiglu(h), [randomTensor(rng, [3, 2, 10], 'float64', 3)]);
check('mlp without biases', ([x, w1, w2]) => mlp(x, w1, null, w2, null), [r(2, 3, 5), r(7, 5), r(5, 7)]);
{
  // Two heads of 4 turned in the first 8 of 12 columns (a qkv row's q and k; v passes), rows at mixed positions.
  const tables = rotaryTables(9, 4, 10_000, 'float64');
  const positions = Int32Array.of(0, 3, 8, 1, 5, 2);
  check('rotary', ([x]) => rotary(x, 8, positions, tables), [r(2, 3, 12)]);
}
check('softmax', ([x]) => softmax(x), [randomTensor(rng, [4, 9], 'float64', 2)]);
for (const [B, T, H, Dh] of [
  [1, 1, 1, 1],
  [2, 5, 2, 3],
  [1, 9, 3, 4],
]) {
  check(`causalAttention B${B} T${T} H${H} Dh${Dh}`, ([qkv]) => causalAttention(qkv, H), [r(B, T, 3 * H * Dh)]);
}
{
  const targets = randomInts(rng, 6, 7);
  targets[2] = -1; // an ignored row must get no gradient and not count in the mean
  check('crossEntropy (with an ignored row)', ([x]) => crossEntropy(x, targets), [
    randomTensor(rng, [2, 3, 7], 'float64', 2),
  ]);
}
{
  const idx = Int32Array.from([2, 0, 2, 4, 1, 2]); // repeated rows test the scatter-add
  check('embedding', ([w]) => embedding(w, idx, [2, 3]), [r(5, 4)]);
}
check('rows', ([x]) => rows(x, 1, 3), [r(6, 4)]);
check('columns', ([x]) => columns(x, 2, 3), [r(2, 3, 6)]);
for (const s of [0, 1, 3, 7, 9]) check(`shift s=${s}`, ([x]) => shift(x, s), [r(2, 7, 3)]);
check('shiftMix', ([x, a, w]) => shiftMix(x, a, w, [1]), [r(2, 5, 4), r(4), r(4)]);
check('shiftMix per head group', ([x, a, w]) => shiftMix(x, a, w, [2, 0, 7]), [r(2, 6, 6), r(6), r(6)]);
check('shift per head group', ([x]) => shift(x, [1, 4, 2]), [r(2, 7, 6)]);
check('reshape view shares gradients', ([x, w]) => linear(x.reshape([6, 4]), w), [r(2, 3, 4), r(5, 4)]);
check('composition reuses an input', ([x]) => mul(gelu(x), add(x, x)), [r(3, 4)]);
check('dropout (fixed mask per call)', ([x]) => dropout(x, 0.3, new Rng(9)), [r(4, 6)]);
// Intermediates exercise the fresh-buffer paths: linear writes a new gradient,
// GELU overwrites one, a residual add hands its buffer on and a later use adds to it.
check('fresh gradient buffers: gelu(linear)', ([x, w]) => gelu(linear(gelu(linear(x, w)), w)), [r(2, 3, 4), r(4, 4)]);
check(
  'adopted residual gradient gets a second contribution',
  ([x, w]) => {
    const h = linear(x, w);
    return add(h, gelu(h));
  },
  [r(3, 4), r(4, 4)],
);
