import type { GPTConfig } from './gpt.js';

export interface ModelCost {
  parameters: number;
  /** Parameters excluding the (tied) token embedding, as GPT papers count. */
  nonEmbeddingParameters: number;
  /** Forward FLOPs per token at full context (matmuls 2·params + attention 2·2·t·C averaged over causal positions). */
  forwardFlopsPerToken: number;
  /** Forward + backward ≈ 3 × forward. */
  trainFlopsPerToken: number;
  layers: { index: number; mixer: string; parameters: number; forwardFlopsPerToken: number }[];
}

/** Parameter and FLOP accounting for a GPT configuration (HSM.md §7). */
export function gptCost(c: GPTConfig): ModelCost {
  const C = c.nEmbd, T = c.blockSize, V = c.vocabSize;
  const attnParams = 3 * C * C + 3 * C + C * C + C;
  const mlpParams = 4 * C * C + 4 * C + 4 * C * C + C;
  const lnParams = 4 * C;
  const perLayer = attnParams + mlpParams + lnParams;
  const meanContext = (T + 1) / 2; // causal: position t attends to t+1 keys
  const layerFlops = 2 * (4 * C * C + 8 * C * C) + 4 * meanContext * C; // projections + scores and values
  const layers = Array.from({ length: c.nLayer }, (_, index) => ({
    index, mixer: `attn (${c.nHead} heads)`, parameters: perLayer, forwardFlopsPerToken: layerFlops,
  }));
  const parameters = V * C + T * C + c.nLayer * perLayer + 2 * C;
  const forward = c.nLayer * layerFlops + 2 * V * C; // + output head
  return {
    parameters,
    nonEmbeddingParameters: parameters - V * C - T * C,
    forwardFlopsPerToken: forward,
    trainFlopsPerToken: 3 * forward,
    layers,
  };
}
