/**
 * The models of `hsm bench scaling` and how each is built at a context. A
 * model is a plan ("{levels}" stands for ⌈log2 context⌉, so a pow2 HSM stack
 * covers every context), a block style, and optionally an FFN width that
 * matches another plan's parameter count. Each resolved model states its
 * parameters, receptive field and coverage, so a model that does not see the
 * whole context cannot be read as a matched comparison.
 */
import { UserError } from '../errors.js';
import { BLOCK_STYLES, type BlockStyleName } from '../model/block-style.js';
import { describeModel, matchFfnWidth, modelShapes } from '../model/cost.js';
import { mixerEntry } from '../model/mixers/registry.js';
import { parsePlan } from '../model/plan.js';
import { resolveLevels } from '../model/schedule.js';
import type { ModelConfig } from '../model/transformer.js';

export interface ScalingModel {
  /** Layer plan; "{levels}" stands for ⌈log2 context⌉ at each context. */
  plan: string;
  /** Block style (default gpt2). */
  style?: BlockStyleName;
  /** Size the FFN so the model has this plan's parameter count (same style, same context). */
  matchParams?: string;
}

/** Built-in models by the name records carry in `model`. */
export const SCALING_MODELS: Record<string, ScalingModel> = {
  // The long-context study's families: each sees the whole context, the HSM ones have tpp's parameters.
  tpp: { plan: 'attn*4', style: 'transformer++' },
  gpt: { plan: 'attn*4' },
  'pair-pp': { plan: 'hsm:pair*{levels}', style: 'transformer++', matchParams: 'attn*4' },
  'hybrid-pp': { plan: 'hsm:ab[proj]*3,attn', style: 'transformer++', matchParams: 'attn*4' },
  // The first, unmatched table's: four pow2 HSM blocks see 15 positions at any context.
  'hsm-ab': { plan: 'hsm:ab*4' },
  'hsm-gated': { plan: 'hsm:gated*4' },
  'hybrid-gated': { plan: 'hsm:gated*3,attn' },
};

/** The matched comparison; the first model (tpp, the one the HSM models are matched to) is the baseline. */
export const DEFAULT_SCALING_MODELS = 'tpp,gpt,pair-pp,hybrid-pp';

const CUSTOM = 'name=PLAN[/style=transformer++][/match=PLAN]';

/** What a model spec looks like, one line per built-in, for --help. */
export function describeScalingModel(m: ScalingModel): string {
  return [m.plan, m.style, m.matchParams && `matched to ${m.matchParams}`].filter(Boolean).join(', ');
}

/** Splits at commas outside brackets and parentheses, where plans keep their own. */
function splitTopLevel(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0,
    start = 0;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(spec.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(spec.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** Checks a plan (with "{levels}" at a small context) and its mixers here, not in a worker. */
function checkPlan(plan: string): void {
  for (const block of parsePlan(resolveLevels(plan, 16))) mixerEntry(block.mixer, block.options);
}

function parseCustom(name: string, text: string): ScalingModel {
  const [plan, ...modifiers] = text.split('/');
  const model: ScalingModel = { plan };
  for (const mod of modifiers) {
    const [key, value] = [mod.slice(0, mod.indexOf('=')), mod.slice(mod.indexOf('=') + 1)];
    if (key === 'style' && value in BLOCK_STYLES) model.style = value as BlockStyleName;
    else if (key === 'match' && value) model.matchParams = value;
    else
      throw new UserError(
        `model "${name}": unknown "/${mod}"; give /style=${Object.keys(BLOCK_STYLES).join('|')} or /match=PLAN`,
      );
  }
  checkPlan(model.plan);
  if (model.matchParams) checkPlan(model.matchParams);
  return model;
}

/**
 * Parses --models: built-in names, or name=PLAN[/style=S][/match=PLAN] (a
 * plan's own commas stay in it: "mine=hsm:ab*3,attn,gpt" is two models).
 * Everything is checked here, before any work.
 */
export function parseScalingModels(spec: string): [string, ScalingModel][] {
  const entries: string[] = [];
  for (const part of splitTopLevel(spec)) {
    const custom = /^[A-Za-z0-9][\w.+-]*=/.test(part);
    if (!custom && !(part in SCALING_MODELS) && entries.length && entries[entries.length - 1].includes('='))
      entries[entries.length - 1] += `,${part}`; // the previous custom plan goes on
    else entries.push(part);
  }
  const models = entries.map((entry): [string, ScalingModel] => {
    const eq = entry.indexOf('=');
    if (eq >= 0) return [entry.slice(0, eq), parseCustom(entry.slice(0, eq), entry.slice(eq + 1))];
    const model = SCALING_MODELS[entry];
    if (!model)
      throw new UserError(
        `unknown model "${entry}"; use one of ${Object.keys(SCALING_MODELS).join(', ')} or ${CUSTOM}`,
      );
    return [entry, model];
  });
  const names = models.map(([name]) => name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UserError(`model "${twice}" is named twice; give each model its own name`);
  return models;
}

/** How close a matched model's parameter count must come to its target's to count as matched. */
export const MATCH_TOLERANCE = 0.01;

export interface ScalingShape {
  context: number;
  nEmbd: number;
  nHead: number;
  vocabSize: number;
}

/** A model at one context: its configuration and the facts every record of it states. */
export interface ResolvedScalingModel {
  config: ModelConfig & { plan: string };
  facts: Record<string, unknown>;
}

/** Builds the model at one context (counting, not allocating, its weights). */
export function resolveScalingModel(m: ScalingModel, s: ScalingShape): ResolvedScalingModel {
  const plan = resolveLevels(m.plan, s.context);
  const config: ModelConfig & { plan: string } = {
    vocabSize: s.vocabSize,
    blockSize: s.context,
    nLayer: parsePlan(plan).length,
    nHead: s.nHead,
    nEmbd: s.nEmbd,
    plan,
    ...(m.style ? { style: m.style } : {}),
  };
  const match = m.matchParams ? matchFfnWidth(config, resolveLevels(m.matchParams, s.context)) : undefined;
  if (match) config.ffnHidden = match.ffnHidden;
  const d = describeModel(modelShapes(config));
  return {
    config,
    facts: {
      plan,
      n_layer: config.nLayer,
      style: d.style,
      position_encoding: d.positionEncoding,
      ffn_hidden: d.ffnHidden,
      params: d.parameters,
      receptive_field: d.receptiveField,
      covers_context: d.coversContext,
      ...(match
        ? {
            matched_to: m.matchParams,
            matched_params_target: match.target,
            // The FFN cannot shrink below one unit: a deep plan can outgrow its target, and then says so.
            params_matched: Math.abs(d.parameters / match.target - 1) <= MATCH_TOLERANCE,
          }
        : {}),
    },
  };
}
