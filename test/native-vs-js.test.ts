// Every native kernel against the js reference on random inputs, odd sizes included.
// Runs on the ISA this CPU picks; test/native-isa.test.ts reruns it with HSM_ISA=avx2 and generic,
// and test/wasm-vs-js.test.ts with HSM_KERNELS_UNDER_TEST=wasm (the same kernels compiled to WebAssembly).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsKernels, nativeBackend, wasmBackend, type FloatArray, type Kernels } from '../src/backend/index.js';
import { FMA_PEAK_LANES, packedMatmulBLength } from '../src/backend/kernels.js';
import { Rng } from '../src/tensor/random.js';
import { relError } from './numeric.js';
import { nativeMissing, wasmMissing } from './toolchains.js';

const onWasm = process.env.HSM_KERNELS_UNDER_TEST === 'wasm';
const native: Kernels | null = onWasm ? wasmBackend() : nativeBackend();
const skip = onWasm ? wasmMissing() : nativeMissing();

const rng = new Rng(2024);
const SIZES = [1, 3, 17, 65, 257];
const pick = (xs: number[]): number => xs[rng.int(xs.length)];
const rand = (n: number, scale = 1): Float32Array => {
  const a = new Float32Array(n);
  rng.fillNormal(a, scale);
  return a;
};
const ints = (n: number, max: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(max));

/**
 * Runs fn on both backends with copies of the same inputs; compares every output array,
 * relative to its largest magnitude or `floor`, whichever is larger.
 */
function compare(
  label: string,
  inputs: FloatArray[],
  outputs: number[],
  fn: (k: Kernels, arrays: FloatArray[]) => void,
  tol = 1e-5,
  floor?: number,
): void {
  const run = (k: Kernels): FloatArray[] => {
    const arrays = inputs.map((a) => Float32Array.from(a));
    fn(k, arrays);
    return outputs.map((i) => arrays[i]);
  };
  const want = run(jsKernels),
    got = run(native!);
  outputs.forEach((_, j) => {
    const err = relError(got[j], want[j], floor);
    assert.ok(
      err <= tol,
      `${label}: output ${outputs[j]} differs from js by ${err.toExponential(2)} (tolerance ${tol})`,
    );
  });
}

test('native matmul equals js: all transposes, accumulate, batch, odd sizes', { skip }, () => {
  for (let trial = 0; trial < 40; trial++) {
    const m = pick(SIZES),
      k = pick(SIZES),
      n = pick(SIZES);
    const transA = rng.int(2) === 1,
      transB = rng.int(2) === 1,
      accumulate = rng.int(2) === 1;
    const batch = pick([1, 1, 3]);
    const shareB = batch > 1 && rng.int(2) === 1;
    const opts = { transA, transB, accumulate, batch, strideA: m * k, strideB: shareB ? 0 : k * n, strideC: m * n };
    const label = `matmul ${m}x${k}x${n} tA=${transA} tB=${transB} acc=${accumulate} batch=${batch} sharedB=${shareB}`;
    compare(
      label,
      [rand(batch * m * k), rand((shareB ? 1 : batch) * k * n), rand(batch * m * n)],
      [2],
      (K, [a, b, c]) => K.matmul(a, b, c, m, k, n, opts),
      1e-5,
    );
  }
});

