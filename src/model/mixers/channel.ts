import { add, mul, shiftMix } from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ShiftMixer, type MixerContext } from './mixer.js';

/** Per-channel weights: y_t = a ⊙ x_t + b ⊙ x_{t−s}, a, b ∈ R^d. */
export class ChannelMixer extends ShiftMixer {
  readonly name = 'channel';
  private readonly a: Tensor;
  private readonly b: Tensor;

  constructor(ctx: MixerContext) {
    super(ctx);
    this.a = ctx.params.add(`${ctx.prefix}.a`, [this.C], (d) => d.fill(1));
    this.b = ctx.params.add(`${ctx.prefix}.b`, [this.C], (d) => d.fill(1));
  }

  protected mix(x: Tensor, _prepared: Tensor[], [[xs]]: Tensor[][]): Tensor {
    return add(mul(x, this.a), mul(xs, this.b));
  }

  protected override fused(x: Tensor): Tensor {
    return shiftMix(x, this.a, this.b, this.shifts);
  }

  protected mixFlops(): number {
    return 3 * this.C;
  }
}
