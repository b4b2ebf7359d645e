import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernels } from '../backend/index.js';
import { UserError } from '../errors.js';
import { parsePlan } from '../model/plan.js';
import { Transformer, type InferenceState } from '../model/transformer.js';
import { exportModelGraphs } from '../serve/onnx-graphs.js';
import { OnnxDecoder, type OnnxDecoderState } from '../serve/onnx-runtime.js';
import { loadModel } from '../train/checkpoint.js';
import { median } from './timing.js';

/**
 * `hsm bench onnx`: the exported decoder (decoder.onnx in onnxruntime-node)
 * beside hsm's own decoding of the same model, in one run. Each step of one
 * engine is followed by the same step of the other, so a busy machine slows
 * both alike. One sequence token by token from position 0, timed around each
 * position (the median step); then N sequences advanced together, from
 * position 16. No sampling: the logits are the output.
 */
export interface OnnxBenchOptions {
  plans: string[];
  /** Run folders to time instead of fresh models of `plans`. */
  ckpts?: string[];
  positions: number[];
  nEmbd?: number;
  nHead?: number;
  vocabSize?: number;
  batches?: number[];
  /** Steps timed from each position on. */
  window?: number;
  /** ONNX Runtime's threads per operator (0: its default, one per core). */
  threads?: number;
  emit: (record: Record<string, unknown>) => void;
}

const BATCH_PROMPT = 16;
const BATCH_STEPS = 40;

