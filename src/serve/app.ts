// The HTTP routes of `hsm serve`. Hono earns its place over node:http: routing,
// CORS, and
// bearer-token checking with a constant-time comparison come from one small,
// dependency-free, well-kept library, and the app is a plain fetch handler
// (Request → Response) that tests can call directly.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { GPT2_RANKS_FILE } from '../data/gpt2-bpe.js';
import { gpt2RanksJson } from '../data/gpt2-tokenizer.js';
import { projectRoot } from '../project-root.js';
import { ApiError, ClientGone } from './api-error.js';
import type { ContinuousBatcher } from './batcher.js';
import { CHAT_STOP, chatPrompt } from './chat-template.js';
import { complete, type CompletionSpec } from './completions.js';
import { chatRequest, completionRequest, parseRequest, type CompletionRequest } from './requests.js';
import type { ServedModel } from './served-models.js';
import { isolatedPage } from './static-files.js';
import { pageSources } from './web-export.js';

export const MAX_BODY_BYTES = 1 << 20;
/** Bytes of an oversized body read (and dropped) before answering 413. */
const DRAIN_LIMIT = 64 << 20;
/** max_tokens when a request leaves it out. */
export const DEFAULT_MAX_TOKENS = 256;
/** How long streamed text may wait for more of its tokens before it is written (hsm serve --stream-interval-ms). */
export const DEFAULT_STREAM_INTERVAL_MS = 10;

export interface AppOptions {
  models: ServedModel[];
  batchers: Map<string, ContinuousBatcher>;
  apiKey?: string;
  corsOrigin?: string;
  /** Largest max_tokens a request may ask for. */
  maxTokensLimit: number;
  /** How long streamed text may wait for more tokens before it is written (SseStream); default DEFAULT_STREAM_INTERVAL_MS. */
  streamIntervalMs?: number;
  /** Set while the server shuts down: /health says so and new requests get 503. */
  closing: () => boolean;
}

export function createApp(opts: AppOptions): Hono {
  const app = new Hono();
  const byId = new Map(opts.models.map((m) => [m.id, m]));
  const playground = readFileSync(resolve(projectRoot(), 'web', 'playground.html'), 'utf8');
  const stylesheet = readFileSync(resolve(projectRoot(), 'web', 'hsm.css'), 'utf8');

  if (opts.corsOrigin) app.use('*', cors({ origin: opts.corsOrigin, allowHeaders: ['Authorization', 'Content-Type'] }));
  if (opts.apiKey) {
    const refuse = () =>
      Response.json(
        new ApiError(
          401,
          'missing or incorrect API key (send "Authorization: Bearer KEY")',
          'authentication_error',
          null,
          'invalid_api_key',
        ).body,
        { status: 401 },
      );
    app.use(
      '/v1/*',
      bearerAuth({
        token: opts.apiKey,
        noAuthenticationHeader: { message: refuse },
        invalidAuthenticationHeader: { message: refuse },
        invalidToken: { message: refuse },
      }),
    );
  }

  app.get('/', (c) => c.html(playground));
  app.get('/hsm.css', (c) => c.body(stylesheet, 200, { 'Content-Type': 'text/css; charset=utf-8' }));
  if (!opts.apiKey) addWebPages(app, byId);
  app.get('/health', (c) =>
    opts.closing()
      ? c.json({ status: 'shutting down' }, 503)
      : c.json({
          status: 'ok',
          models: opts.models.map((m) => {
            const b = opts.batchers.get(m.id)!;
            return { id: m.id, active: b.activeCount, queued: b.queuedCount, ...b.stats };
          }),
        }),
  );
  app.get('/v1/models', (c) => c.json({ object: 'list', data: opts.models.map((m) => m.card) }));
  app.get('/v1/models/:id', (c) => c.json(findModel(byId, c.req.param('id'), 'id').card));

  app.post('/v1/completions', async (c) => {
    const req = parseRequest(completionRequest, await readJson(c));
    const served = pickModel(byId, opts.models, req.model);
    return run(c, {
      ...common(req, served, opts),
      kind: 'text',
      prompts: req.prompt,
      promptParam: 'prompt',
      stop: stops(req.stop),
    });
  });

  app.post('/v1/chat/completions', async (c) => {
    const req = parseRequest(chatRequest, await readJson(c));
    const served = pickModel(byId, opts.models, req.model);
    const maxTokens = req.max_completion_tokens ?? req.max_tokens;
    return run(c, {
      ...common(
        { ...req, max_tokens: maxTokens },
        served,
        opts,
        req.max_completion_tokens ? 'max_completion_tokens' : 'max_tokens',
      ),
      kind: 'chat',
      prompts: [chatPrompt(req.messages)],
      promptParam: 'messages',
      stop: [...stops(req.stop), ...CHAT_STOP],
    });
  });

  const run = (c: Context, spec: CompletionSpec) => {
    if (opts.closing()) throw new ApiError(503, 'the server is shutting down', 'server_error', null, 'shutting_down');
    return complete(spec, opts.batchers.get(spec.served.id)!, c.req.raw.signal);
  };

  const routes =
    'GET / (the playground), GET /health, GET /v1/models, GET /v1/models/{id}, POST /v1/completions, ' +
    `POST /v1/chat/completions${opts.apiKey ? '' : ' and GET /web/{id}/ (the in-browser page)'}`;
  app.notFound((c) => {
    throw new ApiError(
      404,
      `no route ${c.req.method} ${new URL(c.req.url).pathname}; the server has ${routes}`,
      'invalid_request_error',
      null,
      'not_found',
    );
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.body, err.status);
    if (err instanceof ClientGone) {
      console.error(`hsm serve: ${err.message}; nothing was answered`);
      return c.body(null, 400); // goes nowhere: the connection is closed
    }
    if (err instanceof HTTPException) return err.getResponse();
    console.error(err); // a bug: its stack goes to the server's log, the client gets a 500
    return c.json(new ApiError(500, 'internal server error (see the server log)', 'server_error').body, 500);
  });
  return app;
}

