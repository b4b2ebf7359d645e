import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsKernels, nativeBackend, wasmBackend, type BackendName, type Kernels } from '../backend/index.js';
import { Rng } from '../tensor/random.js';
import { ceilingCheck, fractionOfPeak, resolvePeaks, type PeakRecord, type PeakSource } from './peak.js';
import { gflops, measure } from './timing.js';

/** One JSON Lines record of `hsm bench kernels`. */
export interface KernelRecord {
  bench: 'kernels';
  op: string;
  backend: string;
  threads: number;
  shape: string;
  gflops: number;
  ms: number;
  median_ms?: number;
  reps?: number;
  [extra: string]: unknown;
}

export const MATMUL_SHAPES: [number, number, number][] = [
  [4096, 256, 768],
  [4096, 768, 256],
  [4096, 256, 256],
  [1024, 1024, 1024],
  [256, 256, 256],
];
export const ATTENTION_SHAPE = { b: 8, h: 4, t: 256, dh: 64 };

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  rng.fillNormal(a);
  return a;
}

function matmulRecord(K: Kernels, threads: number, [m, k, n]: number[], budgetMs: number, variant = ''): KernelRecord {
  const rng = new Rng(1);
  const transA = variant === 'At',
    transB = variant === 'Bt';
  const a = randomArray(rng, m * k),
    b = randomArray(rng, k * n),
    c = new Float32Array(m * n);
  const t = measure(() => K.matmul(a, b, c, m, k, n, { transA, transB }), {
    budgetMs,
    minReps: K.name === 'js' ? 1 : 3,
  });
  return {
    bench: 'kernels',
    op: variant ? `matmul_${variant}` : 'matmul',
    backend: K.name,
    threads,
    shape: `${m}x${k}x${n}`,
    gflops: gflops(2 * m * k * n, t.bestMs),
    ms: t.bestMs,
    median_ms: t.medianMs,
    reps: t.reps,
  };
}

/**
 * Forward FLOPs counted over the causal triangle, 2·B·H·T·(T+1)·Dh (scores and values for the keys each query
 * sees, as `hsm info` counts them and the kernel computes them: it skips the masked blocks), backward as 2.5×
 * that; `gflops_dense` uses the dense 4·B·H·T²·Dh some attention benchmarks quote, which credits the kernel with
 * about twice the multiply-adds it runs, so only the causal count may be set against the FMA peak.
 */
export function attentionRecords(
  K: Kernels,
  threads: number,
  budgetMs: number,
  shape = ATTENTION_SHAPE,
): KernelRecord[] {
  const { b, h, t, dh } = shape;
  const C = h * dh,
    rng = new Rng(2);
  const qkv = randomArray(rng, b * t * 3 * C),
    out = new Float32Array(b * t * C),
    lse = new Float32Array(b * h * t);
  const dout = randomArray(rng, b * t * C),
    dqkv = new Float32Array(b * t * 3 * C);
  const flops = 2 * b * h * t * (t + 1) * dh,
    denseFlops = 4 * b * h * t * t * dh;
  const label = `B${b}xH${h}xT${t}xD${dh}`;
  const opts = { budgetMs, minReps: K.name === 'js' ? 1 : 3 };
  const fwd = measure(() => K.attentionForward(qkv, out, lse, b, t, h, dh), opts);
  const bwd = measure(() => K.attentionBackward(qkv, out, lse, dout, dqkv, b, t, h, dh), opts);
  return [
    {
      bench: 'kernels',
      op: 'attention_forward',
      backend: K.name,
      threads,
      shape: label,
      gflops: gflops(flops, fwd.bestMs),
      gflops_dense: gflops(denseFlops, fwd.bestMs),
      ms: fwd.bestMs,
      median_ms: fwd.medianMs,
      reps: fwd.reps,
      flop_count: '2*B*H*T*(T+1)*D',
    },
    {
      bench: 'kernels',
      op: 'attention_backward',
      backend: K.name,
      threads,
      shape: label,
      gflops: gflops(2.5 * flops, bwd.bestMs),
      gflops_dense: gflops(2.5 * denseFlops, bwd.bestMs),
      ms: bwd.bestMs,
      median_ms: bwd.medianMs,
      reps: bwd.reps,
      flop_count: '5*B*H*T*(T+1)*D',
    },
  ];
}

