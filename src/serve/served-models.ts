// The run folders a server serves, loaded once at start-up, and what
// /v1/models says about each.
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Tokenizer } from '../data/tokenizer.js';
import { describeModel } from '../model/cost.js';
import type { Transformer } from '../model/transformer.js';
import { loadModel } from '../train/checkpoint.js';
import { UserError } from '../errors.js';
import { CHAT_TEMPLATE_DESCRIPTION } from './chat-template.js';

/** Prompt limit for models without a fixed context (pure HSM decodes on): bounds prefill memory. */
export const UNBOUNDED_PROMPT_LIMIT = 8192;

export interface ServedModel {
  /** The model's name in requests: the run folder's name. */
  id: string;
  dir: string;
  model: Transformer;
  tokenizer: Tokenizer;
  /** Longest prompt in tokens: the context for models that have one. */
  maxPromptTokens: number;
  /** The /v1/models entry. */
  card: Record<string, unknown>;
}

export function loadServedModels(dirs: readonly string[]): ServedModel[] {
  const models = dirs.map(loadServedModel);
  const seen = new Map<string, string>();
  for (const m of models) {
    const other = seen.get(m.id);
    if (other)
      throw new UserError(`--ckpt ${other} and ${m.dir} are both named "${m.id}"; serve folders with different names`);
    seen.set(m.id, m.dir);
  }
  return models;
}

function loadServedModel(dir: string): ServedModel {
  const { model, tokenizer, step } = loadModel(dir);
  model.packWeights(); // a served model never trains; its decode batches read each weight packed once
  const id = basename(resolve(dir));
  const report = describeModel(model);
  const fixed = Number.isFinite(model.maxDecodeLength);
  const maxPromptTokens = fixed ? model.config.blockSize : Math.max(model.config.blockSize, UNBOUNDED_PROMPT_LIMIT);
  return {
    id,
    dir,
    model,
    tokenizer,
    maxPromptTokens,
    card: {
      id,
      object: 'model',
      created: Math.floor(statSync(resolve(dir, 'model.safetensors')).mtimeMs / 1000),
      owned_by: 'hsm',
      plan: report.plan,
      parameters: report.parameters,
      context: model.config.blockSize,
      context_is_fixed: fixed,
      max_prompt_tokens: maxPromptTokens,
      tokenizer: tokenizer.kind,
      vocab_size: model.config.vocabSize,
      step,
      decode_state_bytes: model.decodeStateBytes(),
      packed_weight_bytes: model.packedWeightBytes,
      chat_template: CHAT_TEMPLATE_DESCRIPTION,
    },
  };
}
