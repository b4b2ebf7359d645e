import { FMA_PEAK_LANES } from '../kernels.js';

/**
 * The reference of the FMA throughput probe (Kernels.fmaPeak), for checking the compiled ones: the same chains,
 * one lane after another. Each step rounds x·a + b to float32 once from its float64 value; a fused step rounds
 * once from the exact value, so the two agree wherever the steps are exact, as in every use of the probe.
 */
export function fmaPeak(a: number, b: number, iterations: number, tasks: number): number {
  const fa = Math.fround(a),
    fb = Math.fround(b);
  let lanes = 0;
  for (let l = 0; l < FMA_PEAK_LANES; l++) {
    let x = Math.fround(l);
    for (let i = 0; i < iterations; i++) x = Math.fround(x * fa + fb);
    lanes += x;
  }
  return lanes * tasks;
}
