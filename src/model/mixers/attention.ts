import { causalAttention, linear } from '../../ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { attendCached, KVCache } from '../kv-cache.js';
import type { Mixer, MixerContext, MixerState } from './mixer.js';

/** A KV cache is attention's decoding state. */
class AttentionState implements MixerState {
  readonly cache: KVCache;
  constructor(capacity: number, channels: number) {
    this.cache = new KVCache(capacity, channels);
  }
  get pos(): number {
    return this.cache.length;
  }
}

/**
 * Causal multi-head softmax attention (GPT-2's): qkv projection, fused causal
 * attention, output projection. Parameters keep nanoGPT's names
 * (h.N.attn.c_attn / c_proj) so GPT checkpoints line up with PyTorch.
 */
export class AttentionMixer implements Mixer {
  readonly name = 'attn';
  readonly shifts: number[] = [];
  readonly reach = 'all' as const;
  private readonly C: number;
  private readonly nHead: number;
  private readonly capacity: number;
  private readonly wAttn: Tensor;
  private readonly bAttn: Tensor;
  private readonly wProj: Tensor;
  private readonly bProj: Tensor;

  constructor(ctx: MixerContext) {
    const C = (this.C = ctx.nEmbd);
    this.nHead = ctx.nHead;
    this.capacity = ctx.blockSize;
    if (C % ctx.nHead !== 0) throw new Error(`nEmbd ${C} must be divisible by nHead ${ctx.nHead}`);
    const p = ctx.prefix;
    this.wAttn = ctx.params.add(`${p}.c_attn.weight`, [3 * C, C], (d) => ctx.rng.fillNormal(d, 0.02));
    this.bAttn = ctx.params.add(`${p}.c_attn.bias`, [3 * C], () => {});
    this.wProj = ctx.params.add(`${p}.c_proj.weight`, [C, C], (d) =>
      ctx.rng.fillNormal(d, 0.02 / Math.sqrt(2 * ctx.nLayer)),
    );
    this.bProj = ctx.params.add(`${p}.c_proj.bias`, [C], () => {});
  }

  forward(x: Tensor, state?: MixerState): Tensor {
    const qkv = linear(x, this.wAttn, this.bAttn); // (B, T, 3C)
    if (state) {
      const cache = (state as AttentionState).cache,
        T = x.shape[1];
      for (let t = 0; t < T; t++) cache.store(t, qkv.data, t * 3 * this.C);
      cache.length = T;
    }
    return linear(causalAttention(qkv, this.nHead), this.wProj, this.bProj);
  }

  newState(): AttentionState {
    return new AttentionState(this.capacity, this.C);
  }

  step(x: Tensor, state: MixerState): Tensor {
    const cache = (state as AttentionState).cache,
      pos = cache.length;
    const qkv = linear(x, this.wAttn, this.bAttn); // (1, 1, 3C)
    cache.store(pos, qkv.data, 0);
    const y = Tensor.empty([1, 1, this.C], x.dtype);
    attendCached(qkv.data, cache, pos, this.nHead, y.data);
    cache.length = pos + 1;
    return linear(y, this.wProj, this.bProj);
  }

  flopsPerToken(context: number): number {
    const C = this.C;
    return 2 * 4 * C * C + 4 * ((context + 1) / 2) * C; // projections + scores and values over the causal average
  }
}
