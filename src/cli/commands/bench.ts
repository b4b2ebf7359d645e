import { InvalidArgumentError, type Command } from 'commander';
import { integerIn, integerListIn, numberIn, repeatable } from '../arguments.js';
import { BACKEND_NAMES, kernels, nativeBackend, wasmBackend, type BackendName } from '../../backend/index.js';
import { UserError } from '../../errors.js';
import { nativeLoadError } from '../../backend/native.js';
import { wasmLoadError } from '../../backend/wasm-file.js';
import { benchDecode } from '../../bench/decode.js';
import { benchOnnxDecode } from '../../bench/onnx-decode.js';
import { benchEngines } from '../../bench/engines.js';
import { benchKernels } from '../../bench/kernels.js';
import { measureNativePeaks, measurePeak, type PeakSource } from '../../bench/peak.js';
import { benchScaling, writeScalingOutputs, type ScalingOptions } from '../../bench/scaling.js';
import {
  DEFAULT_SCALING_MODELS,
  describeScalingModel,
  parseScalingModels,
  SCALING_MODELS,
} from '../../bench/scaling-models.js';
import { scalingTable } from '../../bench/scaling-report.js';
import { benchTrain, DEFAULT_TRAIN_BENCH, STUDY_TRAIN_BENCH, TRAIN_BENCH_CONFIGS } from '../../bench/train.js';
import { runProvenance } from '../../report/provenance.js';
import { benchServe, type ServeBenchOptions } from '../../bench/serve.js';
import { DEFAULT_STREAM_INTERVAL_MS } from '../../serve/app.js';
import { benchBrowser, type BrowserBenchOptions } from '../../bench/browser.js';

/** `hsm bench peak|kernels|train|engines|decode|onnx|scaling|serve|browser`: the benchmarks of src/bench, one subcommand each. */
export function registerBench(program: Command): void {
  const bench = program.command('bench').description('benchmarks (JSON Lines with --json)');
  addPeakBench(bench);
  addKernelsBench(bench);
  addTrainBench(bench);
  addEnginesBench(bench);
  addDecodeBench(bench);
  addOnnxBench(bench);
  addScalingBench(bench);
  addServeBench(bench);
  addBrowserBench(bench);
}

/** Bench sizes: far beyond anything a benchmark on this kind of machine needs, small enough never to exhaust it. */
const threadList = integerListIn(1, 256);
const count = integerIn(1, 1_000_000);
const warmupCount = integerIn(0, 1_000_000);
/** A comma-separated list of backend names. */
function backendList(value: string): BackendName[] {
  const names = value.split(',').map((v) => v.trim());
  const unknown = names.find((n) => !(BACKEND_NAMES as readonly string[]).includes(n));
  if (unknown !== undefined)
    throw new InvalidArgumentError(`unknown backend "${unknown}"; known: ${BACKEND_NAMES.join(', ')}`);
  return [...new Set(names)] as BackendName[];
}

/** The backends, each one available (a benchmark of a silently substituted backend would mislead). */
function availableBackends(names: BackendName[], explicit: boolean): BackendName[] {
  const available = names.filter((n) => n === 'js' || (n === 'native' ? nativeBackend() : wasmBackend()));
  const missing = names.find((n) => !available.includes(n));
  if (missing === undefined || !explicit) return available;
  const why = missing === 'native' ? nativeLoadError() : wasmLoadError();
  throw new UserError(`--backend ${missing}: the ${missing} kernels are not available (${why})`);
}

/** A comma-separated list of `hsm bench train` configuration names. */
function knownConfigs(value: string): string[] {
  const names = value.split(',').map((v) => v.trim());
  const unknown = names.find((n) => !TRAIN_BENCH_CONFIGS[n]);
  if (unknown !== undefined)
    throw new InvalidArgumentError(
      `unknown configuration "${unknown}"; known: ${Object.keys(TRAIN_BENCH_CONFIGS).join(', ')}`,
    );
  return names;
}
const sizeList = integerListIn(1, 1 << 20);

/** The options every benchmark reported against the CPU's ceiling takes. */
function peakOptions(command: Command): Command {
  return command
    .option('--peak-from <file>', 'read the ceiling from `hsm bench peak --json` output instead of measuring it first')
    .option('--no-peak', 'do not report fractions of the ceiling');
}

/** The ceiling's source from those options. */
function peakSource(o: { peak: boolean; peakFrom?: string }, measureMs: number): PeakSource {
  if (!o.peak) return 'none';
  return o.peakFrom !== undefined ? { file: o.peakFrom } : { measureMs };
}

