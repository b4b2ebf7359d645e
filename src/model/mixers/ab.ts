import { add, groupExpand, mul, shiftMix } from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ShiftMixer, type MixerContext } from './mixer.js';

/** The paper's (a, b) mixer: y_t = a·x_t + b·x_{t−s}, scalars a, b per layer (per head group). */
export class AbMixer extends ShiftMixer {
  readonly name = 'ab';
  private readonly a: Tensor;
  private readonly b: Tensor;

  constructor(ctx: MixerContext) {
    super(ctx);
    // a = b = 1: both tokens start with equal weight.
    this.a = ctx.params.add(`${ctx.prefix}.a`, [this.groups], (d) => d.fill(1));
    this.b = ctx.params.add(`${ctx.prefix}.b`, [this.groups], (d) => d.fill(1));
  }

  protected mix(x: Tensor, _prepared: Tensor[], [[xs]]: Tensor[][]): Tensor {
    return add(mul(x, groupExpand(this.a, this.C)), mul(xs, groupExpand(this.b, this.C)));
  }

  protected override fused(x: Tensor): Tensor {
    return shiftMix(x, groupExpand(this.a, this.C), groupExpand(this.b, this.C), this.shifts);
  }

  protected mixFlops(): number {
    return 3 * this.C;
  }
}
