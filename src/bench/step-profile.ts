/**
 * The profile pass of `hsm bench train --profile`: every phase of a training
 * step and every kernel call timed, each kernel call attributed to the phase
 * it ran in. A separate pass, so the headline timings carry no instrumentation.
 */
import type { Kernels, MatmulOptions } from '../backend/index.js';
import { STEP_PHASES, type StepPhase } from '../train/step.js';
import { median, round } from './timing.js';

/**
 * Wraps every kernel of K to add its wall time to the current phase; returns
 * the accumulators and a function that restores the original kernels.
 */
function instrument(K: Kernels, phase: () => StepPhase) {
  const byKernel = new Map<string, { ms: number; calls: number }>(); // "phase kernel"
  const byMatmul = new Map<string, { ms: number; calls: number; flops: number }>(); // "phase shape"
  const target = K as unknown as Record<string, unknown>;
  const originals = new Map<string, unknown>();
  for (const [name, fn] of Object.entries(target)) {
    if (typeof fn !== 'function' || name === 'threads' || name === 'setThreads') continue;
    originals.set(name, fn);
    const f = fn as (...args: unknown[]) => unknown;
    target[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      const r = f.apply(K, args);
      const ms = performance.now() - t0;
      const key = `${phase()} ${name}`;
      const e = byKernel.get(key) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls++;
      byKernel.set(key, e);
      if (name === 'matmul') {
        const [, , , m, k, n, o] = args as [
          unknown,
          unknown,
          unknown,
          number,
          number,
          number,
          MatmulOptions | undefined,
        ];
        const batch = o?.batch ?? 1;
        const shape = `${batch > 1 ? `${batch}x` : ''}${m}x${k}x${n}${o?.transA ? ' At' : ''}${o?.transB ? ' Bt' : ''}${o?.accumulate ? ' acc' : ''}`;
        const mk = `${phase()} ${shape}`;
        const me = byMatmul.get(mk) ?? { ms: 0, calls: 0, flops: 0 };
        me.ms += ms;
        me.calls++;
        me.flops += 2 * m * k * n * batch;
        byMatmul.set(mk, me);
      }
      return r;
    };
  }
  const restore = () => {
    for (const [name, fn] of originals) target[name] = fn;
  };
  return { byKernel, byMatmul, restore };
}

/** A second pass of `steps` steps with every phase and kernel call timed. */
export function profileSteps(
  K: Kernels,
  steps: number,
  warmup: number,
  step: (i: number, mark: (p: StepPhase) => void) => void,
) {
  let phase: StepPhase = 'zero_grad';
  const phaseTimes = new Map<StepPhase, number[]>(STEP_PHASES.map((p) => [p, []]));
  const inst = instrument(K, () => phase);
  try {
    for (let i = 0; i < steps; i++) {
      const perPhase = new Map<StepPhase, number>();
      phase = 'zero_grad';
      let last = performance.now();
      step(warmup + i, (p) => {
        const now = performance.now();
        perPhase.set(phase, (perPhase.get(phase) ?? 0) + now - last);
        phase = p;
        last = now;
      });
      perPhase.set(phase, (perPhase.get(phase) ?? 0) + performance.now() - last);
      for (const p of STEP_PHASES) phaseTimes.get(p)!.push(perPhase.get(p) ?? 0);
    }
  } finally {
    inst.restore();
  }
  const profile: Record<string, number> = {};
  for (const p of STEP_PHASES) profile[`${p}_ms`] = round(median(phaseTimes.get(p)!));
  // Kernel time per step (mean over the pass) by phase, and the rest of each phase: JS, autograd and allocation overhead.
  const kernelsMs: Record<string, Record<string, number>> = {};
  const kernelTotal = new Map<string, number>();
  for (const [key, e] of [...inst.byKernel].sort((a, b) => b[1].ms - a[1].ms)) {
    const [p, kernel] = key.split(' ');
    (kernelsMs[p] ??= {})[kernel] = round(e.ms / steps);
    kernelTotal.set(p, (kernelTotal.get(p) ?? 0) + e.ms / steps);
  }
  const overhead: Record<string, number> = {};
  for (const p of STEP_PHASES) {
    const mean = phaseTimes.get(p)!.reduce((a, b) => a + b, 0) / steps;
    overhead[`${p}_ms`] = round(mean - (kernelTotal.get(p) ?? 0));
  }
  const matmuls = [...inst.byMatmul]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([key, e]) => {
      const [p, ...shape] = key.split(' ');
      return {
        phase: p,
        shape: shape.join(' '),
        calls_per_step: e.calls / steps,
        ms_per_step: round(e.ms / steps),
        gflops: round(e.flops / (e.ms * 1e6), 1),
      };
    });
  return {
    profile,
    profile_of: 'median per phase over a second pass of `steps` steps; optimizer = global-norm clip + AdamW step',
    profile_kernels_ms: kernelsMs,
    profile_overhead_ms: overhead,
    profile_overhead_of: 'mean phase time minus the time inside kernel calls: JS, autograd and buffer-pool work',
    profile_matmuls: matmuls,
  };
}