/** `hsm bench peak`: the CPU's FMA throughput, the ceiling the other benchmarks are reported against. */
function addPeakBench(bench: Command): void {
  bench
    .command('peak')
    .description(
      "this CPU's floating-point ceiling: GFLOP/s of independent FMA chains in registers, 1 thread and all threads",
    )
    .option('--json', 'print JSON Lines, one object per measurement')
    .option('--threads <list>', 'thread counts to measure (default: 1 and all of the native backend)', threadList)
    .option('--budget-ms <ms>', 'time spent repeating each measurement', numberIn(0, 3_600_000, { above: true }), 1000)
    .option(
      '--backend <list>',
      'backends to measure (native; wasm: the WebAssembly build, one thread, multiply and add as SIMD128 has no FMA)',
      backendList,
      ['native'],
    )
    .action((o: { json?: boolean; threads?: number[]; budgetMs: number; backend: BackendName[] }) => {
      if (o.backend.includes('js'))
        throw new UserError('--backend js: the js reference has no ceiling worth measuring; choose native or wasm');
      const backends = availableBackends(o.backend, true);
      const print = (r: Record<string, unknown>) =>
        console.log(
          o.json
            ? JSON.stringify(r)
            : `${String(r.backend).padEnd(8)} ${String(r.isa).padEnd(16)} ${String(r.op).padEnd(8)} ` +
                `threads ${String(r.threads).padStart(3)}  ${r.gflops} GFLOP/s (median ${r.gflops_median})`,
        );
      const native = backends.includes('native') ? nativeBackend() : null;
      if (native) for (const r of measureNativePeaks(o.threads ?? [1, native.threads()], o.budgetMs)) print({ ...r });
      const wasm = backends.includes('wasm') ? wasmBackend() : null;
      if (wasm) print({ ...measurePeak(wasm, 1, 'wasm32+simd128', o.budgetMs) });
    });
}

/** `hsm bench kernels`: matmul and attention GFLOP/s, a table or JSON Lines. */
function addKernelsBench(bench: Command): void {
  peakOptions(bench.command('kernels'))
    .description(
      'GFLOP/s of matmul and fused attention per backend and thread count, with numpy.matmul and TF.js-wasm in the same run',
    )
    .option('--json', 'print JSON Lines, one object per measurement')
    .option('--threads <list>', 'thread counts to measure', threadList, [1, 2])
    .option('--budget-ms <ms>', 'time spent repeating each measurement', numberIn(0, 3_600_000, { above: true }), 1500)
    .option(
      '--backend <list>',
      `backends to measure (${BACKEND_NAMES.join(', ')}; default: all that are built); wasm runs one thread`,
      backendList,
    )
    .option('--no-js', 'skip the (slow) js reference backend')
    .option('--no-numpy', 'skip the numpy.matmul comparison')
    .option('--no-tfjs', "skip the TensorFlow.js wasm backend's matmul (measured beside our wasm kernels)")
    .action(
      async (opts: {
        json?: boolean;
        threads: number[];
        budgetMs: number;
        backend?: BackendName[];
        js: boolean;
        numpy: boolean;
        tfjs: boolean;
        peak: boolean;
        peakFrom?: string;
      }) => {
        const rows: Record<string, unknown>[] = [];
        await benchKernels({
          budgetMs: opts.budgetMs,
          peak: peakSource(opts, opts.budgetMs),
          threads: opts.threads,
          backends: availableBackends(
            (opts.backend ?? [...BACKEND_NAMES]).filter((b) => opts.js || b !== 'js'),
            opts.backend !== undefined,
          ),
          numpy: opts.numpy,
          tfjs: opts.tfjs,
          emit: (r) => (opts.json ? console.log(JSON.stringify(r)) : rows.push(r)),
        });
        if (!opts.json) printKernelTable(rows);
      },
    );
}

