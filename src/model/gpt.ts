import { add, causalAttention, crossEntropy, dropout, embedding, gelu, layerNorm, linear, matmul, rows } from '../ops/index.js';
import type { DType } from '../tensor/buffer-pool.js';
import { Rng } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { attendCached, KVCache } from './kv-cache.js';
import { init, ParameterStore } from './parameters.js';

/** GPT-2 style configuration (nanoGPT's names and defaults). */
export interface GPTConfig {
  vocabSize: number;
  blockSize: number; // maximum context length
  nLayer: number;
  nHead: number;
  nEmbd: number;
  lnEps?: number; // 1e-5
  /** Dropout on the embeddings and on each residual branch in training (nanoGPT's drop and resid_dropout; attention probabilities are not dropped). */
  dropout?: number;
}

/** Options of a training forward pass. */
export interface ForwardOptions {
  /** Supplies dropout masks; without it (or with dropout 0) the pass is deterministic, as in evaluation. */
  dropoutRng?: Rng;
}

/**
 * The GPT-2 baseline of HSM.md §5: learned positions, pre-LN blocks of causal
 * multi-head attention and a GELU MLP of width 4d, output head tied to the
 * token embedding. Mirrors nanoGPT's model.py; parameter names match it so
 * checkpoints and the PyTorch reference line up.
 */
export class GPT {
  readonly params: ParameterStore;
  private readonly eps: number;

  constructor(readonly config: GPTConfig, opts: { seed?: number; dtype?: DType } = {}) {
    const { vocabSize: V, blockSize, nLayer: L, nEmbd: C, nHead } = config;
    if (C % nHead !== 0) throw new Error(`nEmbd ${C} must be divisible by nHead ${nHead}`);
    this.eps = config.lnEps ?? 1e-5;
    const rng = new Rng(opts.seed ?? 1337);
    const ps = (this.params = new ParameterStore(opts.dtype ?? 'float32'));
    const w = init.normal(rng, 0.02);
    const wProj = init.normal(rng, 0.02 / Math.sqrt(2 * L)); // GPT-2's scaled init of residual projections
    ps.add('wte.weight', [V, C], w);
    ps.add('wpe.weight', [blockSize, C], w);
    for (let l = 0; l < L; l++) {
      const h = `h.${l}`;
      ps.add(`${h}.ln_1.weight`, [C], init.ones());
      ps.add(`${h}.ln_1.bias`, [C], init.zeros());
      ps.add(`${h}.attn.c_attn.weight`, [3 * C, C], w);
      ps.add(`${h}.attn.c_attn.bias`, [3 * C], init.zeros());
      ps.add(`${h}.attn.c_proj.weight`, [C, C], wProj);
      ps.add(`${h}.attn.c_proj.bias`, [C], init.zeros());
      ps.add(`${h}.ln_2.weight`, [C], init.ones());
      ps.add(`${h}.ln_2.bias`, [C], init.zeros());
      ps.add(`${h}.mlp.c_fc.weight`, [4 * C, C], w);
      ps.add(`${h}.mlp.c_fc.bias`, [4 * C], init.zeros());
      ps.add(`${h}.mlp.c_proj.weight`, [C, 4 * C], wProj);
      ps.add(`${h}.mlp.c_proj.bias`, [C], init.zeros());
    }
    ps.add('ln_f.weight', [C], init.ones());
    ps.add('ln_f.bias', [C], init.zeros());
  }

  private p(name: string): Tensor {
    return this.params.get(name);
  }

