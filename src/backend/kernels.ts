/**
 * The kernel interface: the one contract every backend implements.
 *
 * Kernels work on flat typed arrays with explicit sizes; they know nothing of
 * tensors or autograd. Conventions shared by all of them:
 * - row-major, contiguous storage; shapes are given in the comments;
 * - forward kernels overwrite their outputs;
 * - backward kernels ACCUMULATE (+=) into gradient buffers, so a tensor used
 *   twice simply receives both contributions; a gradient argument that is
 *   `null` is not wanted and is skipped;
 * - `FloatArray` is Float32Array in normal use; the `js` backend also runs on
 *   Float64Array so gradient checks can use float64 finite differences.
 */
export type FloatArray = Float32Array | Float64Array;

export interface MatmulOptions {
  transA?: boolean; // A is stored K×M and used as its transpose
  transB?: boolean; // B is stored N×K and used as its transpose
  accumulate?: boolean; // C += op(A)·op(B) instead of C = …
  batch?: number; // number of independent products (default 1)
  strideA?: number; // elements between batch items of A (0 broadcasts)
  strideB?: number;
  strideC?: number;
  /** C = op(A)·op(B) + bias, bias (N) added to every row (the linear layer's epilogue); not with accumulate. */
  bias?: FloatArray;
  /**
   * An elementwise step fused onto the product (one item, no accumulate), with aux shaped like C:
   * 'gelu': aux = gelu(C), C keeps the pre-activation; 'geluGrad': C = C · gelu'(aux), aux the pre-activation.
   * aux must not overlap A or B (native kernels write it tile by tile while the product is still running).
   */
  epilogue?: MatmulEpilogue;
  aux?: FloatArray;
}

export type MatmulEpilogue = 'gelu' | 'geluGrad';

/** Lanes of one fmaPeak task (native/kernels/fma_peak.cc: whole passes of 12 registers on every ISA). */
export const FMA_PEAK_LANES = 192;

/**
 * Floats a weight packed by packMatmulB takes: at most k · (n rounded up to
 * 64), whatever the backend's own layout (its panel width divides 64).
 */
export function packedMatmulBLength(k: number, n: number): number {
  return k * Math.ceil(n / 64) * 64;
}

/** Hyper-parameters of one fused AdamW step (PyTorch's torch.optim.AdamW semantics). */
export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number; // decoupled: p -= lr·wd·p before the Adam update
  gradScale: number; // multiplies the gradient first (global-norm clipping)
  step: number; // 1-based step count, for bias correction
}

export interface Kernels {
  readonly name: string;

  /** C (M×N) (+)= op(A) (M×K) · op(B) (K×N), optionally batched with strides. */
  matmul(a: FloatArray, b: FloatArray, c: FloatArray, m: number, k: number, n: number, opts?: MatmulOptions): void;
  /**
   * Packs op(B) (K×N; B stored N×K when transB) once into `packed`
   * (packedMatmulBLength(k, n) floats) in this backend's own layout, for
   * matmulPackedB: an inference weight, so that products against it skip
   * packing B every call.
   */
  packMatmulB(b: FloatArray, packed: FloatArray, k: number, n: number, transB: boolean): void;
  /**
   * C (M×N) = A (M×K) · op(B) + bias, then the epilogue, op(B) from this
   * backend's packMatmulB (float32 only). A row's result does not depend on
   * the other rows.
   */
  matmulPackedB(
    a: Float32Array,
    packed: Float32Array,
    c: Float32Array,
    m: number,
    k: number,
    n: number,
    opts?: Pick<MatmulOptions, 'bias' | 'epilogue' | 'aux'>,
  ): void;

  /**
   * Causal multi-head softmax attention on packed qkv (B, T, 3C) → out (B, T, C),
   * head h owning channels [h·Dh, (h+1)·Dh) of q, k and v; lse (B, H, T) keeps
   * each row's log-sum-exp of the scaled scores for the backward pass.
   */
  attentionForward(
    qkv: FloatArray,
    out: FloatArray,
    lse: FloatArray,
    b: number,
    t: number,
    h: number,
    dh: number,
  ): void;
  /** dqkv (B, T, 3C) += ∂loss/∂qkv given dout (B, T, C). */
  attentionBackward(
    qkv: FloatArray,
    out: FloatArray,
    lse: FloatArray,
    dout: FloatArray,
    dqkv: FloatArray,
    b: number,
    t: number,
    h: number,
    dh: number,
  ): void;