test(
  'native matmul with few rows against a transposed B equals js, and a row does not depend on the others',
  { skip },
  () => {
    for (const m of [1, 3, 4, 5, 7, 13, 16])
      for (const k of [1, 7, 8, 129])
        for (const n of [1, 3, 130]) {
          const transA = (m + k + n) % 2 === 1,
            accumulate = n === 3;
          compare(
            `matmul ${m}x${k}x${n} tA=${transA} tB=true acc=${accumulate}`,
            [rand(m * k), rand(k * n), rand(m * n)],
            [2],
            (K, [a, b, c]) => K.matmul(a, b, c, m, k, n, { transA, transB: true, accumulate }),
            1e-5,
          );
        }
    // A few rows against a B larger than L2 (k·n ≥ 256K floats) take both threads however few their multiply-adds.
    for (const m of [1, 3])
      compare(
        `matmul ${m}x768x400 tB=true`,
        [rand(m * 768), rand(768 * 400), rand(m * 400)],
        [2],
        (K, [a, b, c]) => K.matmul(a, b, c, m, 768, 400, { transB: true }),
        1e-5,
      );
    // The output head of a decode batch against a 5,003-row table, split over threads by columns. Natively a
    // row's result does not depend on the other rows, for 1-3 rows (dot tiles) and for 4 or more (the GEMM);
    // the wasm build packs B beyond 3 rows, and its 1-3 rows take plain dot products.
    if (onWasm) return;
    const [k, n] = [128, 5003];
    const a = rand(16 * k),
      b = rand(n * k);
    const product = (first: number, rows: number) => {
      const c = new Float32Array(rows * n);
      native!.matmul(a.subarray(first * k, (first + rows) * k), b, c, rows, k, n, { transB: true });
      return c;
    };
    const sixteen = product(0, 16),
      three = product(4, 3);
    for (const i of [4, 5, 6]) {
      const row = (c: Float32Array, r: number) => c.subarray(r * n, (r + 1) * n);
      assert.deepEqual(row(product(i, 1), 0), row(three, i - 4), `row ${i} alone equals it among 3 rows, bit for bit`);
      assert.deepEqual(row(product(i, 4), 0), row(sixteen, i), `row ${i} among 4 equals it among 16, bit for bit`);
    }
  },
);

test(
  'a weight packed once (packMatmulB) multiplies as matmul does, and a row does not depend on the others',
  { skip },
  () => {
    // k = 300 spans two K blocks; n = 130 ends in a ragged panel; epilogue and bias as the MLP uses them.
    for (const [m, k, n, transB, gelu] of [
      [1, 7, 3, true, false],
      [3, 128, 130, true, true],
      [4, 300, 65, false, false],
      [16, 128, 512, true, true],
      [17, 300, 130, true, false],
      // A decode batch of 40 rows: one row block per thread, B panels taken outermost; 3 K blocks, 2 column slabs.
      [40, 600, 2100, true, true],
    ] as const) {
      const bias = rand(n);
      compare(
        `matmulPackedB ${m}x${k}x${n} tB=${transB} gelu=${gelu}`,
        [rand(m * k), rand(k * n), rand(m * n), rand(m * n)],
        gelu ? [2, 3] : [2],
        (K, [a, b, c, aux]) => {
          const packed = new Float32Array(packedMatmulBLength(k, n));
          K.packMatmulB(b, packed, k, n, transB);
          K.matmulPackedB(a as Float32Array, packed, c as Float32Array, m, k, n, {
            bias,
            ...(gelu ? { epilogue: 'gelu' as const, aux } : {}),
          });
        },
        1e-5,
      );
    }
    // A decode batch's rows: each gets the same bits alone as among 16, and as the unpacked GEMM gives them.
    const [k, n] = [128, 300];
    const a = rand(16 * k),
      b = rand(n * k),
      bias = rand(n);
    const packed = new Float32Array(packedMatmulBLength(k, n));
    native!.packMatmulB(b, packed, k, n, true);
    const all = new Float32Array(16 * n),
      gemm = new Float32Array(16 * n);
    native!.matmulPackedB(a, packed, all, 16, k, n, { bias });
    native!.matmul(a, b, gemm, 16, k, n, { transB: true, bias });
    assert.deepEqual(all, gemm, 'a packed weight gives what the GEMM gives, bit for bit');
    for (const i of [0, 7, 15]) {
      const alone = new Float32Array(n);
      native!.matmulPackedB(a.subarray(i * k, (i + 1) * k), packed, alone, 1, k, n, { bias });
      assert.deepEqual(alone, all.subarray(i * n, (i + 1) * n), `row ${i} alone equals row ${i} of 16, bit for bit`);
    }
  },
);

