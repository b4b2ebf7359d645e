import { kernels } from '../backend/index.js';
import type { FloatArray } from '../backend/kernels.js';
import { allocate } from '../tensor/buffer-pool.js';
import type { Tensor } from '../tensor/tensor.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Global-norm gradient clipping threshold; 0 or undefined disables it. */
  gradClip?: number;
  /** Which parameters get weight decay; default: those with 2 or more dimensions (nanoGPT's rule). */
  decays?: (p: Tensor) => boolean;
}

/**
 * AdamW with decoupled weight decay and global-norm gradient clipping, with
 * torch.optim.AdamW + torch.nn.utils.clip_grad_norm_ arithmetic. The update
 * of each parameter is one fused kernel call; clipping costs one Σg² pass.
 */
export class AdamW {
  readonly params: Tensor[];
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly gradClip: number;
  /** First and second moments, one pair per parameter (state to checkpoint). */
  readonly m: FloatArray[];
  readonly v: FloatArray[];
  private readonly decayMask: boolean[];
  stepCount = 0;

  constructor(params: Tensor[], opts: AdamWOptions) {
    this.params = params;
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.gradClip = opts.gradClip ?? 0;
    const decays = opts.decays ?? ((p: Tensor) => p.ndim >= 2);
    this.decayMask = params.map(decays);
    this.m = params.map((p) => allocate(p.dtype, p.size));
    this.v = params.map((p) => allocate(p.dtype, p.size));
  }

  /** √(Σ over all parameters of Σ g²): the global gradient norm. */
  gradNorm(): number {
    const K = kernels();
    let total = 0;
    for (const p of this.params) if (p.grad) total += K.sumSquares(p.grad, p.size);
    return Math.sqrt(total);
  }

  /** Clips (if configured) and updates every parameter; returns the pre-clip gradient norm. */
  step(): number {
    const K = kernels();
    const norm = this.gradNorm();
    // Same rule as torch.nn.utils.clip_grad_norm_: scale by max/(norm + 1e-6) when that is < 1.
    const clip = this.gradClip > 0 ? Math.min(1, this.gradClip / (norm + 1e-6)) : 1;
    this.stepCount++;
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i];
      if (!p.grad) continue;
      K.adamw(p.data, p.grad, this.m[i], this.v[i], p.size, {
        lr: this.lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: this.decayMask[i] ? this.weightDecay : 0,
        gradScale: clip,
        step: this.stepCount,
      });
    }
    return norm;
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }
}