  /**
   * One decoding step of causal attention: query q (C, heads of Dh channels)
   * against the first t rows of cached keys and values (rows of C):
   * out (C) = Σ_{u<t} softmax_u(q·k_u/√Dh) v_u per head.
   */
  attentionDecode(
    q: FloatArray,
    keys: FloatArray,
    values: FloatArray,
    out: FloatArray,
    t: number,
    h: number,
    dh: number,
  ): void;

  /** y (N, C) = (x − mean) · rstd · w + b per row; writes mean (N) and rstd (N). */
  layerNormForward(
    x: FloatArray,
    w: FloatArray,
    bias: FloatArray,
    y: FloatArray,
    mean: FloatArray,
    rstd: FloatArray,
    n: number,
    c: number,
    eps: number,
  ): void;
  layerNormBackward(
    x: FloatArray,
    w: FloatArray,
    mean: FloatArray,
    rstd: FloatArray,
    dy: FloatArray,
    dx: FloatArray | null,
    dw: FloatArray | null,
    db: FloatArray | null,
    n: number,
    c: number,
  ): void;

  /** out[o·inner + i] = a[o·inner + i] + b[i] (b broadcast over `outer` rows; inner = a.length when same shape). */
  addForward(a: FloatArray, b: FloatArray, out: FloatArray, outer: number, inner: number): void;
  /** da += dy; db[i] += Σ_o dy[o·inner + i]. */
  addBackward(dy: FloatArray, da: FloatArray | null, db: FloatArray | null, outer: number, inner: number): void;
  /** out[o·inner + i] = a[o·inner + i] · b[i]. */
  mulForward(a: FloatArray, b: FloatArray, out: FloatArray, outer: number, inner: number): void;
  /** da += dy ⊙ b; db[i] += Σ_o dy ⊙ a. */
  mulBackward(
    a: FloatArray,
    b: FloatArray,
    dy: FloatArray,
    da: FloatArray | null,
    db: FloatArray | null,
    outer: number,
    inner: number,
  ): void;
  /** out = alpha · x */
  scale(x: FloatArray, alpha: number, out: FloatArray, n: number): void;
  /** y += alpha · x */
  axpy(alpha: number, x: FloatArray, y: FloatArray, n: number): void;