/**
 * The body as JSON, at most MAX_BODY_BYTES. An oversized body is read to its end
 * (up to DRAIN_LIMIT) before the 413: answering while the client is still
 * uploading makes clients such as fetch report a broken pipe instead of the 413
 * (hono's bodyLimit answers early, so it is not used).
 */
async function readJson(c: Context): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const body = bodyChunks(c);
  if (body) {
    for (;;) {
      let chunk: IteratorResult<Uint8Array>;
      try {
        chunk = await body.next();
      } catch (err) {
        throw clientGone(c, size, err);
      }
      const { done, value } = chunk;
      if (done) break;
      size += value.byteLength;
      if (size <= MAX_BODY_BYTES) chunks.push(value);
      else if (size > DRAIN_LIMIT) break; // stop reading (no return(): that would close the socket before the answer)
    }
  }
  if (size > MAX_BODY_BYTES)
    throw new ApiError(
      413,
      `the request body is over ${MAX_BODY_BYTES} bytes`,
      'invalid_request_error',
      null,
      'request_too_large',
    );
  const text = new TextDecoder().decode(Buffer.concat(chunks));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `the request body is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * The request body's chunks as they arrive: under @hono/node-server straight from Node's IncomingMessage (its
 * Request's web stream over the same socket cost a stream conversion per request), else (the app called as a
 * plain fetch handler) from the Request's stream; null without a body.
 */
function bodyChunks(c: Context): AsyncIterator<Uint8Array> | null {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return incoming[Symbol.asyncIterator]();
  return c.req.raw.body?.[Symbol.asyncIterator]() ?? null;
}

/** A failed body read as ClientGone when it is the client's connection closing (Node's "aborted"), else as it is. */
function clientGone(c: Context, received: number, err: unknown): unknown {
  const closed = c.req.raw.signal.aborted || (err as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET';
  if (!closed) return err;
  const length = c.req.header('content-length');
  return new ClientGone(
    `a client closed its connection after sending ${received}${length ? ` of ${length}` : ''} bytes of its ` +
      `request body (${c.req.method} ${c.req.path})`,
  );
}

function findModel(byId: Map<string, ServedModel>, id: string, param: string): ServedModel {
  const m = byId.get(id);
  if (!m)
    throw new ApiError(
      404,
      `model "${id}" is not served here; the models are: ${[...byId.keys()].join(', ')}`,
      'invalid_request_error',
      param,
      'model_not_found',
    );
  return m;
}

/** The requested model; `model` may be left out when the server has only one. */
function pickModel(byId: Map<string, ServedModel>, models: ServedModel[], id: string | undefined): ServedModel {
  if (id !== undefined) return findModel(byId, id, 'model');
  if (models.length === 1) return models[0];
  throw new ApiError(
    400,
    `model: required when a server has several (${[...byId.keys()].join(', ')})`,
    'invalid_request_error',
    'model',
  );
}

function stops(stop: CompletionRequest['stop']): string[] {
  return stop == null ? [] : typeof stop === 'string' ? [stop] : stop;
}

/** Defaults and limits shared by both endpoints. */
function common(
  req: Omit<CompletionRequest, 'prompt'>,
  served: ServedModel,
  opts: AppOptions,
  maxTokensParam = 'max_tokens',
): Omit<CompletionSpec, 'kind' | 'prompts' | 'promptParam' | 'stop'> {
  const maxTokens = req.max_tokens ?? Math.min(DEFAULT_MAX_TOKENS, opts.maxTokensLimit);
  if (maxTokens > opts.maxTokensLimit)
    throw new ApiError(
      400,
      `${maxTokensParam}: ${maxTokens} is over this server's limit of ${opts.maxTokensLimit} (hsm serve --max-tokens-limit)`,
      'invalid_request_error',
      maxTokensParam,
    );
  return {
    served,
    maxTokens,
    temperature: req.temperature ?? 1,
    topP: req.top_p ?? 1,
    topK: req.top_k ?? 0,
    seed: req.seed ?? undefined,
    n: req.n ?? 1,
    stream: req.stream ?? false,
    includeUsage: req.stream_options?.include_usage ?? false,
    streamIntervalMs: opts.streamIntervalMs ?? DEFAULT_STREAM_INTERVAL_MS,
  };
}

