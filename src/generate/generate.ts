import { createStreamDecoder } from '../data/stream-decoder.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { Transformer } from '../model/transformer.js';
import { Rng } from '../tensor/random.js';
import { sampleToken, type SamplingOptions } from './sampler.js';

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed: number;
}

/**
 * Autoregressive generation: the prompt is run once in parallel (prefill),
 * then each new token is one decode step through every mixer's recurrent form
 * (ring buffers for HSM layers, KV caches for attention). A model whose
 * decoding ends at its context (learned positions or attention) re-prefills
 * the last half of the tokens when it gets there; a pure HSM model without
 * positions decodes on indefinitely at constant cost per token.
 * Yields each sampled token id as soon as it is drawn.
 */
export function* generateTokens(model: Transformer, prompt: Int32Array, opts: GenerateOptions): Generator<number> {
  const limit = model.maxDecodeLength;
  if (prompt.length === 0) throw new Error('generation needs a prompt of at least one token');
  const rng = new Rng(opts.seed);
  const V = model.config.vocabSize;
  let state = model.newState();
  const history = Array.from(prompt);
  const prefill = (tokens: number[]): Float32Array => {
    state = model.newState();
    const window = Int32Array.from(Number.isFinite(limit) ? tokens.slice(-limit) : tokens);
    const logits = model.forward(window, 1, window.length, state).data;
    return Float32Array.from(logits.subarray((window.length - 1) * V));
  };
  let logits = prefill(history);
  for (let i = 0; i < opts.maxTokens; i++) {
    const token = sampleToken(logits, opts, rng);
    history.push(token);
    yield token;
    if (i === opts.maxTokens - 1) break;
    logits = state.pos < limit ? model.decodeStep(token, state) : prefill(history.slice(-Math.max(1, limit >> 1)));
  }
}

/** Convenience wrapper: continue `prompt` and return the generated text (without the prompt). */
export function generateText(
  model: Transformer,
  tokenizer: Tokenizer,
  prompt: string,
  opts: Partial<GenerateOptions> = {},
): string {
  const full: GenerateOptions = { maxTokens: 200, temperature: 0.8, topK: 0, topP: 1, seed: 42, ...opts };
  const decoder = createStreamDecoder(tokenizer);
  let text = '';
  for (const token of generateTokens(model, tokenizer.encode(prompt), full)) text += decoder.push(token);
  return text + decoder.flush();
}
