/**
 * `hsm bench peak`: this CPU's floating-point ceiling in GFLOP/s, from the
 * fmaPeak kernel (native/kernels/fma_peak.cc: independent FMA chains that
 * never leave the registers), at each thread count. The other benchmarks
 * measure it in the same run (or read it from this benchmark's output) and
 * report their GFLOP/s as a fraction of it.
 *
 * Every timed call is checked: with a = −1, b = 1 each step maps x to 1 − x
 * exactly, so after an even number of steps every lane is back where it
 * started and the kernel must return the sum of the starting values. A kernel
 * that skipped work would return something else, and the benchmark fails
 * rather than report a number for work that was not done.
 */
import { readFileSync } from 'node:fs';
import { FMA_PEAK_LANES, nativeBackend, type Kernels } from '../backend/index.js';
import { UserError } from '../errors.js';
import { measure, round } from './timing.js';

/** One JSON Lines record of `hsm bench peak`. */
export interface PeakRecord {
  bench: 'peak';
  backend: string;
  isa: string;
  /** 'fma' where the ISA has fused multiply-add (AVX2, AVX-512); 'mul+add' otherwise (the same two FLOPs). */
  op: 'fma' | 'mul+add';
  threads: number;
  /** From the fastest call: the ceiling the least disturbed run reached. */
  gflops: number;
  gflops_median: number;
  ms: number;
  median_ms: number;
  reps: number;
  /** Per call: tasks of FMA_PEAK_LANES lanes, each lane `iterations` steps. */
  tasks: number;
  iterations: number;
  flops_per_call: number;
}

/** The ISAs whose fmaPeak runs a multiply and an add instead of an FMA. */
const NO_FMA = new Set(['generic', 'wasm32+simd128']);
/** Shortest call worth timing: long against the timer and the pool's wake-up, short against the budget. */
const CALL_MS = 20;

/** What fmaPeak must return for `tasks` tasks after an even number of steps of x ← 1 − x. */
const startingSum = (tasks: number) => (tasks * FMA_PEAK_LANES * (FMA_PEAK_LANES - 1)) / 2;

/**
 * Measures the ceiling of kernels `K` at the thread count the caller has set
 * (`threads` is reported; the wasm and js backends run one). The caller
 * passes `isa` as the record should name it.
 */
export function measurePeak(K: Kernels, threads: number, isa: string, budgetMs = 1000): PeakRecord {
  // Several tasks per thread: the pool hands them out as threads come free.
  const tasks = 4 * threads;
  const run = (iterations: number) => {
    const got = K.fmaPeak(-1, 1, iterations, tasks);
    if (got !== startingSum(tasks))
      throw new Error(
        `fmaPeak (${K.name}, ${isa}) returned ${got}, expected ${startingSum(tasks)}: the kernel is broken`,
      );
  };
  // Calibrate: double the (even) step count until the faster of two calls takes CALL_MS (one call alone may
  // have been slowed down by another process).
  let iterations = 1024;
  const timed = () => {
    const t0 = performance.now();
    run(iterations);
    return performance.now() - t0;
  };
  while (Math.min(timed(), timed()) < CALL_MS && iterations < 2 ** 40) iterations *= 2;
  const t = measure(() => run(iterations), { budgetMs, minReps: 3 });
  const flops = 2 * FMA_PEAK_LANES * iterations * tasks;
  return {
    bench: 'peak',
    backend: K.name,
    isa,
    op: NO_FMA.has(isa) ? 'mul+add' : 'fma',
    threads,
    gflops: round(flops / (t.bestMs * 1e6), 2),
    gflops_median: round(flops / (t.medianMs * 1e6), 2),
    ms: round(t.bestMs),
    median_ms: round(t.medianMs),
    reps: t.reps,
    tasks,
    iterations,
    flops_per_call: flops,
  };
}