test('native matmul at training shapes (blocked path)', { skip }, () => {
  for (const [m, k, n, transA, transB] of [
    [512, 256, 768, false, true],
    [256, 512, 192, true, false],
    [300, 129, 520, false, false],
  ] as const) {
    compare(
      `matmul ${m}x${k}x${n}`,
      [rand(m * k), rand(k * n), rand(m * n)],
      [2],
      (K, [a, b, c]) => K.matmul(a, b, c, m, k, n, { transA, transB, accumulate: true }),
      1e-5,
    );
  }
});

test('native matmul with a bias epilogue equals js (skinny, ragged and multi-K-block shapes)', { skip }, () => {
  // 17×257×65 ×3 shares B across items; ×4 (≥ 2·threads) takes the one-item-per-task path; 40×70×1100 spans two column slabs.
  const shapes = [
    [3, 17, 65, 1],
    [65, 17, 3, 1],
    [17, 257, 65, 3],
    [33, 40, 70, 4],
    [300, 129, 520, 1],
    [64, 600, 96, 1],
    [13, 300, 33, 1],
    [40, 70, 1100, 1],
  ] as const;
  for (const [m, k, n, batch] of shapes) {
    for (const [transA, transB] of [
      [false, false],
      [false, true],
      [true, false],
    ] as const) {
      const opts = { transA, transB, batch, strideA: m * k, strideB: batch === 4 ? k * n : 0, strideC: m * n };
      compare(
        `matmul+bias ${m}x${k}x${n} tA=${transA} tB=${transB} batch=${batch}`,
        [rand(batch * m * k), rand((batch === 4 ? batch : 1) * k * n), rand(batch * m * n), rand(n)],
        [2],
        (K, [a, b, c, bias]) => K.matmul(a, b, c, m, k, n, { ...opts, bias }),
        1e-5,
      );
    }
  }
  assert.throws(
    () => native!.matmul(rand(4), rand(4), rand(4), 2, 2, 2, { bias: rand(2), accumulate: true }),
    /bias cannot be combined with accumulate/,
  );
  assert.throws(
    () => native!.matmul(rand(4), rand(4), rand(4), 2, 2, 2, { epilogue: 'gelu' }),
    /epilogue 'gelu' needs aux/,
  );
  assert.throws(() => native!.matmul(rand(4), rand(4), rand(4), 2, 2, 2, { bias: rand(1) }), /bias has 1 elements/);
});

test('native matmul GELU epilogues equal js (blocked, ragged, multi-K-block and skinny shapes)', { skip }, () => {
  for (const [m, k, n] of [
    [300, 129, 520],
    [13, 600, 33],
    [64, 17, 96],
    [3, 40, 65],
    [1, 0, 5],
    [40, 70, 1100],
  ] as const) {
    for (const [transA, transB] of [
      [false, false],
      [false, true],
      [true, false],
    ] as const) {
      const tag = `${m}x${k}x${n} tA=${transA} tB=${transB}`;
      // gelu: C = pre-activation (with a bias), aux = gelu(C)
      compare(
        `matmul gelu ${tag}`,
        [rand(m * k), rand(k * n), rand(m * n), rand(n), rand(m * n)],
        [2, 4],
        (K, [a, b, c, bias, aux]) => K.matmul(a, b, c, m, k, n, { transA, transB, bias, epilogue: 'gelu', aux }),
        1e-5,
      );
      // geluGrad: C = (A·B) ⊙ gelu'(aux)
      compare(
        `matmul geluGrad ${tag}`,
        [rand(m * k), rand(k * n), rand(m * n), rand(m * n, 2)],
        [2],
        (K, [a, b, c, aux]) => K.matmul(a, b, c, m, k, n, { transA, transB, epilogue: 'geluGrad', aux }),
        1e-5,
      );
    }
  }
});

