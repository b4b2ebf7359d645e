import { packedMatmulBLength, type FloatArray, type MatmulOptions } from '../kernels.js';
import { geluBackward, geluForward } from './elementwise.js';

/**
 * Reference matmul: C (M×N) (+)= op(A)·op(B), batched with strides.
 * Plain loops ordered i-p-j so the inner loop walks C and B rows contiguously.
 */
export function matmul(
  a: FloatArray,
  b: FloatArray,
  c: FloatArray,
  m: number,
  k: number,
  n: number,
  opts: MatmulOptions = {},
): void {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const batch = opts.batch ?? 1;
  const strideA = opts.strideA ?? m * k;
  const strideB = opts.strideB ?? k * n;
  const strideC = opts.strideC ?? m * n;
  const bias = opts.bias;
  if (bias && opts.accumulate) throw new Error('matmul: a bias cannot be combined with accumulate');
  if (bias && bias.length < n) throw new Error(`matmul: bias has ${bias.length} elements, needs ${n}`);
  if (opts.epilogue) {
    if (opts.epilogue !== 'gelu' && opts.epilogue !== 'geluGrad')
      throw new Error(`matmul: unknown epilogue '${String(opts.epilogue)}'`);
    if (!opts.aux || opts.accumulate || batch !== 1)
      throw new Error(`matmul: epilogue '${opts.epilogue}' needs aux, one item and no accumulate`);
    if (opts.aux.length < m * n) throw new Error(`matmul: aux has ${opts.aux.length} elements, needs ${m * n}`);
  }
  for (let bi = 0; bi < batch; bi++) {
    const oa = bi * strideA,
      ob = bi * strideB,
      oc = bi * strideC;
    if (bias) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[oc + i * n + j] = bias[j];
    else if (!opts.accumulate) c.fill(0, oc, oc + m * n);
    for (let i = 0; i < m; i++) {
      const ci = oc + i * n;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[oa + p * m + i] : a[oa + i * k + p];
        if (av === 0) continue;
        if (transB) {
          for (let j = 0; j < n; j++) c[ci + j] += av * b[ob + j * k + p];
        } else {
          const bp = ob + p * n;
          for (let j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
        }
      }
    }
  }
  if (opts.epilogue === 'gelu') geluForward(c, opts.aux!, m * n);
  else if (opts.epilogue === 'geluGrad') geluBackward(opts.aux!, c, c, m * n, true); // C = C · gelu'(aux), elementwise in place
}

/** The reference layout of a packed op(B): K×N row-major (only the native and wasm kernels really pack). */
export function packMatmulB(b: FloatArray, packed: FloatArray, k: number, n: number, transB: boolean): void {
  if (packed.length < packedMatmulBLength(k, n))
    throw new Error(`packMatmulB: packed has ${packed.length} floats, needs ${packedMatmulBLength(k, n)}`);
  if (!transB) packed.set(b.subarray(0, k * n));
  else for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) packed[p * n + j] = b[j * k + p];
}

export function matmulPackedB(
  a: Float32Array,
  packed: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
  opts: Pick<MatmulOptions, 'bias' | 'epilogue' | 'aux'> = {},
): void {
  matmul(a, packed, c, m, k, n, opts);
}
