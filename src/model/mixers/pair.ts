import { add, columns, groupExpand, groupSum, linear, mul, scale, sigmoid, sub } from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { optionalBias, ShiftMixer, type MixerContext } from './mixer.js';

/**
 * Attention restricted to the pair {t, t−s}, per head (the model's nHead heads):
 * y_t = W_o Σ_{u∈{t,t−s}} softmax_u(q_t·k_u/√d_h) v_u.
 * A softmax over two scores is σ(s_t − s_{t−s}). The keys and values are what
 * gets shifted, so for t < s the partner is a zero key and value [ours].
 * The output projection W_o is always on.
 */
export class PairMixer extends ShiftMixer {
  readonly name = 'pair';
  private readonly heads: number;
  private readonly wq: Tensor;
  private readonly bq: Tensor | null;
  private readonly wkv: Tensor;
  private readonly bkv: Tensor | null;

  constructor(ctx: MixerContext) {
    super({ ...ctx, options: { ...ctx.options, proj: true } });
    const C = this.C;
    this.heads = ctx.nHead;
    this.wq = ctx.params.add(`${ctx.prefix}.q.weight`, [C, C], (d) => ctx.rng.fillNormal(d, 0.02));
    this.bq = optionalBias(ctx, `${ctx.prefix}.q.bias`, C);
    this.wkv = ctx.params.add(`${ctx.prefix}.kv.weight`, [2 * C, C], (d) => ctx.rng.fillNormal(d, 0.02));
    this.bkv = optionalBias(ctx, `${ctx.prefix}.kv.bias`, 2 * C);
  }

  /** Keys and values are what the shift reads. */
  protected override prepare(x: Tensor): Tensor[] {
    const kv = linear(x, this.wkv, this.bkv); // (…, 2C)
    return [columns(kv, 0, this.C), columns(kv, this.C, this.C)];
  }

  protected override get preparedCount(): number {
    return 2;
  }

  protected mix(x: Tensor, [k, v]: Tensor[], [[kp, vp]]: Tensor[][]): Tensor {
    const C = this.C,
      H = this.heads,
      inv = 1 / Math.sqrt(C / H);
    const q = linear(x, this.wq, this.bq);
    // (…, H) score difference → weight of the current token per head
    const p = sigmoid(scale(sub(groupSum(mul(q, k), H), groupSum(mul(q, kp), H)), inv));
    return add(vp, mul(groupExpand(p, C), sub(v, vp)));
  }

  protected mixFlops(): number {
    return 6 * this.C * this.C + 10 * this.C;
  }
}
