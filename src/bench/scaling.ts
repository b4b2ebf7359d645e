/**
 * `hsm bench scaling`: cost against context length, training and generation.
 * The default models see the whole context at every length and have the same
 * parameters (scaling-models.ts); every record states each model's
 * parameters, receptive field and coverage.
 *
 * Training: every context runs the same number of tokens per step (the batch
 * shrinks as the context grows), so a linear-cost model keeps its tokens/s and
 * a quadratic one loses them. Each (model, context) runs in a fresh process
 * (scaling-worker.ts) so its peak resident set is its own.
 * Generation: one sequence per model, decoded token by token through the
 * streaming caches (ring buffers, KV cache); time per new token at each
 * position (the median over DECODE_WINDOW tokens from there). A model that
 * changes with the context ("{levels}") is decoded once per context.
 * The growth exponent is the least-squares slope of log(time per sequence)
 * against log(context): 1 for linear cost, 2 for quadratic.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { makeFolder } from '../io/folders.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernels, nativeBackend } from '../backend/index.js';
import { UserError } from '../errors.js';
import { scalingCharts } from './scaling-report.js';
import { resolveScalingModel, type ResolvedScalingModel, type ScalingModel } from './scaling-models.js';
import type { JobModel, ScalingJob } from './scaling-worker.js';
import { DECODE_WINDOW } from './decode.js';
import { round } from './timing.js';

/** Vocabulary of every model (Shakespeare's characters). */
const VOCAB = 65;

export interface ScalingOptions {
  /** (name, model); the first is the baseline the speedups are relative to. */
  models: [string, ScalingModel][];
  contexts: number[];
  tokensPerStep: number;
  positions: number[];
  nEmbd: number;
  nHead: number;
  steps: number;
  warmup: number;
  threads?: number;
  /** Smallest context included in the exponent fit. */
  fitFrom: number;
  generate: boolean;
  emit: (record: Record<string, unknown>) => void;
  /** Called before each measurement starts (progress on stderr). */
  onProgress?: (what: string) => void;
}

/** Least-squares slope of log y against log x. */
export function logLogSlope(xs: number[], ys: number[]): number {
  const lx = xs.map(Math.log),
    ly = ys.map(Math.log),
    n = xs.length;
  const mx = lx.reduce((a, b) => a + b, 0) / n,
    my = ly.reduce((a, b) => a + b, 0) / n;
  let num = 0,
    den = 0;
  for (let i = 0; i < n; i++) {
    num += (lx[i] - mx) * (ly[i] - my);
    den += (lx[i] - mx) ** 2;
  }
  return num / den;
}