/** `hsm bench train`: training tokens/s against PyTorch and HSM plans against GPT. */
function addTrainBench(bench: Command): void {
  peakOptions(bench.command('train'))
    .description('training tokens/s of our engine and, in the same run, of an equivalent PyTorch script (JSON Lines)')
    .option('--json', 'print JSON Lines, one object per measurement')
    .option(
      '--configs <list>',
      `configurations: ${Object.keys(TRAIN_BENCH_CONFIGS).join(', ')}; study: the context study's models (${STUDY_TRAIN_BENCH.join(', ')})`,
      (v: string) => v.split(',').flatMap((n) => (n.trim() === 'study' ? STUDY_TRAIN_BENCH : [n])),
      DEFAULT_TRAIN_BENCH,
    )
    .option('--steps <n>', 'timed steps per engine and configuration', count, 30)
    .option('--warmup <n>', 'untimed steps first', warmupCount, 5)
    .option('--threads <n>', 'threads for both engines', integerIn(1, 256))
    .option('--no-torch', 'skip the PyTorch comparison')
    .option(
      '--torch-passive',
      'run PyTorch with OMP_WAIT_POLICY=PASSIVE (its spinning threads fight ours on a loaded 2-core machine)',
    )
    .option('--profile', 'add per-phase and per-kernel times of our engine')
    .option(
      '--rounds <n>',
      'passes over the configurations, the engines taking turns; then the median ratio per configuration',
      integerIn(1, 20),
      1,
    )
    .action(
      (o: {
        json?: boolean;
        configs: string[];
        steps: number;
        warmup: number;
        rounds: number;
        threads?: number;
        torch: boolean;
        torchPassive?: boolean;
        profile?: boolean;
        peak: boolean;
        peakFrom?: string;
      }) => {
        benchTrain({
          peak: peakSource(o, 1000),
          configs: o.configs,
          steps: o.steps,
          warmup: o.warmup,
          threads: o.threads,
          torch: o.torch,
          profile: o.profile,
          rounds: o.rounds,
          torchEnv: o.torchPassive ? { OMP_WAIT_POLICY: 'PASSIVE' } : {},
          emit: (r) => {
            if (o.json) console.log(JSON.stringify(r));
            else if (r.note) console.log(`note: ${r.note}`);
            else if (r.bench === 'train-rounds') console.log(`  over the rounds, ${r.config}: ${JSON.stringify(r)}`);
            else if (r.ratio !== undefined) console.log(`  ratio ${r.config}: ${r.ratio} (${r.ratio_of})`);
            else if (r.bench === 'peak')
              console.log(`peak (${r.isa} ${r.op}, ${r.threads} threads): ${r.gflops} GFLOP/s`);
            else
              console.log(
                `${String(r.config).padEnd(22)} ${String(r.engine).padEnd(6)} ${Math.round(Number(r.tokens_per_s))} tokens/s  ` +
                  `${r.gflops} GFLOP/s` +
                  (r.fraction_of_peak === undefined
                    ? ''
                    : `  ${(100 * Number(r.fraction_of_peak)).toFixed(1)}% of peak`),
              );
          },
        });
      },
    );
}

/** `hsm bench engines`: the native engine against the torch engine (1 and 2 processes) in one run. */
function addEnginesBench(bench: Command): void {
  bench
    .command('engines')
    .description(
      'training tokens/s of the native engine and of --engine torch on 1 and 2 processes, in one run (JSON Lines)',
    )
    .option('--json', 'print JSON Lines, one object per measurement')
    .option('--configs <list>', `configurations: ${Object.keys(TRAIN_BENCH_CONFIGS).join(', ')}`, knownConfigs, [
      'd256-ctx256',
    ])
    .option('--steps <n>', 'timed steps per engine', count, 30)
    .option('--warmup <n>', 'untimed steps first', warmupCount, 5)
    .action(async (o: { json?: boolean; configs: string[]; steps: number; warmup: number }) => {
      await benchEngines({
        configs: o.configs,
        steps: o.steps,
        warmup: o.warmup,
        emit: (r) => {
          if (o.json) console.log(JSON.stringify(r));
          else if (r.ratios) console.log(`  ${r.config}: ${JSON.stringify(r.ratios)} (${r.ratio_of})`);
          else console.log(`${String(r.config).padEnd(22)} ${r.engine}×${r.processes} ${r.tokens_per_s} tokens/s`);
        },
      });
    });
}

