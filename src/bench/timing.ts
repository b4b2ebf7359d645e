/**
 * Timing for benchmarks: warm up, then repeat until a time budget is spent and
 * report the best and median run. The best run is the least disturbed by the
 * other tenants of a shared machine; the median says how noisy it was.
 */
import { median } from '../report/stats.js';

export { median }; // the benchmarks' median is the one every report uses

export interface Timing {
  bestMs: number;
  medianMs: number;
  reps: number;
}

export function measure(fn: () => void, opts: { budgetMs?: number; minReps?: number; maxReps?: number } = {}): Timing {
  const budget = opts.budgetMs ?? 1000,
    minReps = opts.minReps ?? 3,
    maxReps = opts.maxReps ?? 1000;
  fn(); // warm-up: page in buffers, wake threads, grow scratch space
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || (times.length < maxReps && performance.now() - start < budget)) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { bestMs: times[0], medianMs: times[Math.floor(times.length / 2)], reps: times.length };
}

export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}

/** x rounded to `digits` decimals, for JSON records. */
export function round(x: number, digits = 3): number {
  return Number(x.toFixed(digits));
}