function runWorker(job: ScalingJob): Record<string, unknown> {
  const worker = fileURLToPath(new URL('./scaling-worker.js', import.meta.url));
  const run = spawnSync(process.execPath, [worker, JSON.stringify(job)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`scaling worker failed (${job.kind} ${job.model.plan}): ${run.stderr.trim()}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

function validate(o: ScalingOptions): void {
  const bad = (what: string) => {
    throw new UserError(what);
  };
  if (o.models.length === 0) bad('give at least one model');
  for (const t of o.contexts)
    if (o.tokensPerStep % t !== 0)
      bad(`tokens per step (${o.tokensPerStep}) must be a multiple of every context; ${t} is not a divisor`);
  if (o.nEmbd % o.nHead !== 0) bad(`n-embd ${o.nEmbd} must be divisible by n-head ${o.nHead}`);
  if (o.contexts.filter((t) => t >= o.fitFrom).length < 2)
    bad(`the exponent fit needs at least two contexts ≥ ${o.fitFrom}; lower --fit-from or add contexts`);
}

interface Model {
  name: string;
  spec: ScalingModel;
  /** The model at each context. */
  at: Map<number, ResolvedScalingModel>;
}

type Generation = { ms: Record<string, number>; peakRssMb: number };

const jobModel = (r: ResolvedScalingModel): JobModel => ({
  plan: r.config.plan,
  nHead: r.config.nHead,
  nEmbd: r.config.nEmbd,
  style: r.config.style,
  ffnHidden: r.config.ffnHidden,
});

/**
 * Generation timings by model and context: one decode run per distinct model
 * (its cost does not depend on the training context, but a "{levels}" plan
 * or a matched width does). A run times the positions that fit its largest
 * context, all of them for the model at the largest context.
 */
function generation(models: Model[], contexts: number[], o: ScalingOptions, threads: number) {
  const gen = new Map<string, Generation>();
  const key = (name: string, context: number) => `${name}@${context}`;
  const last = contexts[contexts.length - 1];
  for (const m of models) {
    const groups = new Map<string, number[]>();
    for (const t of contexts) {
      const k = JSON.stringify(jobModel(m.at.get(t)!));
      groups.set(k, [...(groups.get(k) ?? []), t]);
    }
    for (const [k, ts] of groups) {
      const top = ts[ts.length - 1];
      const positions = top === last ? o.positions : o.positions.filter((p) => p + DECODE_WINDOW <= top);
      if (!positions.length) continue;
      const model = JSON.parse(k) as JobModel;
      o.onProgress?.(`${m.name}: generation up to position ${Math.max(...positions)} (${model.plan})`);
      const r = runWorker({ kind: 'decode', model, positions, threads });
      for (const t of ts)
        gen.set(key(m.name, t), { ms: r.gen_ms_per_token as Record<string, number>, peakRssMb: Number(r.peak_rss_mb) });
    }
  }
  return (name: string, context: number) => gen.get(key(name, context));
}

/** Runs the benchmark; returns every record it emitted (per context and model, then per model). */
export function benchScaling(o: ScalingOptions): Record<string, unknown>[] {
  validate(o);
  const contexts = [...o.contexts].sort((a, b) => a - b);
  const last = contexts[contexts.length - 1];
  const native = nativeBackend();
  const threads = o.threads ?? native?.threads() ?? 1;
  const records: Record<string, unknown>[] = [];
  const emit = (r: Record<string, unknown>) => {
    records.push(r);
    o.emit(r);
  };
  const common = { bench: 'scaling', n_embd: o.nEmbd, n_head: o.nHead, threads, backend: kernels().name };
  // Every model at every context is built (shapes only) before any work, so a bad one fails first.
  const shape = { nEmbd: o.nEmbd, nHead: o.nHead, vocabSize: VOCAB };
  const models: Model[] = o.models.map(([name, spec]) => ({
    name,
    spec,
    at: new Map(contexts.map((context) => [context, resolveScalingModel(spec, { ...shape, context })])),
  }));
  const genAt = o.generate ? generation(models, contexts, o, threads) : () => undefined;

  // Training: the models take turns at each context (in alternating order), so
  // the speedups compare measurements made seconds apart, not minutes.
  const perSequenceMs = new Map<string, number[]>(models.map((m) => [m.name, []]));
  for (const [ci, context] of contexts.entries()) {
    const batch = o.tokensPerStep / context;
    const order = ci % 2 === 0 ? models : [...models].reverse();
    const measured = new Map<string, Record<string, unknown>>();
    for (const m of order) {
      const model = jobModel(m.at.get(context)!);
      o.onProgress?.(`${m.name}: training at context ${context} (batch ${batch}, ${model.plan})`);
      measured.set(
        m.name,
        runWorker({
          kind: 'train',
          model,
          context,
          batch,
          vocab: VOCAB,
          steps: o.steps,
          warmup: o.warmup,
          threads,
          attention: /attn/.test(model.plan),
        }),
      );
    }
    const baselineTps = Number(measured.get(models[0].name)!.train_tokens_per_s);
    for (const [index, m] of models.entries()) {
      const r = measured.get(m.name)!;
      const { facts } = m.at.get(context)!;
      if (r.params !== facts.params)
        throw new Error(
          `${m.name} at ${context}: the worker built ${String(r.params)} parameters, not ${String(facts.params)}`,
        );
      const tps = Number(r.train_tokens_per_s);
      perSequenceMs.get(m.name)!.push(Number(r.train_ms_per_step) / batch);
      // Positions whose timing window (DECODE_WINDOW tokens from there) fits in this context.
      const genHere = Object.fromEntries(
        Object.entries(genAt(m.name, context)?.ms ?? {}).filter(([p]) => Number(p) + DECODE_WINDOW <= context),
      );
      emit({
        ...common,
        model: m.name,
        ...facts,
        context,
        batch,
        tokens_per_step: o.tokensPerStep,
        ...r,
        gen_ms_per_token: genHere,
        train_ms_per_token: round(1000 / tps, 4),
        ...(index > 0 ? { train_speedup_vs_baseline: round(tps / baselineTps), baseline: models[0].name } : {}),
      });
    }
  }

  for (const m of models) {
    const ms = perSequenceMs.get(m.name)!;
    const fitIdx = contexts.map((t, i) => (t >= o.fitFrom ? i : -1)).filter((i) => i >= 0);
    const exponent = logLogSlope(
      fitIdx.map((i) => contexts[i]),
      fitIdx.map((i) => ms[i]),
    );
    // Cost a + b·T is not a power law: the local slopes show how the exponent drifts with the context.
    const local = Object.fromEntries(
      contexts
        .slice(1)
        .map((t, i) => [`${contexts[i]}-${t}`, round(logLogSlope([contexts[i], t], [ms[i], ms[i + 1]]))]),
    );
    const g = genAt(m.name, last);
    const positions = Object.keys(g?.ms ?? {})
      .map(Number)
      .sort((a, b) => a - b);
    const byContext = (field: string) =>
      Object.fromEntries(contexts.map((t) => [String(t), m.at.get(t)!.facts[field]]));
    const top = m.at.get(last)!.facts;
    emit({
      ...common,
      model: m.name,
      plan: m.spec.plan,
      style: top.style,
      ...(m.spec.matchParams ? { matched_to: m.spec.matchParams } : {}),
      n_layer_by_context: byContext('n_layer'),
      params_by_context: byContext('params'),
      receptive_field_by_context: byContext('receptive_field'),
      // Whether the model sees the whole context at every context measured.
      covers_context: contexts.every((t) => m.at.get(t)!.facts.covers_context === true),
      ...(m.spec.matchParams
        ? { params_matched: contexts.every((t) => m.at.get(t)!.facts.params_matched === true) }
        : {}),
      exponent: round(exponent),
      exponent_of: `least-squares slope of log(training time per sequence) against log(context), contexts ${fitIdx.map((i) => contexts[i]).join(', ')}`,
      exponent_by_interval: local,
      ...(g ? { gen_ms_per_token: g.ms, gen_peak_rss_mb: g.peakRssMb } : {}),
      ...(g && positions.length >= 2
        ? { gen_ratio_last_to_first: round(g.ms[positions[positions.length - 1]] / g.ms[positions[0]]) }
        : {}),
    });
  }
  return records;
}

/** Writes scaling.jsonl and the charts to dir. */
export async function writeScalingOutputs(
  dir: string,
  records: Record<string, unknown>[],
  header: Record<string, unknown>,
): Promise<string[]> {
  const { renderSvg } = await import('../report/chart.js'); // Vega loads only when charts are written
  makeFolder(dir, 'output folder');
  const files: string[] = [];
  const jsonl = join(dir, 'scaling.jsonl');
  writeFileSync(jsonl, [header, ...records].map((r) => JSON.stringify(r)).join('\n') + '\n');
  files.push(jsonl);
  for (const [name, spec] of Object.entries(scalingCharts(records))) {
    const file = join(dir, `${name}.svg`);
    writeFileSync(file, await renderSvg(spec));
    files.push(file);
  }
  return files;
}
