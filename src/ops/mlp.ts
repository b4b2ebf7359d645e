import { activeTape, gradOf, needsGrad } from '../autograd/tape.js';
import { kernels } from '../backend/index.js';
import { Tensor } from '../tensor/tensor.js';
import { packedWeight } from './packed-weights.js';
import { fmt, sameDtype } from './util.js';

/**
 * The transformer's feed-forward block as one op: y = c_proj(gelu(c_fc(x))),
 * x (…, C), c_fc (F, C) + (F), c_proj (C, F) + (C).
 *
 * One op rather than linear → gelu → linear so the GELU rides on the matmuls'
 * epilogues: the forward writes the pre-activation h and a = gelu(h) while
 * each tile of h is still in L1, and the backward gets dh = (dy·W_proj) ⊙
 * gelu'(h) from one matmul instead of a matmul and a separate pass over a
 * (rows, F) array each way. Composing the three ops computes the same thing
 * (test/mlp.test.ts checks it, gradients included).
 */
export function mlp(x: Tensor, wFc: Tensor, bFc: Tensor | null, wProj: Tensor, bProj: Tensor | null): Tensor {
  sameDtype('mlp', x, wFc, wProj, ...[bFc, bProj].filter((b): b is Tensor => b !== null));
  const [F, C] = wFc.shape;
  const ok =
    wFc.ndim === 2 &&
    x.shape[x.ndim - 1] === C &&
    (!bFc || (bFc.ndim === 1 && bFc.shape[0] === F)) &&
    wProj.ndim === 2 &&
    wProj.shape[0] === C &&
    wProj.shape[1] === F &&
    (!bProj || (bProj.ndim === 1 && bProj.shape[0] === C));
  if (!ok) {
    throw new Error(
      `mlp: shapes do not fit: x ${fmt(x.shape)}, c_fc ${fmt(wFc.shape)} + ${bFc ? fmt(bFc.shape) : 'no bias'}, c_proj ${fmt(wProj.shape)} + ${bProj ? fmt(bProj.shape) : 'no bias'}`,
    );
  }
  const lead = x.shape.slice(0, -1),
    rows = x.size / C;
  const K = kernels();
  const h = Tensor.empty([...lead, F], x.dtype); // pre-activation, kept for gelu'
  const a = Tensor.empty([...lead, F], x.dtype); // gelu(h), kept for c_proj's weight gradient
  const out = Tensor.empty([...lead, C], x.dtype);
  const grads = needsGrad(x, wFc, bFc, wProj, bProj);
  const fcPacked = packedWeight(wFc, x, grads),
    projPacked = packedWeight(wProj, x, grads);
  if (fcPacked && projPacked) {
    const f32 = (t: Tensor) => t.data as Float32Array;
    K.matmulPackedB(f32(x), fcPacked, f32(h), rows, C, F, { bias: bFc?.data, epilogue: 'gelu', aux: a.data });
    K.matmulPackedB(f32(a), projPacked, f32(out), rows, F, C, { bias: bProj?.data });
  } else {
    K.matmul(x.data, wFc.data, h.data, rows, C, F, { transB: true, bias: bFc?.data, epilogue: 'gelu', aux: a.data });
    K.matmul(a.data, wProj.data, out.data, rows, F, C, { transB: true, bias: bProj?.data });
  }
  if (grads) {
    activeTape()!.push(out, () => {
      const K = kernels(),
        dy = out.grad!;
      const dwProj = gradOf(wProj),
        dbProj = gradOf(bProj);
      if (dwProj) K.matmul(dy, a.data, dwProj, C, rows, F, { transA: true, accumulate: true }); // (C,rows)·(rows,F)
      if (dbProj) K.addBackward(dy, null, dbProj, rows, C);
      if (!x.requiresGrad && !wFc.requiresGrad && !bFc?.requiresGrad) return;
      // h feeds nothing else, so its gradient buffer is written whole: (rows,C)·(C,F) ⊙ gelu'(h)
      const dh = h.gradForWrite().grad;
      K.matmul(dy, wProj.data, dh, rows, C, F, { epilogue: 'geluGrad', aux: h.data });
      if (x.requiresGrad) {
        const { grad: dx, fresh } = x.gradForWrite();
        K.matmul(dh, wFc.data, dx, rows, F, C, { accumulate: !fresh }); // (rows,F)·(F,C)
      }
      const dwFc = gradOf(wFc),
        dbFc = gradOf(bFc);
      if (dwFc) K.matmul(dh, x.data, dwFc, F, rows, C, { transA: true, accumulate: true }); // (F,rows)·(rows,C)
      if (dbFc) K.addBackward(dh, null, dbFc, rows, F);
    });
  }
  return out;
}
