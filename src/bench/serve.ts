// `hsm bench serve`: for each model and each concurrency C, a fresh server
// process on a loopback port and C streaming clients (serve-load.ts, in this
// process); one JSON record per (model, C) with throughput, latency
// percentiles and the server's peak memory, then one summary per model with
// the ratios against one client. Without --ckpt the models are freshly
// initialised (throughput does not depend on the weights).
//
// Server efficiency: before its servers start, the same run folder is loaded
// here as the server loads it (weights packed) and `hsm bench decode`'s
// batched rate is measured for C sequences at the prompt length and token
// count of the requests; each record reports that rate beside the server's
// and their ratio, what the server delivers of what the model can batch.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenizer } from '../data/tokenizers.js';
import { UserError } from '../errors.js';
import { DEFAULT_STREAM_INTERVAL_MS } from '../serve/app.js';
import type { BatcherStats } from '../serve/batcher.js';
import { parsePlan } from '../model/plan.js';
import { Transformer } from '../model/transformer.js';
import { AdamW } from '../optim/adamw.js';
import { Rng } from '../tensor/random.js';
import { CHECKPOINT_FORMAT, loadModel, saveCheckpoint } from '../train/checkpoint.js';
import { parseTrainConfig, resolveModelConfig } from '../train/config.js';
import { percentile, runLoad } from './serve-load.js';
import { startServerProcess } from './serve-process.js';
import { median, round } from './timing.js';

export interface ServeBenchOptions {
  /** Trained run folders; without them, fresh models of `plans`. */
  ckpts: string[];
  plans: string[];
  nEmbd: number;
  context: number;
  concurrency: number[];
  /** Requests per concurrency level (at least C). */
  requests: number;
  maxTokens: number;
  promptTokens: number;
  /** Time limit per (model, C). */
  deadlineS: number;
  /** The server's --stream-interval-ms (default: the server's default). */
  streamIntervalMs?: number;
  /**
   * Passes over every model and concurrency, in turns (default 1): each record carries its round, and each
   * model's summary takes the median over rounds, so a drift of the shared machine lands on every setting alike.
   */
  rounds?: number;
  emit: (record: Record<string, unknown>) => void;
}

/**
 * A run folder holding a freshly initialised model, as `hsm train` would write
 * it at step 0: byte tokenizer by default, or a char tokenizer whose vocabulary
 * is the characters of `opts.text`.
 */
export function writeFreshRun(
  dir: string,
  plan: string,
  nEmbd: number,
  context: number,
  opts: { tokenizer?: 'byte' | 'char' | 'gpt2'; text?: string; nHead?: number } = {},
): void {
  const kind = opts.tokenizer ?? 'byte';
  const train = parseTrainConfig({
    out: dir,
    tokenizer: kind,
    model: { plan, nEmbd, nHead: opts.nHead ?? 4, blockSize: context },
  });
  const tokenizer = createTokenizer(kind, opts.text ?? '');
  const model = new Transformer(resolveModelConfig(train.model, tokenizer.vocabSize), { seed: train.seed });
  const optimizer = new AdamW(model.params.list, { lr: train.lr });
  saveCheckpoint(
    dir,
    { format: CHECKPOINT_FORMAT, train, model: model.config, tokenizer: tokenizer.toJSON() },
    model,
    optimizer,
    { step: 0, rng: new Rng(train.seed).state(), bestValLoss: null, elapsedS: 0 },
  );
}

/** Plain ASCII text of n bytes (= n tokens for the byte tokenizer; about n for char models of English). */
function promptOf(n: number): string {
  const words = 'the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches ';
  return words.repeat(Math.ceil(n / words.length)).slice(0, n);
}