  /**
   * idx (B·T token ids, row-major B×T) → logits (B, T, V).
   * With a cache (B must be 1), the keys and values of positions 0..T−1 are
   * stored in it: the prompt's "prefill" before token-by-token decoding.
   */
  forward(idx: Int32Array, B: number, T: number, cache?: KVCache, opts: ForwardOptions = {}): Tensor {
    const { blockSize, nLayer, nHead } = this.config;
    if (T > blockSize) throw new Error(`sequence length ${T} exceeds the model's context ${blockSize}`);
    if (idx.length !== B * T) throw new Error(`expected ${B}×${T} token ids, got ${idx.length}`);
    // x (B, T, C) = token embedding + position embedding of rows 0..T−1
    const drop = (t: Tensor) => (opts.dropoutRng && this.config.dropout ? dropout(t, this.config.dropout, opts.dropoutRng) : t);
    let x = drop(add(embedding(this.p('wte.weight'), idx, [B, T]), rows(this.p('wpe.weight'), 0, T)));
    for (let l = 0; l < nLayer; l++) {
      x = this.block(l, x, drop, (qkv) => {
        if (cache) for (let t = 0; t < T; t++) cache.store(l, t, qkv.data, t * 3 * this.config.nEmbd);
        return causalAttention(qkv, nHead);
      });
    }
    if (cache) {
      if (B !== 1) throw new Error('a KV cache holds one sequence: prefill with B = 1');
      cache.length = T;
    }
    return this.head(x);
  }

  /**
   * One pre-LN transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).
   * `attend` maps the packed qkv (B, T, 3C) to the heads' output (B, T, C):
   * fused causal attention in training, the KV cache when decoding.
   */
  private block(l: number, x: Tensor, drop: (t: Tensor) => Tensor, attend: (qkv: Tensor) => Tensor): Tensor {
    const h = `h.${l}`;
    const a = layerNorm(x, this.p(`${h}.ln_1.weight`), this.p(`${h}.ln_1.bias`), this.eps);
    const qkv = linear(a, this.p(`${h}.attn.c_attn.weight`), this.p(`${h}.attn.c_attn.bias`)); // (B, T, 3C)
    x = add(x, drop(linear(attend(qkv), this.p(`${h}.attn.c_proj.weight`), this.p(`${h}.attn.c_proj.bias`))));
    const m = layerNorm(x, this.p(`${h}.ln_2.weight`), this.p(`${h}.ln_2.bias`), this.eps);
    const hidden = gelu(linear(m, this.p(`${h}.mlp.c_fc.weight`), this.p(`${h}.mlp.c_fc.bias`))); // (B, T, 4C)
    return add(x, drop(linear(hidden, this.p(`${h}.mlp.c_proj.weight`), this.p(`${h}.mlp.c_proj.bias`))));
  }

  /** Final LayerNorm and the tied output head: logits = ln_f(x) · wteᵀ. */
  private head(x: Tensor): Tensor {
    const xf = layerNorm(x, this.p('ln_f.weight'), this.p('ln_f.bias'), this.eps);
    return matmul(xf, this.p('wte.weight'), { transB: true });
  }

  newCache(): KVCache {
    return new KVCache(this.config.nLayer, this.config.blockSize, this.config.nEmbd);
  }

  /**
   * Appends one token at position cache.length and returns its logits (V),
   * attending to the cached past: O(layers·(d² + t·d)) instead of a full forward.
   */
  decodeStep(token: number, cache: KVCache): Float32Array {
    const { nLayer, nHead, nEmbd: C, blockSize } = this.config;
    const pos = cache.length;
    if (pos >= blockSize) throw new RangeError(`position ${pos} is beyond the model's context ${blockSize}`);
    let x = add(embedding(this.p('wte.weight'), Int32Array.of(token), [1, 1]), rows(this.p('wpe.weight'), pos, 1));
    for (let l = 0; l < nLayer; l++) {
      x = this.block(l, x, (t) => t, (qkv) => {
        cache.store(l, pos, qkv.data, 0);
        const y = Tensor.empty([1, 1, C], x.dtype);
        attendCached(qkv.data, cache, l, pos, nHead, y.data);
        return y;
      });
    }
    cache.length = pos + 1;
    return Float32Array.from(this.head(x).data);
  }

  /** Mean next-token cross-entropy of idx against targets (both B×T). */
  loss(idx: Int32Array, targets: Int32Array, B: number, T: number, opts: ForwardOptions = {}): Tensor {
    return crossEntropy(this.forward(idx, B, T, undefined, opts), targets);
  }
}
