// Numeric helpers for kernel and gradient tests: random tensors, a relative error, a finite-difference gradient check.
import { Tape } from '../src/autograd/tape.js';
import { withBackend } from '../src/backend/index.js';
import { Rng } from '../src/tensor/random.js';
import { Tensor, type Shape } from '../src/tensor/tensor.js';

export function randomTensor(rng: Rng, shape: Shape, dtype: 'float32' | 'float64' = 'float64', scale = 1): Tensor {
  const t = Tensor.zeros(shape, dtype);
  rng.fillNormal(t.data, scale);
  return t;
}

export function randomInts(rng: Rng, n: number, max: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(max);
  return out;
}

/** max |a − b| / max(|b|, floor): a relative error robust to tiny reference values. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let diff = 0,
    mag = floor;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return Infinity;
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    mag = Math.max(mag, Math.abs(b[i]));
  }
  return diff / mag;
}

/**
 * Float64 finite-difference gradient check on the js backend.
 * L = Σ f(inputs) ⊙ R for a fixed random R; the analytic ∂L/∂input from the
 * tape is compared with central differences (h = 1e-6) on every element.
 * Returns the worst relative error over all inputs.
 */
export function gradCheck(f: (inputs: Tensor[]) => Tensor, inputs: Tensor[], seed = 7): number {
  return withBackend('js', () => {
    for (const x of inputs) {
      if (x.dtype !== 'float64') throw new Error('gradCheck needs float64 inputs');
      x.requiresGrad = true;
      x.grad = null;
    }
    const rng = new Rng(seed);
    // Probe output once to size R.
    const probe = f(inputs);
    const r = new Float64Array(probe.size);
    rng.fillNormal(r);
    const objective = (): number => {
      const out = f(inputs);
      let s = 0;
      for (let i = 0; i < out.size; i++) s += out.data[i] * r[i];
      return s;
    };
    const tape = new Tape();
    const out = tape.record(() => f(inputs));
    tape.backward(out, r);
    const analytic = inputs.map((x) => Float64Array.from(x.grad ?? new Float64Array(x.size)));
    tape.release();
    let worst = 0;
    const h = 1e-6;
    inputs.forEach((x, k) => {
      const numeric = new Float64Array(x.size);
      for (let i = 0; i < x.size; i++) {
        const keep = x.data[i];
        x.data[i] = keep + h;
        const up = objective();
        x.data[i] = keep - h;
        const down = objective();
        x.data[i] = keep;
        numeric[i] = (up - down) / (2 * h);
      }
      worst = Math.max(worst, relError(analytic[k], numeric, 1e-2));
    });
    return worst;
  });
}
