import { ROTARY_BASE } from './block-style.js';
import type { Transformer } from './transformer.js';

/** The format tag of a ModelDescription; a reader rejects any other. */
export const MODEL_DESCRIPTION_FORMAT = 'hsm-model-description/1';

/** One block of a ModelDescription: its mixer, the plan's options, and the resolved shifts. */
export interface BlockDescription {
  /** "attn" or an HSM mixer name ("ab", "channel", "conv", "linear", "gated", "pair"). */
  mixer: string;
  /** The plan's options for this block, e.g. { proj: true, k: 3 }. */
  options: Record<string, number | boolean>;
  /** Shift per head group, equal channel groups in order ([] for attention). */
  shifts: number[];
}

/**
 * A built model's architecture as plain JSON, everything resolved: plan,
 * shift schedule, head groups, positions and FFN width are read off the
 * Transformer, so other engines (python/hsm_torch) rebuild the same model
 * without parsing plans or schedules themselves. Keys are snake_case because
 * the main reader is Python.
 */
export interface ModelDescription {
  format: typeof MODEL_DESCRIPTION_FORMAT;
  vocab_size: number;
  block_size: number;
  n_layer: number;
  /** Attention heads (also the pair mixer's heads). */
  n_head: number;
  n_embd: number;
  ln_eps: number;
  /** Dropout on the embeddings and each residual branch in training. */
  dropout: number;
  /** Learned absolute positions (wpe). */
  positions: boolean;
  ffn_hidden: number;
  /** The block style's options (block-style.ts); a description without them is GPT-2's block. */
  norm: 'layernorm' | 'rmsnorm';
  ffn: 'gelu' | 'swiglu';
  /** Biases on linear maps, norms and mixers' affine parts. */
  bias: boolean;
  /** Rotary positions on attention's queries and keys, with this frequency base. */
  rotary: boolean;
  rotary_base: number;
  blocks: BlockDescription[];
}

/** The description of a built model (see ModelDescription). */
export function modelDescription(model: Transformer): ModelDescription {
  const c = model.config;
  return {
    format: MODEL_DESCRIPTION_FORMAT,
    vocab_size: c.vocabSize,
    block_size: c.blockSize,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_embd: c.nEmbd,
    ln_eps: model.eps,
    dropout: c.dropout ?? 0,
    positions: model.positions,
    ffn_hidden: model.ffnHidden,
    norm: model.style.norm,
    ffn: model.style.ffn,
    bias: model.style.bias,
    rotary: model.style.rotary,
    rotary_base: ROTARY_BASE,
    blocks: model.plan.map((block, l) => ({
      mixer: block.mixer,
      options: { ...block.options },
      shifts: [...model.mixers[l].shifts],
    })),
  };
}
