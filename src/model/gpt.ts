/**
 * The GPT-2 baseline is the Transformer with attention in every block (its
 * default plan). These names remain for code that speaks of GPT.
 */
export { Transformer as GPT, type ModelConfig as GPTConfig, type ForwardOptions } from './transformer.js';
