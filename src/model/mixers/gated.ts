import { add, linear, mul, sigmoid, sub } from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { optionalBias, ShiftMixer, type MixerContext } from './mixer.js';

/**
 * Data-dependent gate: g = σ(W_g [x_t; x_{t−s}] + c), y_t = g ⊙ x_t + (1 − g) ⊙ x_{t−s}.
 * W_g is stored as its two halves (w_self acting on x_t, w_prev on x_{t−s}).
 */
export class GatedMixer extends ShiftMixer {
  readonly name = 'gated';
  private readonly wSelf: Tensor;
  private readonly wPrev: Tensor;
  private readonly c: Tensor | null;

  constructor(ctx: MixerContext) {
    super(ctx);
    const C = this.C;
    this.wSelf = ctx.params.add(`${ctx.prefix}.gate.w_self`, [C, C], (d) => ctx.rng.fillNormal(d, 0.02));
    this.wPrev = ctx.params.add(`${ctx.prefix}.gate.w_prev`, [C, C], (d) => ctx.rng.fillNormal(d, 0.02));
    this.c = optionalBias(ctx, `${ctx.prefix}.gate.bias`, C); // g starts near 1/2
  }

  protected mix(x: Tensor, _prepared: Tensor[], [[xs]]: Tensor[][]): Tensor {
    const g = sigmoid(add(linear(x, this.wSelf, this.c), linear(xs, this.wPrev)));
    // g ⊙ x + (1 − g) ⊙ xs = xs + g ⊙ (x − xs)
    return add(xs, mul(g, sub(x, xs)));
  }

  protected mixFlops(): number {
    return 4 * this.C * this.C + 6 * this.C;
  }
}
