import { kernels, withBackend, type BackendName, type WasmKernels } from '../backend/index.js';
import { Sampler, type SamplingOptions } from '../generate/sampler.js';
import type { BlockStyleName } from '../model/block-style.js';
import { parsePlan } from '../model/plan.js';
import { Transformer } from '../model/transformer.js';
import { Rng } from '../tensor/random.js';
import { median } from './timing.js';

/** Decode steps timed from each position on (the median is reported). */
export const DECODE_WINDOW = 64;

export interface DecodeBenchOptions {
  plans: string[];
  /** Block style and FFN width of every plan (default gpt2 and the style's own width). */
  style?: BlockStyleName;
  ffnHidden?: number;
  positions: number[];
  nEmbd?: number;
  nHead?: number;
  /** Vocabulary (output head) size: 65 as Shakespeare's characters, 50257 as gpt2's tokens. */
  vocabSize?: number;
  /** Decode steps timed around each position (median reported). */
  window?: number;
  /** Sequences advanced together by decodeBatch (continuous batching's model-side ceiling). */
  batches?: number[];
  /** Backends to time each plan on, side by side (default: the one in use). */
  backends?: BackendName[];
  emit: (record: Record<string, unknown>) => void;
}

/** The sampling settings timed against greedy decoding: common defaults of OpenAI-style servers. */
const SAMPLING_MODES: Record<string, SamplingOptions> = {
  greedy: { temperature: 0, topK: 0, topP: 1 },
  top_k40_top_p095: { temperature: 0.8, topK: 40, topP: 0.95 },
  top_p095: { temperature: 0.8, topK: 0, topP: 0.95 },
  temperature_only: { temperature: 0.8, topK: 0, topP: 1 },
};

/**
 * Time per generated token at several positions, for each plan: one sequence
 * decoded token by token through the mixers' recurrent forms (ring buffers,
 * KV caches). A throwaway sequence warms the JIT up first so early positions
 * are not charged for compilation.
 */
export function benchDecode(opts: DecodeBenchOptions): void {
  const backends = opts.backends ?? [kernels().name as BackendName];
  for (const plan of opts.plans) {
    for (const backend of backends) withBackend(backend, () => benchPlan(plan, opts));
  }
}

function benchPlan(plan: string, opts: DecodeBenchOptions): void {
  const C = opts.nEmbd ?? 256,
    H = opts.nHead ?? 4,
    window = opts.window ?? DECODE_WINDOW,
    V = opts.vocabSize ?? 65;
  const last = Math.max(...opts.positions) + window;
  const model = new Transformer({
    vocabSize: V,
    blockSize: Math.max(last, 300) + 1,
    nLayer: parsePlan(plan).length,
    nHead: H,
    nEmbd: C,
    plan,
    style: opts.style,
    ffnHidden: opts.ffnHidden,
  });
  // On wasm the weights stay resident in the module's memory, as the browser worker keeps them.
  const weights = model.params.list.map((p) => p.data as Float32Array);
  (kernels() as Partial<WasmKernels>).pin?.(weights);
  const warm = model.newState();
  model.forward(Int32Array.of(1), 1, 1, warm);
  for (let i = 0; i < 300; i++) model.decodeStep(i % V, warm);
  // Decode batches before and after packing the weights, side by side (packing applies natively only);
  // a first pass over the batch sizes warms the JIT up for both.
  const batches = opts.batches ?? [1, 16];
  const native = kernels().name === 'native';
  if (native) batches.forEach((N) => decodeBatchRate(model, N));
  const unpacked = native ? batches.map((N) => decodeBatchRate(model, N)) : null;
  model.packWeights(); // as hsm serve does
  const state = model.newState();
  model.forward(Int32Array.of(1), 1, 1, state);
  const samples = new Map<number, number[]>(opts.positions.map((p) => [p, []]));
  for (let pos = 1; pos < last; pos++) {
    const t0 = performance.now();
    model.decodeStep(pos % V, state);
    const ms = performance.now() - t0;
    for (const p of opts.positions) if (pos >= p && pos < p + window) samples.get(p)!.push(ms);
  }
  const ms = Object.fromEntries([...samples].map(([p, xs]) => [String(p), Number(median(xs).toFixed(4))]));
  const first = ms[String(opts.positions[0])],
    final = ms[String(opts.positions[opts.positions.length - 1])];
  opts.emit({
    bench: 'decode',
    plan,
    backend: kernels().name,
    n_embd: C,
    vocab_size: V,
    ms_per_token: ms,
    ratio_last_to_first: Number((final / first).toFixed(3)),
    ...timeSampling(model, window),
    batch_tokens_per_s: Object.fromEntries(batches.map((N) => [N, decodeBatchRate(model, N)])),
    ...(unpacked && {
      batch_tokens_per_s_unpacked_weights: Object.fromEntries(batches.map((N, i) => [N, unpacked[i]])),
    }),
  });
  (kernels() as Partial<WasmKernels>).unpin?.(weights);
}

