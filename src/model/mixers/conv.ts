import { add, mul } from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ShiftMixer, type MixerContext } from './mixer.js';

/** Depthwise dilated causal convolution: y_t = Σ_{j<k} w_j ⊙ x_{t−j·s}, k taps (option k, default 3). */
export class ConvMixer extends ShiftMixer {
  readonly name = 'conv';
  private readonly taps: Tensor[];

  constructor(ctx: MixerContext) {
    super(ctx);
    const k = Number(ctx.options.k ?? 3); // range-checked by the registry
    // One [C] weight vector per tap, all starting at 1 (an unweighted sum, like ab's a = b = 1).
    this.taps = Array.from({ length: k }, (_, j) => ctx.params.add(`${ctx.prefix}.w${j}`, [this.C], (d) => d.fill(1)));
  }

  override get lags(): number[][] {
    return this.taps.slice(1).map((_, i) => this.shifts.map((s) => (i + 1) * s));
  }

  protected mix(x: Tensor, _prepared: Tensor[], past: Tensor[][]): Tensor {
    let y = mul(x, this.taps[0]);
    past.forEach(([xs], j) => (y = add(y, mul(xs, this.taps[j + 1]))));
    return y;
  }

  protected mixFlops(): number {
    return 2 * this.taps.length * this.C;
  }
}
