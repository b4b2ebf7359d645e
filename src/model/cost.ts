import { formatPlan, parsePlan } from './plan.js';
import { Transformer, type ModelConfig } from './transformer.js';

export interface LayerReport {
  index: number;
  mixer: string;
  /** Shift per head group ([] for attention). */
  shifts: number[];
  parameters: number;
  forwardFlopsPerToken: number;
}

export interface ModelReport {
  plan: string;
  /** The block style: gpt2, transformer++, or gpt2 with the options that differ (block-style.ts). */
  style: string;
  /** How attention learns order: a learned table, rotary queries and keys, or none (pure HSM: the shifts carry it). */
  positionEncoding: 'learned' | 'rotary' | 'none';
  parameters: number;
  /** Without the token and position embeddings, as GPT papers count. */
  nonEmbeddingParameters: number;
  /** Forward FLOPs per token at full context: 2 per multiply-add of every projection, mixers' own work, the output head. */
  forwardFlopsPerToken: number;
  /** Forward + backward ≈ 3 × forward. */
  trainFlopsPerToken: number;
  receptiveField: number;
  coversContext: boolean;
  ffnHidden: number;
  layers: LayerReport[];
}

/** Parameters, FLOPs per token and the layer plan of a model (SPEC §7). */
export function describeModel(model: Transformer): ModelReport {
  const { nEmbd: C, blockSize: T, vocabSize: V } = model.config;
  const F = model.ffnHidden;
  const count = (prefix: string) =>
    [...model.params.shapes.keys()].filter((n) => n.startsWith(prefix)).reduce((s, n) => s + model.params.sizeOf(n), 0);
  const ffnFlops = 2 * (model.style.ffn === 'swiglu' ? 3 : 2) * C * F; // a multiply-add per FFN weight
  const layers = model.mixers.map((m, index) => ({
    index,
    mixer: m.name === 'attn' ? `attn (${model.config.nHead} heads)` : `hsm:${m.name}`,
    shifts: m.shifts,
    parameters: count(`h.${index}.`),
    forwardFlopsPerToken: m.flopsPerToken(T) + ffnFlops,
  }));
  const embeddings = count('wte.') + count('wpe.');
  const forward = layers.reduce((s, l) => s + l.forwardFlopsPerToken, 0) + 2 * V * C;
  const rf = model.receptiveField();
  return {
    plan: formatPlan(model.plan),
    style: model.styleName,
    positionEncoding: model.positions
      ? 'learned'
      : model.style.rotary && model.plan.some((b) => b.mixer === 'attn')
        ? 'rotary'
        : 'none',
    parameters: model.params.count,
    nonEmbeddingParameters: model.params.count - embeddings,
    forwardFlopsPerToken: forward,
    trainFlopsPerToken: 3 * forward,
    receptiveField: rf.field,
    coversContext: rf.complete,
    ffnHidden: F,
    layers,
  };
}

/** Parameter count of a configuration, from a model that declares its parameters without allocating them. */
export function countParameters(config: ModelConfig): number {
  return new Transformer(config, { shapesOnly: true }).params.count;
}

/** A model to count and cost (`describeModel`), with no weights allocated: safe before any size check. */
export function modelShapes(config: ModelConfig): Transformer {
  return new Transformer(config, { shapesOnly: true });
}

/**
 * Parameter matching (SPEC §5): the FFN width that gives `config` the
 * parameter count of the same model with `targetPlan` (e.g. "attn*4", the GPT
 * baseline). Parameters are linear in the width, so two counts fix it.
 */
export function matchFfnWidth(
  config: ModelConfig,
  targetPlan: string,
): { ffnHidden: number; parameters: number; target: number } {
  const { nEmbd: C } = config;
  const target = countParameters({
    ...config,
    plan: targetPlan,
    nLayer: parsePlan(targetPlan).length,
    ffnHidden: undefined,
    positions: undefined,
  });
  // Parameters are linear in the width: what one hidden unit adds (c_fc rows, their biases, a c_proj column) follows from two counts.
  const base = countParameters({ ...config, ffnHidden: 4 * C });
  const perUnit = countParameters({ ...config, ffnHidden: 4 * C + 1 }) - base;
  const ffnHidden = Math.max(1, Math.round(4 * C + (target - base) / perUnit));
  return { ffnHidden, parameters: base + (ffnHidden - 4 * C) * perUnit, target };
}