test('native attention forward and backward equal js', { skip }, () => {
  const shapes = [
    [1, 1, 1, 1],
    [2, 3, 1, 3],
    [1, 17, 2, 17],
    [2, 65, 3, 16],
    [1, 257, 1, 64],
    [1, 70, 2, 65],
    [2, 129, 4, 64],
  ];
  for (const [B, T, H, Dh] of shapes) {
    const C = H * Dh;
    const qkv = rand(B * T * 3 * C, 1.5),
      dout = rand(B * T * C),
      dqkv = rand(B * T * 3 * C);
    const label = `attention B${B} T${T} H${H} Dh${Dh}`;
    compare(
      label,
      [qkv, new Float32Array(B * T * C), new Float32Array(B * H * T), dout, dqkv],
      [1, 2, 4],
      (K, [q, o, l, d, dq]) => {
        K.attentionForward(q, o, l, B, T, H, Dh);
        K.attentionBackward(q, o, l, d, dq, B, T, H, Dh);
      },
      1e-4,
    );
  }
});

test('native attention decode step equals js', { skip }, () => {
  for (const [t, H, Dh] of [
    [1, 1, 1],
    [3, 2, 3],
    [17, 4, 16],
    [257, 3, 17],
    [600, 4, 64],
  ]) {
    const C = H * Dh,
      cap = t + 5;
    compare(
      `attentionDecode t${t} H${H} Dh${Dh}`,
      [rand(C, 2), rand(cap * C), rand(cap * C), new Float32Array(C)],
      [3],
      (K, [q, k, v, o]) => K.attentionDecode(q, k, v, o, t, H, Dh),
      1e-5,
    );
  }
});

test('native row kernels equal js: layerNorm, softmax, cross-entropy', { skip }, () => {
  for (const n of SIZES) {
    for (const c of SIZES) {
      const label = `${n}x${c}`;
      compare(
        `layerNorm ${label}`,
        [
          rand(n * c, 2),
          rand(c),
          rand(c),
          new Float32Array(n * c),
          new Float32Array(n),
          new Float32Array(n),
          rand(n * c),
          rand(n * c),
          rand(c),
          rand(c),
        ],
        [3, 4, 5, 7, 8, 9],
        (K, [x, w, b, y, mu, rs, dy, dx, dw, db]) => {
          K.layerNormForward(x, w, b, y, mu, rs, n, c, 1e-5);
          K.layerNormBackward(x, w, mu, rs, dy, dx, dw, db, n, c);
        },
        1e-4,
      );
      compare(
        `softmax ${label}`,
        [rand(n * c, 3), new Float32Array(n * c), rand(n * c), rand(n * c)],
        [1, 3],
        (K, [x, y, dy, dx]) => {
          K.softmaxForward(x, y, n, c);
          K.softmaxBackward(y, dy, dx, n, c);
        },
        1e-5,
      );
      const targets = ints(n, c);
      if (n > 1) targets[0] = -1;
      const logits = rand(n * c, 3);
      const crossEntropy = (K: Kernels, [x, lse, losses, dx]: FloatArray[]) => {
        K.crossEntropyForward(x, targets, lse, losses, n, c);
        K.crossEntropyBackward(x, targets, lse, dx, 0.37, n, c);
      };
      const ceInputs = () => [logits, new Float32Array(n), new Float32Array(n), rand(n * c)];
      compare(`crossEntropy ${label}`, ceInputs(), [1, 3], crossEntropy, 1e-5);
      // loss = lse − logit cancels, so its float32 error scales with |lse| (a few units here), not with the loss
      const lseScale = Math.max(1, ...Array.from(logits, Math.abs));
      compare(`crossEntropy losses ${label}`, ceInputs(), [2], crossEntropy, 1e-5, lseScale);
    }
  }
});