export async function benchServe(opts: ServeBenchOptions): Promise<void> {
  let runs: { name: string; dir: string }[];
  if (opts.ckpts.length) runs = opts.ckpts.map((dir) => ({ name: dir, dir }));
  else {
    const root = mkdtempSync(join(tmpdir(), 'hsm-bench-serve-'));
    runs = opts.plans.map((plan, i) => {
      parsePlan(plan); // a bad plan fails here, before any server starts
      const dir = join(root, `model-${i}`);
      writeFreshRun(dir, plan, opts.nEmbd, opts.context);
      return { name: plan, dir };
    });
  }
  const prompt = promptOf(opts.promptTokens);
  const maxC = Math.max(...opts.concurrency);
  const rounds = opts.rounds ?? 1;
  for (const run of runs) checkPromptRoom(run.dir, opts.promptTokens);
  // Records by model, then concurrency (one per round).
  const byModel = new Map(runs.map((run) => [run.name, opts.concurrency.map(() => [] as ServeRecord[])]));
  for (let pass = 1; pass <= rounds; pass++) {
    for (const run of runs) {
      for (const [i, C] of opts.concurrency.entries()) {
        const record = await measureServer(run, C, maxC, prompt, opts);
        const out = rounds > 1 ? { round: pass, ...record } : record;
        byModel.get(run.name)![i].push(record);
        opts.emit(out);
      }
    }
  }
  for (const run of runs) {
    // Per concurrency, the median over rounds; the ratios then compare those medians.
    const perC = byModel.get(run.name)!.map((records) => medianRecord(records));
    const first = perC[0],
      last = perC[perC.length - 1];
    const ratio = (key: keyof MedianRecord, r: MedianRecord) => round(r[key] / first[key], 2);
    opts.emit({
      bench: 'serve-summary',
      model: run.name,
      concurrency: opts.concurrency,
      ...(rounds > 1 && { rounds, of_rounds: 'the median over rounds, per concurrency' }),
      throughput_vs_first: perC.map((r) => ratio('tokens_per_s', r)),
      ttft_p99_vs_first: perC.map((r) => ratio('ttft_ms_p99', r)),
      peak_rss_last_vs_first: ratio('peak_rss_mb', last),
      server_efficiency: Object.fromEntries(perC.map((r, i) => [String(opts.concurrency[i]), r.server_efficiency])),
      ...(rounds > 1 && {
        server_efficiency_range: Object.fromEntries(
          byModel
            .get(run.name)!
            .map((records, i) => [String(opts.concurrency[i]), rangeOf(records.map((r) => r.server_efficiency))]),
        ),
      }),
    });
  }
}

type ServeRecord = Record<string, unknown> & {
  tokens_per_s: number;
  ttft_ms_p99: number;
  peak_rss_mb: number;
  server_efficiency: number;
};
type MedianRecord = Pick<ServeRecord, 'tokens_per_s' | 'ttft_ms_p99' | 'peak_rss_mb' | 'server_efficiency'>;

function medianRecord(records: ServeRecord[]): MedianRecord {
  const of = (key: keyof MedianRecord) => median(records.map((r) => r[key]));
  return {
    tokens_per_s: of('tokens_per_s'),
    ttft_ms_p99: of('ttft_ms_p99'),
    peak_rss_mb: of('peak_rss_mb'),
    server_efficiency: of('server_efficiency'),
  };
}

