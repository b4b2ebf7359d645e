import { createStreamDecoder } from '../data/stream-decoder.js';
import { UserError } from '../errors.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { InferenceState, Transformer } from '../model/transformer.js';
import { Rng } from '../tensor/random.js';
import { Sampler, type SamplingOptions } from './sampler.js';

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed: number;
}

/**
 * One sequence being generated: its decoding state, its own RNG and sampler,
 * and the logits of the position it will sample next. `hsm generate` drives
 * one; the server drives many at once and advances them together in one
 * batched decode step (continuous batching), so both give the same tokens for
 * the same seed.
 *
 * The prompt runs once in parallel (prefill); each new token is then one
 * decode step through every mixer's recurrent form (ring buffers for HSM
 * layers, KV caches for attention). A model whose decoding ends at its context
 * (learned positions or attention) re-prefills the last half of the tokens when
 * it gets there; a pure HSM model without positions decodes on indefinitely at
 * constant cost per token.
 */
export class GenerationStream {
  /** Tokens generated so far. */
  generated = 0;
  private readonly logits: Float32Array;
  private state: InferenceState;
  private readonly history: number[];
  private readonly rng: Rng;
  private readonly limit: number;

  constructor(
    readonly model: Transformer,
    prompt: Int32Array,
    readonly opts: GenerateOptions,
    private readonly sampler = new Sampler(),
    /** 'later': the caller prefills this stream with others (advanceTogether). */
    prefill: 'now' | 'later' = 'now',
  ) {
    if (prompt.length === 0) throw new Error('generation needs a prompt of at least one token');
    const V = model.config.vocabSize;
    const bad = prompt.find((t) => !(t >= 0 && t < V));
    if (bad !== undefined) throw new RangeError(`token id ${bad} in the prompt is outside the vocabulary [0, ${V})`);
    this.limit = model.maxDecodeLength;
    this.rng = new Rng(opts.seed);
    this.history = Array.from(prompt);
    this.state = model.newState();
    this.logits = new Float32Array(model.config.vocabSize); // this stream's own, rewritten each step
    if (prefill === 'now') this.prefill(this.history);
  }

  /** True once maxTokens tokens are out. */
  get finished(): boolean {
    return this.generated >= this.opts.maxTokens;
  }

  /** Draws the next token from the current logits. Then call advance (alone) or advanceTogether. */
  sample(): number {
    // Logits that are NaN or infinite come from weights that overflow float32 (a damaged file): no token is right.
    // Their float64 sum is finite exactly when every one is (float32 values cannot overflow it): one cheap pass per token.
    const logits = this.logits;
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += logits[i];
    if (!Number.isFinite(sum)) {
      const bad = logits.find((x) => !Number.isFinite(x));
      throw new UserError(
        `the model's output holds ${bad} after ${this.history.length} tokens: its weights overflow float32 arithmetic (damaged checkpoint?); restore the file or train again`,
      );
    }
    const token = this.sampler.sample(this.logits, this.opts, this.rng);
    this.history.push(token);
    this.generated++;
    return token;
  }

  /** Whether the next step can be a decode step (false: the context is full, advance slides the window). */
  get canDecode(): boolean {
    return this.state.pos < this.limit;
  }

  /** Feeds the last sampled token through the model on its own (advanceTogether does it for many). */
  advance(): void {
    if (this.canDecode)
      this.model.decodeBatchInto([this.history[this.history.length - 1]], [this.state], [this.logits]);
    else this.slide();
  }

  /** Re-prefills the last half of the context (models with a fixed context, when it is full). */
  private slide(): void {
    this.prefill(this.history.slice(-Math.max(1, this.limit >> 1)));
  }

  private prefill(tokens: number[]): void {
    this.state = this.model.newState();
    this.model.prefill(this.window(tokens), this.state, this.logits);
  }

  /** The tokens a prefill reads: the last `limit` of them for a model with a fixed context. */
  private window(tokens: number[]): Int32Array {
    return Int32Array.from(Number.isFinite(this.limit) ? tokens.slice(-this.limit) : tokens);
  }

  /**
   * A server's step in one pass of the model (Transformer.decodeAndPrefill):
   * the running streams advance by their last sampled token (those with room
   * to decode in one batched step, the rest by sliding their window), and the
   * joining streams (made with prefill 'later') are prefilled. Each gives the
   * tokens it would give alone.
   */
  static advanceTogether(
    model: Transformer,
    running: readonly GenerationStream[],
    joining: readonly GenerationStream[],
  ): void {
    for (const s of [...running, ...joining])
      if (s.model !== model) throw new Error('advanceTogether: streams of different models');
    const decodable = running.filter((s) => s.canDecode);
    for (const s of running) if (!s.canDecode) s.slide();
    model.decodeAndPrefill(
      {
        tokens: decodable.map((s) => s.history[s.history.length - 1]),
        states: decodable.map((s) => s.state),
        rows: decodable.map((s) => s.logits),
      },
      {
        prompts: joining.map((s) => s.window(s.history)),
        states: joining.map((s) => s.state),
        rows: joining.map((s) => s.logits),
      },
    );
  }
}

/** Yields each sampled token id as soon as it is drawn (see GenerationStream). */
export function* generateTokens(model: Transformer, prompt: Int32Array, opts: GenerateOptions): Generator<number> {
  const stream = new GenerationStream(model, prompt, opts);
  while (!stream.finished) {
    yield stream.sample();
    if (!stream.finished) stream.advance();
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