/**
 * Tokens/s of decode step + sampling, greedy and with each sampling mode, from
 * one sequence near position 0; the modes take turns token by token so a
 * noisy machine slows them alike. `sampling_overhead` is each mode's time per
 * token over greedy's, minus 1.
 */
function timeSampling(model: Transformer, window: number): Record<string, unknown> {
  const sampler = new Sampler();
  const rng = new Rng(1);
  const modes = Object.entries(SAMPLING_MODES);
  const samples = modes.map((): number[] => []);
  const state = model.newState();
  // One logits buffer rewritten in place, as a generation stream keeps.
  const logits = model.prefill(Int32Array.of(1), state);
  const steps = Math.min(window * modes.length * 2, model.maxDecodeLength - 2);
  for (let i = 0; i < steps; i++) {
    const m = i % modes.length;
    const t0 = performance.now();
    const token = sampler.sample(logits, modes[m][1], rng);
    model.decodeBatchInto([token], [state], [logits]);
    samples[m].push(performance.now() - t0);
  }
  const ms = samples.map((xs) => median(xs));
  return {
    tokens_per_s: Object.fromEntries(modes.map(([name], m) => [name, Number((1000 / ms[m]).toFixed(1))])),
    sampling_overhead: Object.fromEntries(
      modes.slice(1).map(([name], j) => [name, Number((ms[j + 1] / ms[0] - 1).toFixed(3))]),
    ),
  };
}

/**
 * Tokens/s of decodeBatch advancing N sequences together, each prefilled with `promptTokens` tokens, over `steps`
 * timed steps after 10 untimed ones (fewer where the model's context ends first); no sampling; from the median step.
 * `hsm bench serve` measures the same model's rate with it, as the reference its server efficiency is taken against.
 */
export function decodeBatchRate(model: Transformer, N: number, promptTokens = 16, steps = 50): number {
  const prompt = Int32Array.from({ length: promptTokens }, (_, i) => i % model.config.vocabSize);
  const states = Array.from({ length: N }, () => {
    const s = model.newState();
    model.prefill(prompt, s);
    return s;
  });
  const tokens = new Array<number>(N).fill(1);
  const rows = states.map(() => new Float32Array(model.config.vocabSize)); // each stream's own, as the server's
  const warmup = 10;
  const last = Math.min(warmup + steps, model.maxDecodeLength - prompt.length - 1);
  for (let i = 0; i < warmup; i++) model.decodeBatchInto(tokens, states, rows);
  // The median step, as for ms_per_token: a mean over 50 steps of a few
  // hundred microseconds is at the mercy of one descheduling on a shared machine.
  const ms: number[] = [];
  for (let i = warmup; i < last; i++) {
    const t0 = performance.now();
    model.decodeBatchInto(tokens, states, rows);
    ms.push(performance.now() - t0);
  }
  return Number(((N * 1000) / median(ms)).toFixed(1));
}