  /** GELU, tanh approximation (GPT-2's). */
  geluForward(x: FloatArray, y: FloatArray, n: number): void;
  /** dx += dy · gelu'(x), or dx = … when `overwrite` (a fresh gradient buffer that was not zeroed). */
  geluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray, n: number, overwrite?: boolean): void;
  sigmoidForward(x: FloatArray, y: FloatArray, n: number): void;
  /** dx += dy · y · (1 − y), from the forward's output y. */
  sigmoidBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, n: number): void;

  /** RMSNorm over the last dimension: y = x · rstd ⊙ w with rstd = 1/√(mean(x²) + eps) per row (written). x, y (N, C). */
  rmsNormForward(
    x: FloatArray,
    w: FloatArray,
    y: FloatArray,
    rstd: FloatArray,
    n: number,
    c: number,
    eps: number,
  ): void;
  /** With x̂ = x · rstd and g = dy ⊙ w: dx += rstd · (g − x̂ · mean(g ⊙ x̂)), dw += Σ_rows dy ⊙ x̂. */
  rmsNormBackward(
    x: FloatArray,
    w: FloatArray,
    rstd: FloatArray,
    dy: FloatArray,
    dx: FloatArray | null,
    dw: FloatArray | null,
    n: number,
    c: number,
  ): void;
  /** SwiGLU: each row of h (N, 2F) is [gate | up]; y (N, F) = silu(gate) ⊙ up. */
  swigluForward(h: FloatArray, y: FloatArray, n: number, f: number): void;
  /** dh (N, 2F) += [dy ⊙ up ⊙ silu'(gate) | dy ⊙ silu(gate)], or = … when `overwrite`. */
  swigluBackward(h: FloatArray, dy: FloatArray, dh: FloatArray, n: number, f: number, overwrite: boolean): void;
  /**
   * Rotary positions: y = R x on rows x (N, width). In row r the first
   * `rotated` columns are heads of dh channels, and each head's pair
   * (i, i + dh/2) turns by the angle of position positions[r] < maxPos at
   * frequency i, read from cos and sin (maxPos, dh/2); the other columns are
   * copied.
   */
  rotaryForward(
    x: FloatArray,
    y: FloatArray,
    cos: FloatArray,
    sin: FloatArray,
    positions: Int32Array,
    n: number,
    width: number,
    rotated: number,
    dh: number,
    maxPos: number,
  ): void;
  /** dx += Rᵀ dy: rotaryForward's transpose (the copied columns pass dy through). */
  rotaryBackward(
    dy: FloatArray,
    dx: FloatArray,
    cos: FloatArray,
    sin: FloatArray,
    positions: Int32Array,
    n: number,
    width: number,
    rotated: number,
    dh: number,
    maxPos: number,
  ): void;

  /** Row softmax: y (N, C). */
  softmaxForward(x: FloatArray, y: FloatArray, n: number, c: number): void;
  /** dx += y ⊙ (dy − Σ dy ⊙ y) per row. */
  softmaxBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, n: number, c: number): void;

  /**
   * Softmax cross-entropy per row of logits (N, V) against targets (N; −1 = ignored):
   * writes lse (N) and losses (N, 0 where ignored).
   */
  crossEntropyForward(
    logits: FloatArray,
    targets: Int32Array,
    lse: FloatArray,
    losses: FloatArray,
    n: number,
    v: number,
  ): void;
  /** dlogits += scale · (softmax(logits) − onehot(target)) on rows whose target is not −1. */
  crossEntropyBackward(
    logits: FloatArray,
    targets: Int32Array,
    lse: FloatArray,
    dlogits: FloatArray,
    scale: number,
    n: number,
    v: number,
  ): void;

  /** out (N, C) = weight[idx[n]] (weight V×C). Indices are checked by the caller. */
  embeddingForward(weight: FloatArray, idx: Int32Array, out: FloatArray, n: number, c: number): void;
  /** dweight[idx[n]] += dout[n] (scatter-add). */
  embeddingBackward(idx: Int32Array, dout: FloatArray, dweight: FloatArray, n: number, c: number): void;

  /**
   * HSM's shifted read, per channel group: the C channels form G = shifts.length
   * equal groups, and group g reads y[b, t] = x[b, t − shifts[g]] (0 when t < shift).
   * x, y are (B, T, C). One group is the plain shift of the whole vector.
   */
  shiftForward(x: FloatArray, y: FloatArray, b: number, t: number, c: number, shifts: Int32Array): void;
  /** dx[b, t − s_g] += dy[b, t] within each group. */
  shiftBackward(dy: FloatArray, dx: FloatArray, b: number, t: number, c: number, shifts: Int32Array): void;

  /**
   * Fused HSM pair mix: y[b, t] = a ⊙ x[b, t] + w ⊙ x[b, t − s_g] (zero for t < s_g),
   * a, w per channel (C), channel group g of G = shifts.length groups using shift s_g.
   */
  shiftMixForward(
    x: FloatArray,
    a: FloatArray,
    w: FloatArray,
    y: FloatArray,
    b: number,
    t: number,
    c: number,
    shifts: Int32Array,
  ): void;
  /** dx += a ⊙ dy[t] + w ⊙ dy[t + s]; da += Σ dy ⊙ x; dw += Σ dy[t] ⊙ x[t − s]. */
  shiftMixBackward(
    x: FloatArray,
    a: FloatArray,
    w: FloatArray,
    dy: FloatArray,
    dx: FloatArray | null,
    da: FloatArray | null,
    dw: FloatArray | null,
    b: number,
    t: number,
    c: number,
    shifts: Int32Array,
  ): void;

  /** out (N, G) = Σ over each of G equal channel groups of x (N, C): per-head sums. */
  groupSum(x: FloatArray, out: FloatArray, n: number, c: number, g: number): void;
  /** out (N, C) = x (N, G) repeated over each group's C/G channels (accumulate adds instead of overwriting). */
  groupExpand(x: FloatArray, out: FloatArray, n: number, c: number, g: number, accumulate: boolean): void;
  /** out (N, width) = channels [start, start + width) of x (N, C). */
  columnsForward(x: FloatArray, out: FloatArray, n: number, c: number, start: number, width: number): void;
  /** dx (N, C) channels [start, start + width) += dy (N, width). */
  columnsBackward(dy: FloatArray, dx: FloatArray, n: number, c: number, start: number, width: number): void;

  /** Σ x² (in float64), for global gradient norms. */
  sumSquares(x: FloatArray, n: number): number;
  /** Σ x (in float64). */
  sum(x: FloatArray, n: number): number;
  /**
   * The FMA throughput probe of `hsm bench peak`: in each of `tasks` tasks, FMA_PEAK_LANES lanes, lane l starting
   * at x = l, take `iterations` steps x ← x·a + b in float32; returns Σ of the final x over every lane and task (in
   * float64). That is 2 · FMA_PEAK_LANES · iterations · tasks FLOPs; compiled backends run the lanes as register
   * chains and spread the tasks over their threads.
   */
  fmaPeak(a: number, b: number, iterations: number, tasks: number): number;
  /** One fused AdamW update of a parameter, in place on param, m and v. */
  adamw(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, n: number, h: AdamWStep): void;
}