test('native block-style kernels equal js: RMSNorm, SwiGLU, rotary positions', { skip }, () => {
  for (const n of SIZES) {
    for (const c of SIZES) {
      const label = `${n}x${c}`;
      compare(
        `rmsNorm ${label}`,
        [rand(n * c, 2), rand(c), new Float32Array(n * c), new Float32Array(n), rand(n * c), rand(n * c), rand(c)],
        [2, 3, 5, 6],
        (K, [x, w, y, rs, dy, dx, dw]) => {
          K.rmsNormForward(x, w, y, rs, n, c, 1e-5);
          K.rmsNormBackward(x, w, rs, dy, dx, dw, n, c);
        },
        1e-4,
      );
      compare(
        `swiglu ${label}`,
        [rand(2 * n * c, 4), new Float32Array(n * c), rand(n * c), rand(2 * n * c), rand(2 * n * c)],
        [1, 3, 4],
        (K, [h, y, dy, dh, dh2]) => {
          K.swigluForward(h, y, n, c);
          K.swigluBackward(h, dy, dh, n, c, false);
          K.swigluBackward(h, dy, dh2, n, c, true);
        },
        1e-5,
      );
    }
  }
  for (const [n, heads, dh] of [
    [1, 1, 2],
    [7, 3, 6],
    [130, 4, 32],
  ]) {
    const maxPos = 300,
      half = dh / 2,
      width = 3 * heads * dh,
      rotated = 2 * heads * dh;
    const angles = Float32Array.from({ length: maxPos * half }, (_, i) => Math.floor(i / half) * 0.37 ** (i % half));
    const cos = angles.map(Math.cos),
      sin = angles.map(Math.sin);
    const positions = ints(n, maxPos);
    compare(
      `rotary ${n} rows, ${heads} heads of ${dh}`,
      [rand(n * width), new Float32Array(n * width), rand(n * width), rand(n * width)],
      [1, 3],
      (K, [x, y, dy, dx]) => {
        K.rotaryForward(x, y, cos, sin, positions, n, width, rotated, dh, maxPos);
        K.rotaryBackward(dy, dx, cos, sin, positions, n, width, rotated, dh, maxPos);
      },
      1e-6,
    );
  }
  assert.throws(
    () => native!.rotaryForward(rand(12), rand(12), rand(4), rand(4), Int32Array.of(4), 1, 12, 8, 4, 2),
    /position 4 outside the tables' 2/,
  );
});

test('native elementwise kernels equal js', { skip }, () => {
  for (const outer of [1, 3, 65, 1031]) {
    for (const inner of [1, 17, 257]) {
      const n = outer * inner,
        label = `${outer}x${inner}`;
      compare(
        `add ${label}`,
        [rand(n), rand(inner), new Float32Array(n), rand(n), rand(n), rand(inner)],
        [2, 4, 5],
        (K, [a, b, o, dy, da, db]) => {
          K.addForward(a, b, o, outer, inner);
          K.addBackward(dy, da, db, outer, inner);
        },
        1e-5,
      );
      compare(
        `mul ${label}`,
        [rand(n), rand(inner), new Float32Array(n), rand(n), rand(n), rand(inner)],
        [2, 4, 5],
        (K, [a, b, o, dy, da, db]) => {
          K.mulForward(a, b, o, outer, inner);
          K.mulBackward(a, b, dy, da, db, outer, inner);
        },
        1e-5,
      );
      compare(
        `gelu ${label}`,
        [rand(n, 4), new Float32Array(n), rand(n), rand(n), rand(n)],
        [1, 3, 4],
        (K, [x, y, dy, dx, dx2]) => {
          K.geluForward(x, y, n);
          K.geluBackward(x, dy, dx, n);
          K.geluBackward(x, dy, dx2, n, true);
        },
        1e-5,
      );
      compare(
        `sigmoid ${label}`,
        [rand(n, 6), new Float32Array(n), rand(n), rand(n)],
        [1, 3],
        (K, [x, y, dy, dx]) => {
          K.sigmoidForward(x, y, n);
          K.sigmoidBackward(y, dy, dx, n);
        },
        1e-5,
      );
      compare(
        `scale/axpy ${label}`,
        [rand(n), new Float32Array(n), rand(n)],
        [1, 2],
        (K, [x, o, y]) => {
          K.scale(x, -1.25, o, n);
          K.axpy(0.5, x, y, n);
        },
        1e-6,
      );
      const x = rand(n);
      assert.ok(Math.abs(native!.sum(x, n) - jsKernels.sum(x, n)) <= 1e-5 * Math.sqrt(n), `sum ${label}`);
      assert.ok(Math.abs(native!.sumSquares(x, n) / jsKernels.sumSquares(x, n) - 1) <= 1e-5, `sumSquares ${label}`);
    }
  }
});