/** `hsm bench decode`: ms per generated token at chosen positions. */
function addDecodeBench(bench: Command): void {
  bench
    .command('decode')
    .description('milliseconds per generated token at several positions, per layer plan (JSON Lines with --json)')
    .option('--json', 'print JSON Lines')
    .option('--plans <list>', 'layer plans, separated by ";"', (v: string) => v.split(';'), [
      'hsm:ab*8',
      'hsm:gated*8',
      'attn*8',
    ])
    .option('--positions <list>', 'positions to time', sizeList, [128, 1024, 4096])
    .option('--n-embd <d>', 'model width', integerIn(1, 16384), 256)
    .option(
      '--vocab-size <n>',
      'output head size (50257 = gpt2): sampling cost grows with it',
      integerIn(2, 1 << 21),
      65,
    )
    .option('--batches <list>', 'sequences decoded together (decodeBatch tokens/s)', integerListIn(1, 1024), [1, 16])
    .option(
      '--backend <list>',
      `backends to time side by side (${BACKEND_NAMES.join(', ')}; default: the one in use)`,
      backendList,
    )
    .action(
      (o: {
        json?: boolean;
        backend?: BackendName[];
        plans: string[];
        positions: number[];
        nEmbd: number;
        vocabSize: number;
        batches: number[];
      }) => {
        benchDecode({
          plans: o.plans,
          positions: o.positions,
          nEmbd: o.nEmbd,
          vocabSize: o.vocabSize,
          batches: o.batches,
          backends: o.backend && availableBackends(o.backend, true),
          emit: (r) =>
            console.log(
              o.json
                ? JSON.stringify(r)
                : `${String(r.plan).padEnd(16)} ${String(r.backend).padEnd(7)} ${JSON.stringify(r.ms_per_token)} ms/token, last/first ${r.ratio_last_to_first}; ` +
                    `tokens/s ${JSON.stringify(r.tokens_per_s)}, batched ${JSON.stringify(r.batch_tokens_per_s)}`,
            ),
        });
      },
    );
}

/** `hsm bench onnx`: decoder.onnx in onnxruntime-node beside hsm's own decoding of the same model. */
function addOnnxBench(bench: Command): void {
  bench
    .command('onnx')
    .description(
      "tokens/s of the exported decoder (decoder.onnx in onnxruntime-node) beside hsm's own decoding of the same model, " +
        'steps taking turns (JSON Lines with --json); needs Python with PyTorch to export',
    )
    .option('--json', 'print JSON Lines')
    .option('--plans <list>', 'layer plans, separated by ";"', (v: string) => v.split(';'), [
      'hsm:ab*8',
      'hsm:gated*8',
      'attn*8',
    ])
    .option('--ckpt <dir>', 'time this run folder instead of fresh models of --plans (repeatable)', repeatable, [])
    .option('--positions <list>', 'positions to time', sizeList, [128, 1024])
    .option('--n-embd <d>', 'model width', integerIn(1, 16384), 256)
    .option('--vocab-size <n>', 'output head size', integerIn(2, 1 << 21), 65)
    .option('--batches <list>', 'sequences decoded together', integerListIn(1, 1024), [1, 16])
    .option('--threads <n>', "ONNX Runtime's threads per operator (0: its default, one per core)", integerIn(0, 256), 0)
    .action(
      async (o: {
        json?: boolean;
        plans: string[];
        ckpt: string[];
        positions: number[];
        nEmbd: number;
        vocabSize: number;
        batches: number[];
        threads: number;
      }) => {
        await benchOnnxDecode({
          plans: o.plans,
          ckpts: o.ckpt,
          positions: o.positions,
          nEmbd: o.nEmbd,
          vocabSize: o.vocabSize,
          batches: o.batches,
          threads: o.threads,
          emit: (r) =>
            console.log(
              o.json
                ? JSON.stringify(r)
                : `${String(r.plan).padEnd(16)} ${String(r.engine).padEnd(17)} tokens/s ${JSON.stringify(r.tokens_per_s)}, ` +
                    `batched ${JSON.stringify(r.batch_tokens_per_s)}${r.speed_vs_hsm ? `; ONNX/hsm speed ${JSON.stringify(r.speed_vs_hsm)}` : ''}`,
            ),
        });
      },
    );
}

/** The flags of `hsm bench scaling`: the benchmark's options, with the models as typed. */
type ScalingFlags = Omit<ScalingOptions, 'models' | 'emit' | 'onProgress'> & {
  json?: boolean;
  out?: string;
  models: string;
};