/** numpy.matmul timings from Debian's python3-numpy (OpenBLAS), or a reason why there are none. */
function numpyRecords(threads: number, shapes: number[][]): KernelRecord[] | string {
  const script = fileURLToPath(new URL('../../../tools/bench_numpy_matmul.py', import.meta.url));
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const { OPENBLAS_CORETYPE: _c, OPENBLAS_L2_SIZE: _l, ...env } = process.env;
  const run = spawnSync(python, [script, String(threads), ...shapes.map((s) => s.join('x'))], {
    env: { ...env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
    encoding: 'utf8',
  });
  if (run.status !== 0) return (run.stderr || run.error?.message || 'python3 failed').trim().split('\n').pop()!;
  return run.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as KernelRecord);
}

type TfCore = typeof import('@tensorflow/tfjs-core');
type TfWasm = typeof import('@tensorflow/tfjs-backend-wasm');

/**
 * TensorFlow.js's WebAssembly backend (XNNPACK) made current on one thread, or why it could not be. Its packages
 * are devDependencies, imported on demand, so that the benchmark runs without them.
 */
async function loadTfjsWasm(): Promise<{ tf: TfCore; wasm: TfWasm; simd: boolean } | string> {
  let tf: TfCore, wasm: TfWasm;
  try {
    tf = await import('@tensorflow/tfjs-core');
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
      return '@tensorflow/tfjs-core and @tensorflow/tfjs-backend-wasm are not installed (they are devDependencies)';
    return `cannot load TensorFlow.js: ${(err as Error).message}`;
  }
  try {
    // The backend reads its .wasm from this folder (a file path in Node). TF.js never picks its threaded binary in
    // Node; the flag says so again, and XNNPACK gets one thread, like our wasm kernels.
    const dist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setWasmPaths(dist + path.sep);
    wasm.setThreadsCount(1);
    if (!(await tf.setBackend('wasm'))) return 'the TensorFlow.js wasm backend failed to initialize';
    await tf.ready();
    return { tf, wasm, simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true };
  } catch (err) {
    return `the TensorFlow.js wasm backend failed to initialize: ${(err as Error).message}`;
  }
}

/**
 * tf.matMul on TF.js's wasm backend per shape, timed like matmulRecord (the same inputs, made once), the copy of
 * the product out of the wasm heap (dataSync) included, as our kernels write theirs into the caller's array.
 */
async function tfjsWasmRecords(shapes: number[][], budgetMs: number): Promise<KernelRecord[] | string> {
  const loaded = await loadTfjsWasm();
  if (typeof loaded === 'string') return loaded;
  const { tf, wasm, simd } = loaded;
  const records: KernelRecord[] = [];
  for (const [m, k, n] of shapes) {
    const rng = new Rng(1);
    const a = tf.tensor2d(randomArray(rng, m * k), [m, k]),
      b = tf.tensor2d(randomArray(rng, k * n), [k, n]);
    try {
      const t = measure(
        () => {
          const c = tf.matMul(a, b);
          c.dataSync();
          c.dispose();
        },
        { budgetMs, minReps: 3 },
      );
      records.push({
        bench: 'kernels',
        op: 'matmul',
        backend: 'tfjs-wasm',
        threads: wasm.getThreadsCount(),
        shape: `${m}x${k}x${n}`,
        gflops: gflops(2 * m * k * n, t.bestMs),
        ms: t.bestMs,
        median_ms: t.medianMs,
        reps: t.reps,
        isa: simd ? 'wasm32+simd128' : 'wasm32',
        version: wasm.version_wasm,
      });
    } finally {
      a.dispose();
      b.dispose();
    }
  }
  return records;
}

export interface KernelBenchOptions {
  budgetMs?: number;
  threads?: number[];
  /** Backends to measure (default: native, wasm, js); wasm runs single-threaded. */
  backends?: BackendName[];
  numpy?: boolean;
  /** Measure TensorFlow.js's wasm backend too when wasm is among the backends (default: true). */
  tfjs?: boolean;
  /** The CPU's ceiling each record is reported against (default: measured first, for as long as one measurement). */
  peak?: PeakSource;
  emit: (record: Record<string, unknown>) => void;
}

/** The matmul shapes, the two transposed forms training uses (x·Wᵀ forward, dYᵀ·X weight gradient) and attention. */
function compiledRecords(K: Kernels, threads: number, budget: number, ours: Map<string, number>): KernelRecord[] {
  const records: KernelRecord[] = [];
  for (const shape of MATMUL_SHAPES) {
    const r = matmulRecord(K, threads, shape, budget);
    ours.set(`${K.name}:${threads}:${r.shape}`, r.gflops);
    records.push(r);
  }
  records.push(matmulRecord(K, threads, [4096, 256, 768], budget, 'Bt'));
  records.push(matmulRecord(K, threads, [768, 4096, 256], budget, 'At'));
  records.push(...attentionRecords(K, threads, budget));
  return records;
}