test('native FMA peak probe returns the closed form of its chains, on every thread count', { skip }, () => {
  const L = FMA_PEAK_LANES,
    lanes = (L * (L - 1)) / 2; // Σ of the lanes' starting values 0 … L−1
  // x ← x + 1 counts the steps; x ← 1 − x their parity; x ← x / 2 counts them again by the exponent.
  const closed = [
    { a: 1, b: 1, value: (n: number) => lanes + L * n },
    { a: -1, b: 1, value: (n: number) => (n % 2 === 0 ? lanes : L - lanes) },
    { a: 0.5, b: 0, value: (n: number) => lanes * 2 ** -n },
  ];
  const threadCounts = 'setThreads' in native! ? [1, 2, 3] : [1];
  const probe = native as Kernels & { setThreads?: (n: number) => void; threads?: () => number };
  const initial = probe.threads?.() ?? 1;
  try {
    for (const threads of threadCounts) {
      probe.setThreads?.(threads);
      for (const { a, b, value } of closed) {
        for (const n of [0, 1, 2, 7, 100]) {
          for (const tasks of [1, 3, 8]) {
            const want = tasks * value(n);
            assert.equal(native!.fmaPeak(a, b, n, tasks), want, `a=${a} b=${b} n=${n} tasks=${tasks} @${threads}t`);
            if (threads === 1) assert.equal(jsKernels.fmaPeak(a, b, n, tasks), want, `js a=${a} b=${b} n=${n}`);
          }
        }
      }
      // Long enough to be timed, still exact: 2^20 steps of x ← 1 − x, and of x ← x + 1 (below 2^24).
      assert.equal(native!.fmaPeak(-1, 1, 2 ** 20 + 1, 4), 4 * (L - lanes));
      assert.equal(native!.fmaPeak(1, 1, 2 ** 20, 4), 4 * (lanes + L * 2 ** 20));
    }
  } finally {
    probe.setThreads?.(initial);
  }
});