/** `hsm bench scaling`: cost against context, with the table and optional charts. */
function addScalingBench(bench: Command): void {
  bench
    .command('scaling')
    .description(
      'cost against context length: training tokens/s, peak memory and generation ms/token per model, with growth exponents',
    )
    .option('--json', 'print JSON Lines (the table goes to stderr)')
    .option('--out <dir>', 'also write scaling.jsonl and SVG charts to this folder')
    .option(
      '--models <list>',
      `models: ${Object.entries(SCALING_MODELS)
        .map(([k, v]) => `${k} (${describeScalingModel(v)})`)
        .join('; ')}; or name=PLAN[/style=transformer++][/match=PLAN] ({levels} in a plan is ⌈log2 context⌉); ` +
        'the first is the baseline',
      DEFAULT_SCALING_MODELS,
    )
    .option('--contexts <list>', 'context lengths', sizeList, [256, 512, 1024, 2048, 4096, 8192])
    .option('--tokens-per-step <n>', 'tokens per training step at every context (batch = this / context)', count, 8192)
    .option('--positions <list>', 'generation positions to time', sizeList, [128, 1024, 4096, 8000])
    .option('--n-embd <d>', "model width (128 is the GPT baseline's, shakespeare-char-cpu)", integerIn(1, 16384), 128)
    .option('--n-head <h>', 'heads', integerIn(1, 1024), 4)
    .option('--steps <n>', 'timed training steps per measurement', count, 5)
    .option('--warmup <n>', 'untimed steps first', warmupCount, 2)
    .option('--threads <n>', 'threads', integerIn(1, 256))
    .option('--fit-from <t>', 'smallest context in the exponent fit', count, 1024)
    .option('--no-generate', 'skip the generation timings')
    .action(async (o: ScalingFlags) => {
      const { json, out, models, ...measured } = o;
      const records = benchScaling({
        ...measured,
        models: parseScalingModels(models),
        emit: (r) => {
          if (json) console.log(JSON.stringify(r));
        },
        onProgress: (what) => console.error(`hsm bench scaling: ${what}`),
      });
      (json ? console.error : console.log)(scalingTable(records));
      if (out) {
        const files = await writeScalingOutputs(out, records, { bench: 'scaling', ...runProvenance() });
        console.error(`hsm bench scaling: wrote ${files.join(', ')}`);
      }
    });
}

/** The kernels benchmark as a table (without --json). */
function printKernelTable(rows: Record<string, unknown>[]): void {
  console.log(`backend in use: ${kernels().name}`);
  const pad = (s: unknown, n: number) => String(s).padEnd(n);
  console.log(
    pad('op', 20) +
      pad('backend', 11) +
      pad('threads', 9) +
      pad('shape', 20) +
      pad('GFLOP/s', 10) +
      pad('ms', 10) +
      'of peak',
  );
  for (const r of rows) {
    if (r.note) console.log(`note: ${r.note}`);
    else if (r.bench === 'peak')
      console.log(`peak (${r.isa} ${r.op}) ${r.threads} threads: ${(r.gflops as number).toFixed(1)} GFLOP/s`);
    else if (r.ratio !== undefined)
      console.log(`  ratio ${r.ratio_of} ${r.shape} @${r.threads}t: ${(r.ratio as number).toFixed(2)}`);
    else
      console.log(
        pad(r.op, 20) +
          pad(r.backend, 11) +
          pad(r.threads, 9) +
          pad(r.shape, 20) +
          pad((r.gflops as number).toFixed(1), 10) +
          pad((r.ms as number).toFixed(3), 10) +
          (r.fraction_of_peak === undefined ? '' : `${(100 * (r.fraction_of_peak as number)).toFixed(1)}%`),
      );
  }
}