const PAGE_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.safetensors': 'application/octet-stream',
};

/**
 * GET /web/<model>/: the model's in-browser page, as `hsm export --web` writes
 * it, served live (the page's code from the build, the weights from the run
 * folder; for gpt2 models, model/gpt2-ranks.json from js-tiktoken). Not served
 * behind an API key: the page downloads the weights, which the key is there to protect.
 */
function addWebPages(app: Hono, byId: Map<string, ServedModel>): void {
  const code = new Map(pageSources().map((s) => [s.to, s.from]));
  let ranksJson: string | undefined; // made on the first request for it
  app.use('/web/*', isolatedPage);
  app.get('/web/:id', (c) => c.redirect(`/web/${encodeURIComponent(c.req.param('id'))}/`));
  app.get('/web/:id/*', (c) => {
    const served = findModel(byId, c.req.param('id'), 'id');
    const name = c.req.path.slice(`/web/${encodeURIComponent(served.id)}/`.length) || 'index.html';
    if (name === `model/${GPT2_RANKS_FILE}`) {
      if (served.tokenizer.kind !== 'gpt2') return c.text('not found\n', 404);
      ranksJson ??= gpt2RanksJson();
      return new Response(ranksJson, { headers: { 'Content-Type': 'application/json' } });
    }
    const file =
      name === 'model/config.json' || name === 'model/model.safetensors'
        ? join(served.dir, name.slice('model/'.length))
        : code.get(name);
    if (!file) return c.text('not found\n', 404);
    if (!existsSync(file))
      return c.text(`${name} is not built on this server (npm run build makes the browser bundle)\n`, 404);
    return new Response(Readable.toWeb(createReadStream(file)) as ReadableStream, {
      headers: {
        'Content-Type': PAGE_TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': String(statSync(file).size),
      },
    });
  });
}