test('native embedding, shift and AdamW equal js', { skip }, () => {
  for (const c of SIZES) {
    const V = 11,
      n = pick([1, 17, 300]);
    const idx = ints(n, V);
    compare(
      `embedding n${n} c${c}`,
      [rand(V * c), new Float32Array(n * c), rand(n * c), rand(V * c)],
      [1, 3],
      (K, [w, o, dout, dw]) => {
        K.embeddingForward(w, idx, o, n, c);
        K.embeddingBackward(idx, dout, dw, n, c);
      },
      1e-5,
    );
    for (const s of [[0], [1], [2], [5], [40], [1, 4, 0], [3, 17, 2]]) {
      if (c % s.length !== 0) continue;
      const B = 2,
        T = 17,
        shifts = Int32Array.from(s);
      compare(
        `shift c${c} s${s}`,
        [rand(B * T * c), rand(B * T * c), rand(B * T * c), rand(B * T * c)],
        [1, 3],
        (K, [x, y, dy, dx]) => {
          K.shiftForward(x, y, B, T, c, shifts);
          K.shiftBackward(dy, dx, B, T, c, shifts);
        },
        0,
      );
    }
    for (const s of [[1], [4], [1, 4, 0], [3, 17, 2], [40]]) {
      if (c % s.length !== 0) continue;
      const B = 3,
        T = 19,
        shifts = Int32Array.from(s);
      compare(
        `shiftMix c${c} s${s}`,
        [
          rand(B * T * c),
          rand(c),
          rand(c),
          new Float32Array(B * T * c),
          rand(B * T * c),
          rand(B * T * c),
          rand(c),
          rand(c),
        ],
        [3, 5, 6, 7],
        (K, [x, a, w, y, dy, dx, da, dw]) => {
          K.shiftMixForward(x, a, w, y, B, T, c, shifts);
          K.shiftMixBackward(x, a, w, dy, dx, da, dw, B, T, c, shifts);
        },
        1e-5,
      );
    }
    for (const g of [1, c > 1 && c % 17 === 0 ? 17 : 1, c]) {
      const n = 37;
      compare(
        `groupSum/Expand c${c} g${g}`,
        [rand(n * c), new Float32Array(n * g), rand(n * g), rand(n * c), rand(n * c)],
        [1, 3, 4],
        (K, [x, s, e, out1, out2]) => {
          K.groupSum(x, s, n, c, g);
          K.groupExpand(e, out1, n, c, g, false);
          K.groupExpand(e, out2, n, c, g, true);
        },
        1e-5,
      );
    }
    // A channel range in the middle, at the start, and (c = 1) the whole row.
    for (const [start, width] of [
      [Math.floor(c / 3), Math.max(1, Math.floor(c / 2))],
      [0, c],
    ]) {
      const n = 41;
      compare(
        `columns c${c} [${start}, ${start + width})`,
        [rand(n * c), rand(n * width), rand(n * width), rand(n * c)],
        [1, 3],
        (K, [x, out, dy, dx]) => {
          K.columnsForward(x, out, n, c, start, width);
          K.columnsBackward(dy, dx, n, c, start, width);
        },
        0,
      );
    }
    const n2 = c * 129;
    compare(
      `adamw n${n2}`,
      [rand(n2), rand(n2), rand(n2, 0.01), rand(n2, 0.01).map(Math.abs)],
      [0, 2, 3],
      (K, [p, g, m, v]) => {
        for (let step = 1; step <= 3; step++) {
          K.adamw(p, g, m, v, n2, {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weightDecay: 0.1,
            gradScale: 0.8,
            step,
          });
        }
      },
      1e-5,
    );
  }
});

test('native kernels reject short buffers instead of reading past them', { skip }, () => {
  const short = { name: 'RangeError', message: `${native?.name} kernel matmul: c has 3 elements, needs 4` };
  assert.throws(() => native!.matmul(new Float32Array(4), new Float32Array(4), new Float32Array(3), 2, 2, 2), short);
  assert.throws(
    () => native!.geluForward(new Float32Array(2), new Float32Array(8), 8),
    new RegExp(`${native?.name} kernel geluForward: x has 2 elements, needs 8`),
  );
  assert.throws(
    () => native!.layerNormBackward(rand(6), rand(3), rand(2), rand(2), rand(6), null, rand(2), null, 2, 3),
    new RegExp(`${native?.name} kernel layerNormBackward: dw has 2 elements, needs 3`),
  );
  assert.throws(
    () => native!.shiftForward(rand(12), rand(12), 1, 3, 4, Int32Array.from([1, 2, 3])),
    /3 shift groups do not divide 4 channels/,
  );
  assert.throws(() => native!.shiftForward(rand(12), rand(12), 1, 3, 4, Int32Array.from([1, -2])), /negative shift -2/);
  assert.throws(
    () => native!.scale(rand(4), 2, rand(4), -1),
    new RegExp(`${native?.name} kernel scale: n must be a non-negative integer`),
  );
});
