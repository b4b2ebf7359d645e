import { add, linear } from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { optionalBias, ShiftMixer, type MixerContext } from './mixer.js';

/** Full linear projection of the pair: y_t = W_0 x_t + W_1 x_{t−s} + c. */
export class LinearMixer extends ShiftMixer {
  readonly name = 'linear';
  private readonly w0: Tensor;
  private readonly w1: Tensor;
  private readonly c: Tensor | null;

  constructor(ctx: MixerContext) {
    super(ctx);
    const C = this.C;
    this.w0 = ctx.params.add(`${ctx.prefix}.w_self.weight`, [C, C], (d) => ctx.rng.fillNormal(d, 0.02));
    this.w1 = ctx.params.add(`${ctx.prefix}.w_prev.weight`, [C, C], (d) => ctx.rng.fillNormal(d, 0.02));
    this.c = optionalBias(ctx, `${ctx.prefix}.bias`, C);
  }

  protected mix(x: Tensor, _prepared: Tensor[], [[xs]]: Tensor[][]): Tensor {
    return add(linear(x, this.w0, this.c), linear(xs, this.w1));
  }

  protected mixFlops(): number {
    return 4 * this.C * this.C + 2 * this.C;
  }
}