/** The native backend's ceiling at each thread count (its thread count restored after). */
export function measureNativePeaks(threadCounts: number[], budgetMs = 1000): PeakRecord[] {
  const native = nativeBackend();
  if (!native) return [];
  const initial = native.threads();
  try {
    return [...new Set(threadCounts)].map((threads) => {
      native.setThreads(threads);
      return measurePeak(native, threads, native.isa, budgetMs);
    });
  } finally {
    native.setThreads(initial);
  }
}

/**
 * GFLOP/s of the ceiling by thread count, from `hsm bench peak --json` output
 * (the native records; where a thread count appears more than once, its
 * highest). Bad files are user errors naming the problem.
 */
export function readPeaks(file: string): Map<number, PeakRecord> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`--peak-from ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const peaks = new Map<number, PeakRecord>();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let r: Partial<PeakRecord>;
    try {
      r = JSON.parse(line) as Partial<PeakRecord>;
    } catch {
      throw new UserError(`--peak-from ${file}: line ${i + 1} is not JSON (give the output of hsm bench peak --json)`);
    }
    if (r.bench !== 'peak' || r.backend !== 'native') return;
    if (!Number.isInteger(r.threads) || !(typeof r.gflops === 'number' && r.gflops > 0))
      throw new UserError(`--peak-from ${file}: line ${i + 1} has no positive gflops and integer threads`);
    const known = peaks.get(r.threads!);
    if (!known || known.gflops < r.gflops) peaks.set(r.threads!, r as PeakRecord);
  });
  if (peaks.size === 0)
    throw new UserError(`--peak-from ${file}: no native peak records in it (give the output of hsm bench peak --json)`);
  return peaks;
}

/**
 * Where the other benchmarks get the ceiling from: measured in the same run
 * (the default), read from `hsm bench peak --json` output, or not at all.
 */
export type PeakSource = { measureMs: number } | { file: string } | 'none';

/** The ceiling by thread count for `threadCounts` (an empty map for 'none' or without the native addon). */
export function resolvePeaks(
  source: PeakSource,
  threadCounts: number[],
  bench: string,
  emit: (record: Record<string, unknown>) => void,
): Map<number, PeakRecord> {
  if (source === 'none') return new Map();
  if ('file' in source) {
    const peaks = readPeaks(source.file);
    const missing = threadCounts.filter((t) => !peaks.has(t));
    if (missing.length)
      throw new UserError(
        `--peak-from ${source.file}: no peak at ${missing.join(', ')} thread(s); it has ${[...peaks.keys()].join(', ')} ` +
          `(run hsm bench peak --threads ${[...new Set(threadCounts)].join(',')} --json)`,
      );
    return peaks;
  }
  // Every fraction depends on it: at least a second per thread count, whatever the benchmark's own budget.
  const records = measureNativePeaks(threadCounts, Math.max(source.measureMs, 1000));
  if (records.length === 0)
    emit({ bench, note: 'no fraction of peak: the native addon (which measures it) is not available' });
  for (const r of records) emit(r as unknown as Record<string, unknown>);
  return new Map(records.map((r) => [r.threads, r]));
}

/** The fields a record gains from the ceiling at its thread count: the peak and `gflops` as a fraction of it. */
export function fractionOfPeak(
  gflops: number,
  peak: PeakRecord | undefined,
  key = 'fraction_of_peak',
): Record<string, number | string> {
  if (!peak) return {};
  return { peak_gflops: peak.gflops, [key]: round(gflops / peak.gflops, 5) };
}

/**
 * Emits, once per run, a note when a measurement exceeds the ceiling: the ceiling's measurement was disturbed by
 * another process (or the ceiling came from another machine), so every fraction of that run reads high.
 */
export function ceilingCheck(
  bench: string,
  emit: (record: Record<string, unknown>) => void,
): (fraction: unknown) => void {
  let noted = false;
  return (fraction) => {
    if (noted || typeof fraction !== 'number' || fraction <= 1) return;
    noted = true;
    emit({
      bench,
      note:
        'a measurement exceeds the measured peak: the peak was measured while something else ran (or comes from ' +
        'another machine), so the fractions of this run read high; rerun on a quiet machine or give --peak-from',
    });
  };
}