/**
 * Runs the kernel benchmark, emitting one record per measurement, then the ratios to numpy (and wasm's to native
 * and to TensorFlow.js's wasm backend).
 */
export async function benchKernels(opts: KernelBenchOptions): Promise<void> {
  const budget = opts.budgetMs ?? 1500;
  const backends = opts.backends ?? ['native', 'wasm', 'js'];
  const threadCounts = opts.threads ?? [1, 2];
  const ours = new Map<string, number>();
  const native = backends.includes('native') ? nativeBackend() : null;
  // Every measurement against the CPU's ceiling at its thread count (single-threaded backends at one).
  const peakThreads = [...(native ? threadCounts : []), ...(backends.some((b) => b !== 'native') ? [1] : [])];
  const peaks = resolvePeaks(opts.peak ?? { measureMs: budget }, peakThreads, 'kernels', opts.emit);
  const emit = opts.emit,
    check = ceilingCheck('kernels', emit);
  opts = {
    ...opts,
    emit: (r) => {
      const withFraction = withPeak(r, peaks);
      emit(withFraction);
      check(withFraction.fraction_of_peak);
    },
  };
  if (native) {
    const initial = native.threads();
    for (const threads of threadCounts) {
      native.setThreads(threads);
      for (const r of compiledRecords(native, threads, budget, ours)) opts.emit({ ...r, isa: native.isa });
    }
    native.setThreads(initial);
  } else if (backends.includes('native')) {
    opts.emit({ bench: 'kernels', note: 'native backend unavailable' });
  }
  const wasm = backends.includes('wasm') ? wasmBackend() : null;
  if (wasm) {
    for (const r of compiledRecords(wasm, 1, budget, ours)) opts.emit({ ...r, isa: 'wasm32+simd128' });
    if (native) {
      for (const [m, k, n] of MATMUL_SHAPES) {
        const shape = `${m}x${k}x${n}`,
          w = ours.get(`wasm:1:${shape}`),
          nat = ours.get(`native:1:${shape}`);
        if (w !== undefined && nat !== undefined)
          opts.emit({ bench: 'kernels', op: 'matmul', shape, threads: 1, ratio: w / nat, ratio_of: 'wasm/native' });
      }
    }
  } else if (backends.includes('wasm')) {
    opts.emit({ bench: 'kernels', note: 'wasm backend unavailable (npm run build writes dist/wasm/hsm.wasm)' });
  }
  if (backends.includes('wasm') && (opts.tfjs ?? true)) {
    const records = await tfjsWasmRecords(MATMUL_SHAPES, budget);
    if (typeof records === 'string') opts.emit({ bench: 'kernels', note: `tfjs-wasm comparison skipped: ${records}` });
    else {
      for (const r of records) opts.emit(r);
      for (const r of records) {
        const w = ours.get(`wasm:1:${r.shape}`);
        if (w !== undefined)
          opts.emit({
            bench: 'kernels',
            op: 'matmul',
            shape: r.shape,
            threads: 1,
            ratio: w / r.gflops,
            ratio_of: 'wasm/tfjs-wasm',
          });
      }
    }
  }
  if (backends.includes('js')) {
    opts.emit(matmulRecord(jsKernels, 1, [256, 256, 256], budget));
    for (const r of attentionRecords(jsKernels, 1, budget)) opts.emit(r);
  }
  if ((opts.numpy ?? true) && native) {
    for (const threads of threadCounts) {
      const records = numpyRecords(threads, MATMUL_SHAPES);
      if (typeof records === 'string') {
        opts.emit({ bench: 'kernels', note: `numpy comparison skipped: ${records}` });
        break;
      }
      for (const r of records) {
        opts.emit(r);
        const mine = ours.get(`native:${threads}:${r.shape}`);
        if (mine !== undefined) {
          opts.emit({
            bench: 'kernels',
            op: 'matmul',
            shape: r.shape,
            threads,
            ratio: mine / r.gflops,
            ratio_of: 'native/numpy',
          });
        }
      }
    }
  }
}

/** A measurement record with its fraction of the ceiling at its thread count (records without GFLOP/s pass as they are). */
function withPeak(r: Record<string, unknown>, peaks: Map<number, PeakRecord>): Record<string, unknown> {
  if (r.bench !== 'kernels' || typeof r.gflops !== 'number' || typeof r.threads !== 'number') return r;
  return { ...r, ...fractionOfPeak(r.gflops, peaks.get(r.threads)) };
}
