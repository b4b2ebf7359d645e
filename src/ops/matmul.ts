import { kernels } from '../backend/index.js';
import { activeTape, gradOf, needsGrad } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { packedWeight } from './packed-weights.js';
import { fmt, sameDtype } from './util.js';

/**
 * Batched matrix product: a (…, M, K) · b (…, K, N) → (…, M, N), with optional
 * transposes of the last two dimensions. b may be 2-D and is then shared by
 * every batch item (as a weight matrix is).
 */
export function matmul(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
  sameDtype('matmul', a, b);
  const transA = opts.transA ?? false,
    transB = opts.transB ?? false;
  if (a.ndim < 2 || b.ndim < 2)
    throw new Error(`matmul: operands need 2 or more dimensions, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const [ar, ac] = a.shape.slice(-2),
    [br, bc] = b.shape.slice(-2);
  const m = transA ? ac : ar,
    k = transA ? ar : ac;
  const kb = transB ? bc : br,
    n = transB ? br : bc;
  const batchShape = a.shape.slice(0, -2);
  const batch = a.size / (ar * ac);
  const bBatch = b.size / (br * bc);
  if (k !== kb)
    throw new Error(
      `matmul: inner dimensions differ: ${fmt(a.shape)}${transA ? 'ᵀ' : ''} · ${fmt(b.shape)}${transB ? 'ᵀ' : ''}`,
    );
  if (bBatch !== 1 && bBatch !== batch)
    throw new Error(`matmul: batch of ${fmt(b.shape)} does not match ${fmt(a.shape)}`);
  const strideB = bBatch === 1 ? 0 : k * n;
  const out = Tensor.empty([...batchShape, m, n], a.dtype);
  const grads = needsGrad(a, b);
  // A weight used as a · bᵀ (the tied output head) may be packed for inference, as linear's are.
  const packed = strideB === 0 && !transA && transB ? packedWeight(b, a, grads) : undefined;
  if (packed) {
    kernels().matmulPackedB(a.data as Float32Array, packed, out.data as Float32Array, batch * m, k, n);
  } else if (strideB === 0 && !transA) {
    // A shared b: the batch folds into M, one product instead of `batch` (a decode batch's output head
    // is N items of 1 × C against the vocabulary's table, which would otherwise be read N times).
    kernels().matmul(a.data, b.data, out.data, batch * m, k, n, { transB });
  } else {
    kernels().matmul(a.data, b.data, out.data, m, k, n, {
      transA,
      transB,
      batch,
      strideA: m * k,
      strideB,
      strideC: m * n,
    });
  }

  if (grads) {
    activeTape()!.push(out, () => {
      const K = kernels(),
        dc = out.grad!;
      const da = gradOf(a),
        db = gradOf(b);
      // dA = dC·op(B)ᵀ (stored transposed when transA), dB = op(A)ᵀ·dC (likewise).
      if (da) {
        if (transA)
          K.matmul(b.data, dc, da, k, n, m, {
            transA: transB,
            transB: true,
            accumulate: true,
            batch,
            strideA: strideB,
            strideB: m * n,
            strideC: m * k,
          });
        else
          K.matmul(dc, b.data, da, m, n, k, {
            transB: !transB,
            accumulate: true,
            batch,
            strideA: m * n,
            strideB,
            strideC: m * k,
          });
      }
      if (db) {
        // With a shared (2-D) b, summing over the batch is one product with the batch folded into M.
        const folded = strideB === 0;
        const bt = folded ? 1 : batch;
        if (folded && !transA) {
          // a rows of all batch items stack: (batch·M, K)
          if (transB) K.matmul(dc, a.data, db, n, batch * m, k, { transA: true, accumulate: true });
          else K.matmul(a.data, dc, db, k, batch * m, n, { transA: true, accumulate: true });
        } else if (folded) {
          for (let i = 0; i < batch; i++) {
            const ai = a.data.subarray(i * m * k, (i + 1) * m * k),
              ci = dc.subarray(i * m * n, (i + 1) * m * n);
            if (transB) K.matmul(ci, ai, db, n, m, k, { transA: true, transB: true, accumulate: true });
            else K.matmul(ai, ci, db, k, m, n, { accumulate: true });
          }
        } else if (transB) {
          K.matmul(dc, a.data, db, n, m, k, {
            transA: true,
            transB: transA,
            accumulate: true,
            batch: bt,
            strideA: m * n,
            strideB: m * k,
            strideC: k * n,
          });
        } else {
          K.matmul(a.data, dc, db, k, m, n, {
            transA: !transA,
            accumulate: true,
            batch: bt,
            strideA: m * k,
            strideB: m * n,
            strideC: k * n,
          });
        }
      }
    });
  }
  return out;
}

/**
 * A fully connected layer in PyTorch's layout: x (…, in) · Wᵀ + bias, W (out, in).
 * Flattens the leading dimensions into one matrix product.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  sameDtype('linear', x, weight, ...(bias ? [bias] : []));
  const [outF, inF] = weight.shape;
  if (weight.ndim !== 2 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(
      `linear: input ${fmt(x.shape)} does not fit weight ${fmt(weight.shape)} (expected last dimension ${inF})`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF))
    throw new Error(`linear: bias ${fmt(bias.shape)} should be [${outF}]`);
  const rows = x.size / inF;
  const out = Tensor.empty([...x.shape.slice(0, -1), outF], x.dtype);
  const K = kernels();
  const grads = needsGrad(x, weight, bias);
  const packed = packedWeight(weight, x, grads);
  if (packed)
    K.matmulPackedB(x.data as Float32Array, packed, out.data as Float32Array, rows, inF, outF, { bias: bias?.data });
  else K.matmul(x.data, weight.data, out.data, rows, inF, outF, { transB: true, bias: bias?.data }); // bias added in the epilogue
  if (grads) {
    activeTape()!.push(out, () => {
      const K = kernels(),
        dy = out.grad!;
      const dw = gradOf(weight),
        db = gradOf(bias);
      if (x.requiresGrad) {
        // (rows,out)·(out,in); a fresh gradient buffer is written, not zeroed and added to
        const { grad: dx, fresh } = x.gradForWrite();
        K.matmul(dy, weight.data, dx, rows, outF, inF, { accumulate: !fresh });
      }
      if (dw) K.matmul(dy, x.data, dw, outF, rows, inF, { transA: true, accumulate: true }); // (out,rows)·(rows,in)
      if (db) K.addBackward(dy, null, db, rows, outF);
    });
  }
  return out;
}