/** `hsm bench serve`: continuous batching under C concurrent streaming clients, on loopback. */
function addServeBench(bench: Command): void {
  bench
    .command('serve')
    .description(
      'tokens/s, time to first token, inter-token latency and server memory of hsm serve under 1, 4, 16, 64 streaming clients ' +
        "(loopback), and server efficiency: its tokens/s over the same model's decodeBatch rate at as many sequences",
    )
    .option('--json', 'print JSON Lines')
    .option(
      '--ckpt <dir>',
      'a trained run folder to serve (repeatable); default: fresh models of --plans',
      repeatable,
      [],
    )
    .option('--plans <list>', 'layer plans of fresh models, separated by ";"', (v: string) => v.split(';'), [
      'hsm:pair*4',
      'attn*4',
    ])
    .option('--n-embd <d>', 'width of fresh models', integerIn(8, 4096), 128)
    .option('--context <n>', 'context of fresh models', integerIn(8, 1 << 16), 2048)
    .option('--concurrency <list>', 'concurrent clients', integerListIn(1, 256), [1, 4, 16, 64])
    .option('--requests <n>', 'requests per concurrency level (at least the concurrency)', integerIn(1, 100_000), 256)
    .option('--max-tokens <n>', 'tokens per request', integerIn(1, 100_000), 64)
    .option('--prompt-tokens <n>', 'prompt length in tokens', integerIn(1, 1 << 16), 16)
    .option('--deadline-s <s>', 'time limit per model and concurrency level', integerIn(1, 3600), 300)
    .option(
      '--stream-interval-ms <ms>',
      "the server's --stream-interval-ms (how long a request's text waits for more tokens before it is written)",
      integerIn(0, 1000),
      DEFAULT_STREAM_INTERVAL_MS,
    )
    .option(
      '--rounds <n>',
      'passes over every model and concurrency in turns; the summary takes the median over them (a shared machine drifts)',
      integerIn(1, 20),
      1,
    )
    .action(async (o: Omit<ServeBenchOptions, 'ckpts' | 'emit'> & { json?: boolean; ckpt: string[] }) => {
      await benchServe({
        ...o,
        ckpts: o.ckpt,
        emit: (r) =>
          console.log(
            o.json
              ? JSON.stringify(r)
              : r.bench === 'serve'
                ? `${r.round ? `round ${String(r.round)}  ` : ''}${String(r.model).padEnd(14)} C=${String(r.concurrency).padStart(3)}  ${r.tokens_per_s} tokens/s  ` +
                  `TTFT p50/p99 ${r.ttft_ms_p50}/${r.ttft_ms_p99} ms  ITL p50/p99 ${r.itl_ms_p50}/${r.itl_ms_p99} ms  ` +
                  `peak RSS ${r.peak_rss_mb} MB  ok ${r.completed}/${r.requests}  ` +
                  `server efficiency ${r.server_efficiency} (of ${r.decode_batch_tokens_per_s} tokens/s decodeBatch)`
                : `${String(r.model).padEnd(14)} throughput ×${JSON.stringify(r.throughput_vs_first)}, ` +
                  `TTFT p99 ×${JSON.stringify(r.ttft_p99_vs_first)}, peak RSS ×${r.peak_rss_last_vs_first}, ` +
                  `server efficiency ${JSON.stringify(r.server_efficiency)}`,
          ),
      });
    });
}

/** `hsm bench browser`: decoding in the exported web page, in headless Chromium on loopback. */
function addBrowserBench(bench: Command): void {
  bench
    .command('browser')
    .description(
      'tokens/s of greedy decoding in the page of hsm export --web (WebAssembly in a Web Worker) in headless Chromium, ' +
        'overall and around two positions, for fresh shakespeare-char-cpu-sized models (loopback only)',
    )
    .option('--json', 'print JSON Lines')
    .option('--plans <list>', 'layer plans, separated by ";"', (v: string) => v.split(';'), [
      'hsm:ab[proj]*4',
      'hsm:pair*4',
      'attn*4',
    ])
    .option('--tokens <n>', 'greedy tokens generated per plan', integerIn(2, 1_000_000), 4100)
    .option('--positions <list>', 'generated-token positions to time', sizeList, [100, 4000])
    .option('--window <n>', 'tokens timed from each position (median reported)', integerIn(2, 100_000), 64)
    .option('--n-embd <d>', 'model width', integerIn(8, 4096), 128)
    .option('--n-head <h>', 'heads', integerIn(1, 1024), 4)
    .option(
      '--context <n>',
      'context of pure HSM models; attention/learned-position models get one the whole generation fits',
      integerIn(1, 1 << 20),
      64,
    )
    .option('--chromium <path>', 'the browser to run', process.env.HSM_CHROMIUM ?? '/usr/bin/chromium')
    .option('--repeats <n>', 'generations per plan (medians reported)', integerIn(1, 100), 3)
    .option('--deadline-s <s>', 'time limit per plan (the generation running then is stopped)', integerIn(1, 3600), 180)
    .action(async (o: Omit<BrowserBenchOptions, 'emit'> & { json?: boolean }) => {
      const { json, ...opts } = o;
      await benchBrowser({
        ...opts,
        emit: (r) =>
          console.log(
            json
              ? JSON.stringify(r)
              : `${String(r.plan).padEnd(16)} ${r.backend}  ${r.tokens_per_s} tokens/s  ms/token ${JSON.stringify(r.ms_per_token)}  ` +
                  `last/first ${r.ratio_last_to_first}  first token ${r.first_token_ms} ms` +
                  (r.bars ? `  bars ${(r.bars as { met: boolean }).met ? 'met' : 'NOT met'}` : ''),
          ),
      });
    });
}
