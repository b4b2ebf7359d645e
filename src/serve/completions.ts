// One completion request (legacy or chat) from its prompts to the response:
// n jobs per prompt on the model's batcher, each choice's tokens decoded to
// UTF-8 text, cut at stop sequences, and sent either whole (JSON) or as
// Server-Sent Events. Prompt i's j-th choice has index i·n + j, as OpenAI
// numbers the choices of a batched prompt.
import { randomInt, randomUUID } from 'node:crypto';
import { createStreamDecoder } from '../data/stream-decoder.js';
import { UserError } from '../errors.js';
import { ApiError } from './api-error.js';
import type { ContinuousBatcher, EndReason, Job } from './batcher.js';
import type { PromptInput } from './requests.js';
import type { ServedModel } from './served-models.js';
import { SseStream } from './sse-stream.js';
import { StopMatcher } from './stop-sequences.js';

export type CompletionKind = 'text' | 'chat';

/** The request fields a completion needs, after validation and defaults. */
export interface CompletionSpec {
  kind: CompletionKind;
  served: ServedModel;
  /** Text, or token ids; several only from /v1/completions (a batched prompt). */
  prompts: PromptInput[];
  /** Which request field the prompt came from, for error messages. */
  promptParam: 'prompt' | 'messages';
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  stop: string[];
  seed?: number;
  n: number;
  stream: boolean;
  includeUsage: boolean;
  /** How long streamed text may wait for more tokens before it is written (SseStream). */
  streamIntervalMs: number;
}

type FinishReason = 'stop' | 'length';

interface Choice {
  /** prompt · n + the choice's number within its prompt. */
  index: number;
  text: string;
  tokens: number;
  finish?: FinishReason;
}

/** Runs a completion; resolves with the Response (streamed or whole). */
export async function complete(
  spec: CompletionSpec,
  batcher: ContinuousBatcher,
  client: AbortSignal,
): Promise<Response> {
  const prompts = spec.prompts.map((p, i) => encodePrompt(spec, p, spec.prompts.length > 1 ? i : null));
  const total = prompts.length * spec.n;
  const promptTokens = prompts.reduce((s, p) => s + p.length, 0);
  const id = `${spec.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  // Each prompt's choice j uses seed + j, so its choice 0 matches `hsm generate --seed`, batched or not.
  const seed = spec.seed ?? randomInt(2 ** 31 - 1);
  const cancel = new AbortController();
  client.addEventListener('abort', () => cancel.abort(), { once: true });
  const head = {
    id,
    object: spec.kind === 'chat' ? 'chat.completion' : 'text_completion',
    created,
    model: spec.served.id,
  };
  const usage = (choices: Choice[]) => {
    const completion = choices.reduce((s, c) => s + c.tokens, 0);
    return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
  };

  if (!spec.stream) {
    const choices = await new Promise<Choice[]>((resolve, reject) => {
      const done: Choice[] = [];
      batcher.submit(
        makeJobs(spec, prompts, seed, cancel.signal, {
          text: () => {},
          end: (choice, reason, error) => {
            if (reason === 'shutdown' || reason === 'error' || reason === 'cancelled')
              return reject(endError(reason, error));
            done.push(choice);
            if (done.length === total) resolve(done.sort((a, b) => a.index - b.index));
          },
        }),
      );
    });
    return Response.json({
      ...head,
      choices: choices.map((c) => wholeChoice(spec.kind, c)),
      usage: usage(choices),
    });
  }

  // Streaming: Server-Sent Events written straight into a ReadableStream (enqueue is synchronous,
  // so the batcher's callbacks never wait on the socket; a cancel is the client going away).
  const chunkHead = { ...head, object: spec.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion' };
  const out = new SseStream(
    spec.streamIntervalMs,
    (index, text) => ({ ...chunkHead, choices: [deltaChoice(spec.kind, index, { text })] }),
    () => cancel.abort(),
  );
  const finished: Choice[] = [];
  let failed = false;
  const jobs = makeJobs(spec, prompts, seed, cancel.signal, {
    text: (choice, text) => out.text(choice.index, text),
    end: (choice, reason, error) => {
      if (failed) return;
      if (reason === 'shutdown' || reason === 'error' || reason === 'cancelled') {
        failed = true;
        cancel.abort(); // the other choices of this request stop too
        out.event(endError(reason, error).body);
        out.event('[DONE]');
        return out.close();
      }
      finished.push(choice);
      out.event({ ...chunkHead, choices: [deltaChoice(spec.kind, choice.index, { finish: reason })] });
      if (finished.length < total) return;
      if (spec.includeUsage) out.event({ ...chunkHead, choices: [], usage: usage(finished) });
      out.event('[DONE]');
      out.close();
    },
  });
  batcher.submit(jobs); // throws 429/503 before any byte is sent
  if (spec.kind === 'chat')
    for (let i = 0; i < spec.n; i++)
      out.event({
        ...chunkHead,
        choices: [{ index: i, delta: { role: 'assistant', content: '' }, finish_reason: null }],
      });
  return new Response(out.body, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
  });
}

/** One prompt as tokens of the served model, within its limits; `index` names it in errors when it is one of several. */
function encodePrompt(spec: CompletionSpec, input: PromptInput, index: number | null): Int32Array {
  const name = index === null ? spec.promptParam : `${spec.promptParam}[${index}]`;
  let tokens: Int32Array;
  if (typeof input !== 'string') {
    const vocab = spec.served.model.config.vocabSize;
    const bad = input.findIndex((id) => id >= vocab);
    if (bad >= 0)
      throw new ApiError(
        400,
        `${name}: token id ${input[bad]} at position ${bad} is outside model "${spec.served.id}"'s vocabulary of ${vocab} (ids 0 to ${vocab - 1})`,
        undefined,
        spec.promptParam,
      );
    tokens = Int32Array.from(input);
  } else {
    try {
      tokens = spec.served.tokenizer.encode(input);
    } catch (err) {
      if (err instanceof UserError) throw new ApiError(400, `${name}: ${err.message}`, undefined, spec.promptParam);
      throw err;
    }
  }
  if (tokens.length === 0)
    throw new ApiError(400, `${name}: encodes to no tokens; give at least one character`, undefined, spec.promptParam);
  const limit = spec.served.maxPromptTokens;
  if (tokens.length > limit)
    throw new ApiError(
      400,
      `${name}: ${tokens.length} tokens, but model "${spec.served.id}" takes at most ${limit} ` +
        (spec.served.card.context_is_fixed ? '(its context)' : '(the server limit for models without a fixed context)'),
      'invalid_request_error',
      spec.promptParam,
      'context_length_exceeded',
    );
  return tokens;
}

