/**
 * How a block is built around its mixer. Two named styles:
 * - gpt2: LayerNorm with bias, a GELU FFN, biases on every linear map, and
 *   learned absolute positions when the plan has attention (nanoGPT's GPT-2);
 * - transformer++: RMSNorm, a SwiGLU FFN, no biases anywhere, rotary
 *   positions in attention and no position table (the block of Llama and of
 *   the sub-quadratic mixer papers' "Transformer++" baseline).
 * A configuration names a style and may override any of its four options; an
 * HSM plan in the transformer++ style is what results call "HSM++".
 */
export type BlockStyleName = 'gpt2' | 'transformer++';

export interface BlockStyle {
  norm: 'layernorm' | 'rmsnorm';
  ffn: 'gelu' | 'swiglu';
  /** Biases on linear maps, norms and mixers' own affine parts. */
  bias: boolean;
  /** Rotary positions in attention layers (queries and keys). */
  rotary: boolean;
}

export const BLOCK_STYLES: Record<BlockStyleName, BlockStyle> = {
  gpt2: { norm: 'layernorm', ffn: 'gelu', bias: true, rotary: false },
  'transformer++': { norm: 'rmsnorm', ffn: 'swiglu', bias: false, rotary: true },
};

/** The frequency base of rotary positions (RoFormer's and Llama's). */
export const ROTARY_BASE = 10_000;

/** A style (default gpt2) with any of its options overridden. */
export function resolveBlockStyle(style: BlockStyleName | undefined, overrides: Partial<BlockStyle>): BlockStyle {
  const base = BLOCK_STYLES[style ?? 'gpt2'];
  const pick = <K extends keyof BlockStyle>(k: K): BlockStyle[K] => overrides[k] ?? base[k];
  return { norm: pick('norm'), ffn: pick('ffn'), bias: pick('bias'), rotary: pick('rotary') };
}

/** The style's name when it is one of the named ones, else its options ("gpt2+rmsnorm"-like, relative to gpt2). */
export function blockStyleName(style: BlockStyle): string {
  for (const [name, s] of Object.entries(BLOCK_STYLES))
    if (s.norm === style.norm && s.ffn === style.ffn && s.bias === style.bias && s.rotary === style.rotary) return name;
  const g = BLOCK_STYLES.gpt2;
  const diff = [
    style.norm !== g.norm && style.norm,
    style.ffn !== g.ffn && style.ffn,
    style.bias !== g.bias && 'no-bias',
    style.rotary !== g.rotary && 'rotary',
  ].filter(Boolean);
  return `gpt2+${diff.join('+')}`;
}

/** The FFN width whose weights match a GELU FFN of 4·C (SwiGLU has three matrices: 8C/3). */
export function defaultFfnHidden(style: BlockStyle, C: number): number {
  return style.ffn === 'swiglu' ? Math.round((8 * C) / 3) : 4 * C;
}
