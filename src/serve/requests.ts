// Request bodies of the OpenAI-compatible endpoints, validated with zod. Field
// names and ranges follow the OpenAI API; `top_k` is an extension (llama.cpp
// and vLLM accept it too). A field we do not implement is refused by name
// rather than ignored, so a client never believes it got what it asked for.
import { z, type ZodError } from 'zod';
import { ApiError } from './api-error.js';

/** Largest `n` (choices per request): each choice is a sequence in the batch. */
export const MAX_CHOICES = 8;
export const MAX_STOP_SEQUENCES = 4;
const SEED_LIMIT = 2 ** 31 - 1;

const stop = z
  .union([
    z.string().min(1).max(64),
    z.array(z.string().min(1, 'stop sequences must not be empty').max(64)).max(MAX_STOP_SEQUENCES),
  ])
  .nullish();

/** Sampling and streaming fields shared by /v1/completions and /v1/chat/completions. */
const sampling = {
  model: z.string().min(1).max(256).optional(),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z
    .number()
    .int()
    .min(0)
    .max(1 << 21)
    .nullish(),
  stop,
  seed: z.number().int().min(0).max(SEED_LIMIT).nullish(),
  n: z.number().int().min(1).max(MAX_CHOICES).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullish(),
  user: z.string().max(256).optional(), // accepted and ignored, as an end-user id is metadata
};

/** Most prompts in one /v1/completions request (each runs n choices). */
export const MAX_PROMPTS = 16;

/** One prompt of a /v1/completions request: text, or token ids of the model's vocabulary. */
export type PromptInput = string | number[];

const PROMPT_SHAPES = 'a string, a list of strings, a list of token ids, or a list of token-id lists';

/** Token ids as integers ≥ 0 (the vocabulary's end is the model's, checked when the prompt is encoded). */
function tokenIds(list: unknown[], where: string): number[] | string {
  if (list.length === 0) return `${where} is an empty list; a prompt needs at least one token`;
  const bad = list.findIndex((id) => !(typeof id === 'number' && Number.isInteger(id) && id >= 0));
  if (bad >= 0) return `${where}[${bad}] is ${JSON.stringify(list[bad])}, not a token id (an integer ≥ 0)`;
  return list as number[];
}

/**
 * `prompt` in the shapes the OpenAI API takes: one string, one list of token ids, or a batch of either (a list
 * of strings or of token-id lists, not mixed). A string saying what is wrong, for anything else. Written out
 * rather than as a zod union, whose error would not say which element is wrong or why.
 */
export function promptList(value: unknown): PromptInput[] | string {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return `must be ${PROMPT_SHAPES}`;
  if (value.length === 0) return `is an empty list; give ${PROMPT_SHAPES}`;
  if (typeof value[0] === 'number') {
    const ids = tokenIds(value, 'prompt');
    return typeof ids === 'string' ? ids : [ids];
  }
  if (value.length > MAX_PROMPTS) return `${value.length} prompts; a request takes at most ${MAX_PROMPTS}`;
  const asText = typeof value[0] === 'string';
  const prompts: PromptInput[] = [];
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (asText && typeof v === 'string') prompts.push(v);
    else if (!asText && Array.isArray(v)) {
      const ids = tokenIds(v, `prompt[${i}]`);
      if (typeof ids === 'string') return ids;
      prompts.push(ids);
    } else
      return (
        `prompt[${i}] is ${Array.isArray(v) ? 'a list' : v === null ? 'null' : `a ${typeof v}`}, ` +
        'but a batch is all strings or all token-id lists'
      );
  }
  return prompts;
}

export const completionRequest = z
  .object({
    ...sampling,
    prompt: z.unknown().transform((value, ctx): PromptInput[] => {
      const prompts = value === undefined ? `required: ${PROMPT_SHAPES}` : promptList(value);
      if (typeof prompts !== 'string') return prompts;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: prompts });
      return z.NEVER;
    }),
  })
  .strict();

const textPart = z.object({ type: z.literal('text'), text: z.string() }).strict();
const message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant']),
    content: z.union([z.string(), z.array(textPart).max(256)]),
    name: z.string().max(64).optional(),
  })
  .strict();

export const chatRequest = z
  .object({
    ...sampling,
    messages: z.array(message).min(1).max(1024),
    max_completion_tokens: z.number().int().min(1).nullish(), // the newer name of max_tokens
  })
  .strict();

export type CompletionRequest = z.infer<typeof completionRequest>;
export type ChatRequest = z.infer<typeof chatRequest>;
export type ChatMessage = z.infer<typeof message>;

/** Parses a JSON body against a schema; the first problem becomes a 400 that names its field. */
export function parseRequest<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(400, 'the request body must be a JSON object');
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw problem(result.error);
}

function problem(error: ZodError): ApiError {
  const issue = error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const field = issue.keys[0];
    return new ApiError(400, `unknown or unsupported field "${field}"`, 'invalid_request_error', field);
  }
  const param = issue.path.join('.') || null;
  return new ApiError(400, `${param ?? 'body'}: ${issue.message}`, 'invalid_request_error', param);
}
