// The kernel ABI table (src/backend/kernel-abi.ts): its argument checks, and the
// load-time comparison with the kinds the addon deduces from its C++ types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KERNEL_ABI,
  abiArgs,
  abiSignature,
  minLengths,
  verifyKernelSignatures,
  withArgChecks,
  type AbiFunctions,
  type KernelSpec,
} from '../src/backend/kernel-abi.js';
import { loadNativeAddon } from '../src/backend/native.js';
import { nativeMissing } from './toolchains.js';

const addon = loadNativeAddon();
// The addon's own signatures when it is built, else the table's (the drift tests then still run).
const signatures: Record<string, string> =
  addon?.kernelSignatures ??
  Object.fromEntries(Object.entries(KERNEL_ABI).map(([name, spec]) => [name, abiSignature(spec)]));

test('the addon exports the kernels and kinds the table declares', { skip: nativeMissing() }, () => {
  verifyKernelSignatures(addon!.kernelSignatures);
  assert.equal(
    addon!.kernelSignatures.layerNormBackward,
    'f32, f32, f32, f32, f32, f32? out, f32? out, f32? out, int, int -> void',
  );
});

test('a table that drifts from the addon fails the signature check, naming the kernel', () => {
  const table: Record<string, KernelSpec> = { ...KERNEL_ABI };
  table.addForward = {
    ...KERNEL_ABI.addForward,
    args: ['a: f32', 'b: f32 out', 'out: f32 out', 'outer: int', 'inner: int'],
  } as KernelSpec;
  assert.throws(
    () => verifyKernelSignatures(signatures, table),
    /addForward: the native addon takes \(f32, f32, f32 out, int, int -> void\), kernel-abi\.ts declares \(f32, f32 out, f32 out, int, int -> void\)/,
  );

  const { sum: _, ...withoutSum } = KERNEL_ABI;
  assert.throws(
    () => verifyKernelSignatures(signatures, withoutSum),
    /sum: in the native addon but not in src\/backend\/kernel-abi\.ts/,
  );
  assert.throws(
    () => verifyKernelSignatures({ ...signatures, sum: 'f32, int -> void' }),
    /sum: the native addon takes \(f32, int -> void\)/,
  );
  assert.throws(() => verifyKernelSignatures(undefined), /exports no kernelSignatures/);
  assert.doesNotThrow(() => verifyKernelSignatures(signatures));
});

test('checked kernels reject wrong arguments before the implementation runs', () => {
  let calls = 0;
  const impl = Object.fromEntries(
    Object.keys(KERNEL_ABI).map((name) => [name, () => void calls++]),
  ) as unknown as AbiFunctions;
  const k = withArgChecks(impl);
  const f = (n: number): Float32Array => new Float32Array(n);

  k.addForward(f(6), f(3), f(6), 2, 3);
  k.layerNormBackward(f(6), f(3), f(2), f(2), f(6), null, null, f(3), 2, 3);
  assert.equal(calls, 2);

  const rejects = (fn: () => void, error: { name: string; message: RegExp }): void => assert.throws(fn, error);
  rejects(() => k.addForward(f(6), f(2), f(6), 2, 3), {
    name: 'RangeError',
    message: /^native kernel addForward: b has 2 elements, needs 3$/,
  });
  rejects(() => k.attentionForward(f(96), f(32), f(7), 1, 4, 2, 4), {
    name: 'RangeError',
    message: /attentionForward: lse has 7 elements, needs 8/,
  });
  rejects(() => k.layerNormBackward(f(6), f(3), f(2), f(2), f(6), f(5), null, null, 2, 3), {
    name: 'RangeError',
    message: /layerNormBackward: dx has 5 elements/,
  });
  rejects(() => k.addForward(f(6), null as unknown as Float32Array, f(6), 2, 3), {
    name: 'TypeError',
    message: /addForward: b must be a Float32Array, got null/,
  });
  rejects(() => k.addForward(f(6), new Float64Array(3) as unknown as Float32Array, f(6), 2, 3), {
    name: 'TypeError',
    message: /got Float64Array/,
  });
  rejects(() => k.scale(f(4), 2, f(4), 1.5), {
    name: 'RangeError',
    message: /scale: n must be a non-negative integer, got 1.5/,
  });
  rejects(() => k.geluBackward(f(4), f(4), f(4), 4, undefined as unknown as boolean), {
    name: 'TypeError',
    message: /overwrite must be a boolean/,
  });
  rejects(() => k.groupSum(f(12), f(12), 2, 6, 4), {
    name: 'RangeError',
    message: /groupSum: 4 groups do not divide 6 channels/,
  });
  rejects(() => k.matmul(f(4), f(4), f(4), 2, 2, 2, false, false, true, 1, 4, 4, 4, f(2), 0, null), {
    name: 'RangeError',
    message: /bias cannot be combined with accumulate/,
  });
  rejects(() => k.matmul(f(4), f(4), f(4), 2, 2, 2, false, false, false, 1, 4, 4, 4, null, 1, f(3)), {
    name: 'RangeError',
    message: /matmul: aux has 3 elements, needs 4/,
  });
  rejects(() => (k.sum as (x: Float32Array) => number)(f(4)), {
    name: 'TypeError',
    message: /sum: n must be a non-negative integer, got undefined/,
  });
  assert.equal(calls, 2);
});

test('the table tells a glue layer what to copy in and out', () => {
  const args = abiArgs(KERNEL_ABI.layerNormBackward);
  assert.deepEqual(
    args.filter((a) => a.written).map((a) => a.name),
    ['dx', 'dw', 'db'],
  );
  assert.deepEqual(
    args.filter((a) => a.array === null).map((a) => a.name),
    ['n', 'c'],
  );
  assert.ok(args.find((a) => a.name === 'dx')!.nullable);
  const f = (n: number): Float32Array => new Float32Array(n);
  assert.deepEqual(minLengths('attentionDecode', [f(8), f(24), f(24), f(8), 3, 2, 4]), {
    q: 8,
    keys: 24,
    values: 24,
    out: 8,
  });
});
