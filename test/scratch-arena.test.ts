// Inference's scratch arena: temporaries come back to the pool after each run,
// a repeated step allocates nothing, a changing batch size shares power-of-two
// buffers, and what is kept stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../src/tensor/buffer-pool.js';
import { ScratchArena } from '../src/tensor/scratch-arena.js';
import { Tensor } from '../src/tensor/tensor.js';
import { add } from '../src/ops/index.js';
import { Transformer } from '../src/model/transformer.js';

test('a rounding pool hands out views of power-of-two buffers and takes them back whole', () => {
  const pool = new BufferPool(true);
  const a = pool.acquire('float32', 5, true);
  assert.equal(a.length, 5);
  assert.equal(a.buffer.byteLength, 8 * 4, 'capacity 8');
  a.fill(7);
  pool.release(a);
  assert.equal(pool.heldBytes, 32);
  const b = pool.acquire('float32', 6, true);
  assert.equal(pool.allocations, 1, 'length 6 reuses the capacity-8 buffer');
  assert.deepEqual([...b], [0, 0, 0, 0, 0, 0], 'zeroed on request');
  const exact = new BufferPool();
  exact.release(exact.acquire('float64', 5, false));
  exact.acquire('float64', 6, false);
  assert.equal(exact.allocations, 2, 'an exact pool keys by length');
});

test('arena: temporaries are released after run(), a repeated run allocates nothing, the result must be copied out', () => {
  const arena = new ScratchArena();
  const x = Tensor.from([1, 2, 3], [3]);
  let inside!: Tensor;
  const out = arena.run(() => {
    inside = add(add(x, x), x);
    return Float32Array.from(inside.data);
  });
  assert.deepEqual([...out], [3, 6, 9]);
  assert.equal(inside.data.length, 0, 'a temporary used after run() is empty');
  const before = arena.pool.allocations;
  for (let i = 0; i < 5; i++) arena.run(() => Float32Array.from(add(add(x, x), x).data));
  assert.equal(arena.pool.allocations, before, 'steady state: no new buffers');
  // Outside run(), tensors own their buffers as before.
  assert.equal(add(x, x).data.length, 3);
});

test('arena: shapes unused for keepRuns runs are dropped, and what is kept is at most twice the largest recent run', () => {
  const arena = new ScratchArena(4);
  const big = Tensor.zeros([1 << 16]);
  arena.run(() => add(big, big).size); // 256 kB, the peak
  for (let i = 0; i < 3; i++) arena.run(() => add(Tensor.zeros([4]), Tensor.zeros([4])).size);
  assert.ok(arena.pool.heldBytes >= 1 << 18, 'the big buffer is still kept');
  for (let i = 0; i < 4; i++) arena.run(() => add(Tensor.zeros([4]), Tensor.zeros([4])).size);
  assert.ok(arena.pool.heldBytes < 1024, `dropped after keepRuns runs unused: ${arena.pool.heldBytes} bytes kept`);
});

test('decoding through the arena: decodeBatch and prefill give the same logits run after run, with batch sizes changing', () => {
  const model = new Transformer(
    { vocabSize: 32, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 16, plan: 'hsm:pair,attn' },
    { seed: 3 },
  );
  const prompt = Int32Array.from([1, 5, 9, 2]);
  const reference = (steps: number[]) => {
    const s = model.newState();
    const rows = [model.prefill(prompt, s)];
    for (const t of steps) rows.push(model.decodeStep(t, s));
    return rows;
  };
  const want = reference([3, 4, 5]);
  // The same sequence decoded beside 0, 2 and 5 others: every step's shapes differ from the last.
  const seq = model.newState();
  assert.deepEqual(model.prefill(prompt, seq), want[0]);
  [0, 2, 5].forEach((others, i) => {
    const states = [seq, ...Array.from({ length: others }, () => model.newState())];
    for (const s of states.slice(1)) model.prefill(Int32Array.from([7, 7]), s);
    const logits = model.decodeBatch([3 + i, ...states.slice(1).map(() => 1)], states);
    // Different batch sizes take different matmul paths: equal to float32 rounding, not bit for bit.
    const diff = Math.max(...logits.subarray(0, 32).map((v, j) => Math.abs(v - want[i + 1][j])));
    assert.ok(diff < 1e-5, `step ${i} beside ${others} others: max difference ${diff}`);
  });
});