export async function benchOnnxDecode(opts: OnnxBenchOptions): Promise<void> {
  const window = opts.window ?? 64;
  const last = Math.max(...opts.positions) + window;
  const models: { name: string; model: Transformer }[] = opts.ckpts?.length
    ? opts.ckpts.map((dir) => ({ name: dir, model: loadModel(dir).model }))
    : opts.plans.map((plan) => ({
        name: plan,
        model: new Transformer({
          vocabSize: opts.vocabSize ?? 65,
          blockSize: last + 1,
          nLayer: parsePlan(plan).length,
          nHead: opts.nHead ?? 4,
          nEmbd: opts.nEmbd ?? 256,
          plan,
        }),
      }));
  const root = mkdtempSync(join(tmpdir(), 'hsm-bench-onnx-'));
  try {
    const dirs = models.map((_, i) => join(root, `model-${i}`));
    dirs.forEach((d) => mkdirSync(d));
    await exportModelGraphs(
      models.map((m) => m.model),
      dirs,
    );
    for (let i = 0; i < models.length; i++) await benchModel(models[i].name, models[i].model, dirs[i], opts, window);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function benchModel(
  name: string,
  model: Transformer,
  dir: string,
  opts: OnnxBenchOptions,
  window: number,
): Promise<void> {
  const V = model.config.vocabSize;
  const positions = opts.positions.filter((p) => p + window <= model.maxDecodeLength);
  if (!positions.length)
    throw new UserError(
      `${name}: no position of --positions ${opts.positions.join(',')} fits its context of ${model.maxDecodeLength} ` +
        `with ${window} steps timed after it; give positions up to ${model.maxDecodeLength - window}`,
    );
  const last = Math.max(...positions) + window;
  const decoder = await OnnxDecoder.open(dir, { threads: opts.threads ?? 0 });
  // Warm-up of both: the JIT and scratch buffers here, ONNX Runtime's allocations there.
  const warmOurs = model.newState(),
    warmOnnx = decoder.newState(1);
  for (let i = 0; i < 32; i++) {
    model.decodeStep(i % V, warmOurs);
    await decoder.step([i % V], warmOnnx);
  }

  const ours: InferenceState = model.newState();
  const onnx: OnnxDecoderState = decoder.newState(1);
  const samples = { ours: new Map<number, number[]>(), onnx: new Map<number, number[]>() };
  for (const p of positions) {
    samples.ours.set(p, []);
    samples.onnx.set(p, []);
  }
  const onnxBytes = new Map<number, number>();
  for (let pos = 0; pos < last; pos++) {
    const token = (pos * 7) % V;
    let t0 = performance.now();
    model.decodeStep(token, ours);
    const msOurs = performance.now() - t0;
    t0 = performance.now();
    await decoder.step([token], onnx);
    const msOnnx = performance.now() - t0;
    for (const p of positions)
      if (pos >= p && pos < p + window) {
        samples.ours.get(p)!.push(msOurs);
        samples.onnx.get(p)!.push(msOnnx);
        if (pos === p) onnxBytes.set(p, decoder.stateBytes(onnx));
      }
  }
  const batches = opts.batches ?? [1, 16];
  // Batches read packed weights, as hsm serve's do (one sequence gains nothing from them, so hsm generate does not pack).
  const packed = kernels().name === 'native';
  if (packed) model.packWeights();
  const batch = await timeBatches(model, decoder, batches);
  await decoder.release();

  const perPosition = (m: Map<number, number[]>) =>
    Object.fromEntries([...m].map(([p, xs]) => [String(p), Number(median(xs).toFixed(4))]));
  const msOurs = perPosition(samples.ours),
    msOnnx = perPosition(samples.onnx);
  const tokensPerS = (ms: Record<string, number>) =>
    Object.fromEntries(Object.entries(ms).map(([p, v]) => [p, Number((1000 / v).toFixed(1))]));
  const common = {
    bench: 'onnx-decode',
    plan: name,
    n_embd: model.config.nEmbd,
    vocab_size: V,
    // how busy the machine was (both engines took turns through the same load)
    load_average_1m: Number(loadavg()[0].toFixed(2)),
  };
  opts.emit({
    ...common,
    engine: `hsm-${kernels().name}`,
    ms_per_token: msOurs,
    tokens_per_s: tokensPerS(msOurs),
    batch_tokens_per_s: batch.ours,
    packed_weights: packed,
    // ring buffers, and KV caches allocated for the whole context
    state_bytes: model.decodeStateBytes(),
  });
  opts.emit({
    ...common,
    engine: 'onnxruntime-node',
    threads: opts.threads ?? 0,
    ms_per_token: msOnnx,
    tokens_per_s: tokensPerS(msOnnx),
    batch_tokens_per_s: batch.onnx,
    // at each timed position: windows of fixed size, KV caches as long as the position
    state_bytes: Object.fromEntries(onnxBytes),
    // > 1: ONNX Runtime decodes faster than hsm
    speed_vs_hsm: Object.fromEntries(Object.keys(msOnnx).map((p) => [p, Number((msOurs[p] / msOnnx[p]).toFixed(3))])),
  });
}

/** Tokens/s of N sequences advanced together from position 16 (the median step), both engines step by step in turn. */
async function timeBatches(
  model: Transformer,
  decoder: OnnxDecoder,
  batches: number[],
): Promise<{ ours: Record<string, number>; onnx: Record<string, number> }> {
  const V = model.config.vocabSize;
  const ours: Record<string, number> = {},
    onnx: Record<string, number> = {};
  const prompt = Int32Array.from({ length: BATCH_PROMPT }, (_, i) => i % V);
  const steps = Math.min(BATCH_STEPS, model.maxDecodeLength - BATCH_PROMPT - 1);
  for (const N of batches) {
    const states = Array.from({ length: N }, () => {
      const s = model.newState();
      model.prefill(prompt, s);
      return s;
    });
    const rows = states.map(() => new Float32Array(V));
    const state = decoder.newState(N);
    for (let i = 0; i < BATCH_PROMPT; i++) await decoder.step(new Array<number>(N).fill(prompt[i]), state);
    const tokens = new Array<number>(N).fill(1);
    const msOurs: number[] = [],
      msOnnx: number[] = [];
    for (let i = 0; i < steps; i++) {
      let t0 = performance.now();
      model.decodeBatchInto(tokens, states, rows);
      msOurs.push(performance.now() - t0);
      t0 = performance.now();
      await decoder.step(tokens, state);
      msOnnx.push(performance.now() - t0);
    }
    // the first few steps warm up each batch size
    ours[N] = Number(((N * 1000) / median(msOurs.slice(5))).toFixed(1));
    onnx[N] = Number(((N * 1000) / median(msOnnx.slice(5))).toFixed(1));
  }
  return { ours, onnx };
}
