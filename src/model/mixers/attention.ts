import { causalAttention, linear, rotary, rotaryTables, type RotaryTables } from '../../ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { attendCached, KVCache } from '../kv-cache.js';
import { ROTARY_BASE } from '../block-style.js';
import { optionalBias, type Mixer, type MixerContext, type MixerPrefill, type MixerState } from './mixer.js';

/** A KV cache is attention's decoding state. */
class AttentionState implements MixerState {
  readonly cache: KVCache;
  constructor(capacity: number, channels: number) {
    this.cache = new KVCache(capacity, channels);
  }
  get pos(): number {
    return this.cache.length;
  }
  get bytes(): number {
    return this.cache.keys.byteLength + this.cache.values.byteLength;
  }
}

/**
 * Causal multi-head softmax attention (GPT-2's): qkv projection, fused causal
 * attention, output projection. Parameters keep nanoGPT's names
 * (h.N.attn.c_attn / c_proj) so GPT checkpoints line up with PyTorch. With
 * rotary positions (the transformer++ style) queries and keys turn by their
 * position before attending, and the KV cache keeps the turned keys.
 */
export class AttentionMixer implements Mixer {
  readonly name = 'attn';
  readonly shifts: number[] = [];
  readonly reach = 'all' as const;
  private readonly C: number;
  private readonly nHead: number;
  private readonly capacity: number;
  private readonly wAttn: Tensor;
  private readonly bAttn: Tensor | null;
  private readonly wProj: Tensor;
  private readonly bProj: Tensor | null;
  private readonly rotary: RotaryTables | null;

  constructor(ctx: MixerContext) {
    const C = (this.C = ctx.nEmbd);
    this.nHead = ctx.nHead;
    this.capacity = ctx.blockSize;
    if (C % ctx.nHead !== 0) throw new Error(`nEmbd ${C} must be divisible by nHead ${ctx.nHead}`);
    const p = ctx.prefix;
    this.wAttn = ctx.params.add(`${p}.c_attn.weight`, [3 * C, C], (d) => ctx.rng.fillNormal(d, 0.02));
    this.bAttn = optionalBias(ctx, `${p}.c_attn.bias`, 3 * C);
    this.wProj = ctx.params.add(`${p}.c_proj.weight`, [C, C], (d) =>
      ctx.rng.fillNormal(d, 0.02 / Math.sqrt(2 * ctx.nLayer)),
    );
    this.bProj = optionalBias(ctx, `${p}.c_proj.bias`, C);
    this.rotary = ctx.rotary ? rotaryTables(ctx.blockSize, C / ctx.nHead, ROTARY_BASE, ctx.params.dtype) : null;
  }

  forward(x: Tensor, prefill?: MixerPrefill): Tensor {
    const [B, T] = x.shape;
    const qkv = this.turn(
      linear(x, this.wAttn, this.bAttn), // (B, T, 3C)
      () => Int32Array.from({ length: B * T }, (_, i) => i % T),
    );
    if (prefill) {
      const T = x.shape[1],
        width = 3 * this.C;
      prefill.states.forEach((s, i) => {
        const cache = (s as AttentionState).cache,
          length = prefill.lengths[i];
        for (let t = 0; t < length; t++) cache.store(t, qkv.data, (i * T + t) * width);
        cache.length = length;
      });
    }
    return linear(causalAttention(qkv, this.nHead), this.wProj, this.bProj);
  }

  newState(): AttentionState {
    return new AttentionState(this.capacity, this.C);
  }

  step(x: Tensor, state: MixerState): Tensor {
    return this.decodeBatch(x, [state]);
  }

  /**
   * step() for N sequences: the qkv and output projections run once on
   * (N, 1, ·); each row is appended to its own KV cache and attends over that
   * cache's length.
   */
  decodeBatch(x: Tensor, states: readonly MixerState[]): Tensor {
    const N = states.length,
      C = this.C;
    if (x.shape[0] !== N || x.size !== N * C)
      throw new Error(`decodeBatch: expected input (${N}, 1, ${C}), got [${x.shape.join(', ')}]`);
    const qkv = this.turn(linear(x, this.wAttn, this.bAttn), () =>
      Int32Array.from(states, (s) => (s as AttentionState).cache.length),
    ); // (N, 1, 3C)
    const y = Tensor.empty([N, 1, C], x.dtype);
    for (let i = 0; i < N; i++) {
      const cache = (states[i] as AttentionState).cache,
        pos = cache.length;
      const row = qkv.data.subarray(i * 3 * C, (i + 1) * 3 * C);
      cache.store(pos, row, 0);
      attendCached(row, cache, pos, this.nHead, y.data.subarray(i * C, (i + 1) * C));
      cache.length = pos + 1;
    }
    return linear(y, this.wProj, this.bProj);
  }

  /** qkv with its queries and keys turned to their positions (one per row), or as it is without rotary positions. */
  private turn(qkv: Tensor, positions: () => Int32Array): Tensor {
    return this.rotary ? rotary(qkv, 2 * this.C, positions(), this.rotary) : qkv;
  }

  flopsPerToken(context: number): number {
    const C = this.C;
    return 2 * 4 * C * C + 4 * ((context + 1) / 2) * C; // projections + scores and values over the causal average
  }
}