interface JobEvents {
  text(choice: Choice, text: string): void;
  end(choice: Choice, reason: FinishReason | 'shutdown' | 'error' | 'cancelled', error?: unknown): void;
}

/** n jobs per prompt, one per choice: tokens → UTF-8 text (whole characters only) → stop-sequence cut → events. */
function makeJobs(
  spec: CompletionSpec,
  prompts: Int32Array[],
  seed: number,
  signal: AbortSignal,
  on: JobEvents,
): Job[] {
  return Array.from({ length: prompts.length * spec.n }, (_, index): Job => {
    const prompt = prompts[Math.floor(index / spec.n)],
      j = index % spec.n;
    const choice: Choice = { index, text: '', tokens: 0 };
    const decoder = createStreamDecoder(spec.served.tokenizer);
    const stops = new StopMatcher(spec.stop);
    const emit = (text: string) => {
      if (!text) return;
      choice.text += text;
      on.text(choice, text);
    };
    return {
      prompt,
      signal,
      opts: {
        maxTokens: spec.maxTokens,
        temperature: spec.temperature,
        topK: spec.topK,
        topP: spec.topP,
        seed: (seed + j) % 2 ** 31,
      },
      onToken: (token) => {
        choice.tokens++;
        emit(stops.push(decoder.push(token)));
        return !stops.stopped;
      },
      onEnd: (reason: EndReason, error?: unknown) => {
        if (reason === 'length' || reason === 'stop') {
          if (!stops.stopped) emit(stops.push(decoder.flush()) + stops.flush());
          choice.finish = stops.stopped ? 'stop' : reason;
          on.end(choice, choice.finish);
        } else on.end(choice, reason, error);
      },
    };
  });
}

function endError(reason: 'shutdown' | 'error' | 'cancelled', error: unknown): ApiError {
  if (reason === 'shutdown')
    return new ApiError(
      503,
      'the server is shutting down; this generation was ended',
      'server_error',
      null,
      'shutting_down',
    );
  if (reason === 'cancelled')
    return new ApiError(400, 'the request was cancelled', 'invalid_request_error', null, 'cancelled');
  if (error) console.error(error); // a bug: keep its stack in the server's log
  return new ApiError(500, 'generation failed inside the server (see its log)', 'server_error');
}

function wholeChoice(kind: CompletionKind, c: Choice) {
  return kind === 'chat'
    ? { index: c.index, message: { role: 'assistant', content: c.text }, logprobs: null, finish_reason: c.finish }
    : { index: c.index, text: c.text, logprobs: null, finish_reason: c.finish };
}

function deltaChoice(kind: CompletionKind, index: number, part: { text?: string; finish?: FinishReason }) {
  const finish = part.finish ?? null;
  return kind === 'chat'
    ? { index, delta: part.text === undefined ? {} : { content: part.text }, logprobs: null, finish_reason: finish }
    : { index, text: part.text ?? '', logprobs: null, finish_reason: finish };
}