function rangeOf(values: number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

/** One (model, C): a fresh server process, a warm-up load, the measured load, then the model's own rate there. */
async function measureServer(
  run: { name: string; dir: string },
  C: number,
  maxC: number,
  prompt: string,
  opts: ServeBenchOptions,
): Promise<ServeRecord> {
  const server = await startServerProcess({
    ckpts: [run.dir],
    host: '127.0.0.1',
    port: 0,
    parallel: maxC,
    maxQueue: 4 * maxC,
    maxTokensLimit: opts.maxTokens,
    streamIntervalMs: opts.streamIntervalMs,
  });
  try {
    const model = run.dir.split('/').pop()!;
    const load = { url: server.url, model, maxTokens: opts.maxTokens, prompt };
    // Warm-up (JIT, buffer pools) at the same concurrency, not measured.
    await runLoad({ ...load, concurrency: C, requests: C, deadlineMs: opts.deadlineS * 1000 });
    const before = await server.stats(),
      clientCpu0 = process.cpuUsage();
    const r = await runLoad({
      ...load,
      concurrency: C,
      requests: Math.max(C, opts.requests),
      deadlineMs: opts.deadlineS * 1000,
    });
    const clientCpu = process.cpuUsage(clientCpu0);
    const after = await server.stats();
    // The same model's decodeBatch rate at C sequences, timed in the server's process after the load.
    const modelRate = await server.decodeRate(C, opts.promptTokens, opts.maxTokens);
    const tokensPerS = round(r.tokens / r.wallS, 1);
    return {
      bench: 'serve',
      model: run.name,
      concurrency: C,
      requests: r.requests,
      completed: r.completed,
      errors: r.errors,
      malformed: r.malformed,
      lost: r.lost,
      prompt_tokens: opts.promptTokens,
      max_tokens: opts.maxTokens,
      tokens_per_s: tokensPerS,
      // The same model's decodeBatch rate at C sequences, measured above, and the share of it the server delivers.
      decode_batch_tokens_per_s: modelRate,
      server_efficiency: round(tokensPerS / modelRate, 4),
      ttft_ms_p50: round(percentile(r.ttftMs, 50), 2),
      ttft_ms_p99: round(percentile(r.ttftMs, 99), 2),
      itl_ms_p50: round(percentile(r.itlMs, 50), 3),
      itl_ms_p99: round(percentile(r.itlMs, 99), 3),
      // Text chunks a request arrived in (the server gathers a request's tokens for up to this interval).
      stream_interval_ms: opts.streamIntervalMs ?? DEFAULT_STREAM_INTERVAL_MS,
      chunks_per_request: r.completed > 0 ? round(r.itlMs.length / r.completed + 1, 2) : 0,
      ...stepTimes(before.batcher, after.batcher, r.wallS, C, modelRate),
      peak_rss_mb: round(after.peakRssBytes / 2 ** 20, 1),
      // Cores busy on average (2 = both of this machine's): the server's process and the load generator's.
      server_cpu: round((after.cpuS - before.cpuS) / r.wallS, 2),
      client_cpu: round((clientCpu.user + clientCpu.system) / 1e6 / r.wallS, 2),
    };
  } finally {
    await server.stop();
  }
}

/**
 * Where the server's time per scheduling step went during the load, in ms, beside decodeBatch's median step for
 * the same C sequences: the server's efficiency is that median step over the server's wall time per C tokens.
 * Model passes include the prefill of joining prompts (`prefill_step_share` of the steps had one); the full-batch
 * decode pass is the server's counterpart of decodeBatch's step; "outside" is the event loop's HTTP work.
 */
function stepTimes(b0: BatcherStats, b1: BatcherStats, wallS: number, C: number, modelRate: number) {
  const steps = b1.steps - b0.steps;
  if (steps === 0) return {};
  const per = (key: keyof BatcherStats) => round((b1[key] - b0[key]) / steps, 3);
  const stepMs = b1.stepMs - b0.stepMs,
    fullSteps = b1.fullDecodeSteps - b0.fullDecodeSteps;
  return {
    steps,
    tokens_per_step: per('tokens'),
    prefill_step_share: per('prefillSteps'),
    step_ms: {
      wall: round((wallS * 1000) / steps, 3),
      model_passes: per('passMs'),
      sampling: per('sampleMs'),
      scheduling: round((stepMs - (b1.passMs - b0.passMs) - (b1.sampleMs - b0.sampleMs)) / steps, 3),
      outside_steps: round((wallS * 1000 - stepMs) / steps, 3),
      full_decode_pass: fullSteps > 0 ? round((b1.fullDecodeMs - b0.fullDecodeMs) / fullSteps, 3) : null,
      decode_batch_median: round((C * 1000) / modelRate, 3),
    },
  };
}

/** A prompt of `promptTokens` must leave room to decode in the model's context (checked before any server starts). */
function checkPromptRoom(dir: string, promptTokens: number): void {
  const { model } = loadModel(dir);
  if (promptTokens + 11 >= model.maxDecodeLength)
    throw new UserError(
      `--prompt-tokens ${promptTokens}: leaves no room to decode in ${dir}'s context of ${model.maxDecodeLength} ` +
        `tokens; give at most ${model.maxDecodeLength - 12}`,
    );
}
