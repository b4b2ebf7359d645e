// A load generator for `hsm serve`: C concurrent clients stream completions
// until N requests are done, and every response is checked, not just timed.
// Written here rather than taken from a load-testing tool because each
// request must be verified (SSE framing, JSON chunks, usage, [DONE]) and the
// time to first token and between tokens measured per stream; the tools on
// npm time whole responses. Loopback only: the URL must be 127.0.0.1/localhost.
// Requests go through node:http with a keep-alive agent rather than fetch: the
// clients share the server's cores, and fetch's per-request machinery (web
// streams, Request and Response objects) takes CPU time the server then lacks.
import { setMaxListeners } from 'node:events';
import { Agent, request, type IncomingMessage } from 'node:http';

export interface LoadOptions {
  /** Base URL of the server (http://127.0.0.1:PORT). */
  url: string;
  model: string;
  apiKey?: string;
  concurrency: number;
  requests: number;
  maxTokens: number;
  prompt: string;
  temperature?: number;
  /** The whole run stops after this; unfinished requests count as lost. */
  deadlineMs: number;
}

export interface LoadResult {
  requests: number;
  /** Full answers: max_tokens tokens, finish_reason "length", usage, then [DONE]. */
  completed: number;
  /** Clean errors: an OpenAI-shaped error (status or in-stream), by status or code. */
  errors: Record<string, number>;
  /** Responses that broke the protocol (bad JSON, no [DONE], wrong token count) or never ended. */
  malformed: number;
  lost: number;
  tokens: number;
  wallS: number;
  /** Per completed request: ms from sending to the first text chunk. */
  ttftMs: number[];
  /** Gaps between consecutive text chunks, all streams together. */
  itlMs: number[];
}

/** Runs the load; resolves once every request has ended or the deadline passed. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const host = new URL(opts.url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host))
    throw new Error(`load tests target loopback only, not ${host}`);
  const result: LoadResult = {
    requests: opts.requests,
    completed: 0,
    errors: {},
    malformed: 0,
    lost: 0,
    tokens: 0,
    wallS: 0,
    ttftMs: [],
    itlMs: [],
  };
  const deadline = AbortSignal.timeout(opts.deadlineMs);
  setMaxListeners(2 * opts.concurrency, deadline); // each request in flight listens on it
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const start = performance.now();
  let next = 0;
  const client = async () => {
    while (next < opts.requests && !deadline.aborted) {
      next++;
      const outcome = await oneRequest(opts, agent, deadline, result);
      if (outcome === 'lost') result.lost++;
      else if (outcome === 'malformed') result.malformed++;
      else if (outcome === 'ok') result.completed++;
      else result.errors[outcome] = (result.errors[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, client));
  result.lost += opts.requests - next; // never sent before the deadline
  result.wallS = (performance.now() - start) / 1000;
  agent.destroy();
  return result;
}

/** A POST of a JSON body; resolves with the response once its head has arrived. */
function post(url: string, body: string, apiKey: string | undefined, agent: Agent, signal: AbortSignal) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        signal,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
        },
      },
      resolve,
    );
    req.once('error', reject);
    req.end(body);
  });
}

/** 'ok', 'lost', 'malformed', or the clean error's status/code. */
async function oneRequest(opts: LoadOptions, agent: Agent, deadline: AbortSignal, result: LoadResult): Promise<string> {
  const sent = performance.now();
  let res: IncomingMessage;
  try {
    res = await post(
      `${opts.url}/v1/completions`,
      JSON.stringify({
        model: opts.model,
        prompt: opts.prompt,
        max_tokens: opts.maxTokens,
        temperature: opts.temperature ?? 0.8,
        stream: true,
        stream_options: { include_usage: true },
      }),
      opts.apiKey,
      agent,
      deadline,
    );
  } catch {
    return 'lost';
  }
  res.setEncoding('utf8'); // whole characters, however the bytes are split
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) {
    try {
      let text = '';
      for await (const part of res as AsyncIterable<string>) text += part;
      const body = JSON.parse(text) as { error?: { message?: string; code?: string } };
      return typeof body.error?.message === 'string'
        ? `${status}${body.error.code ? ` ${body.error.code}` : ''}`
        : 'malformed';
    } catch (err) {
      return (err as Error).name === 'SyntaxError' ? 'malformed' : 'lost';
    }
  }
  let buffer = '',
    last = 0,
    chunks = 0,
    finish = '',
    usageTokens = -1,
    done = false;
  try {
    for await (const part of res as AsyncIterable<string>) {
      buffer += part;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!event.startsWith('data: ')) return 'malformed';
        const data = event.slice(6);
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const chunk = JSON.parse(data) as {
          error?: { code?: string };
          choices?: { text?: string; finish_reason?: string | null }[];
          usage?: { completion_tokens: number };
        };
        if (chunk.error) return `stream ${chunk.error.code ?? 'error'}`;
        if (chunk.usage) usageTokens = chunk.usage.completion_tokens;
        for (const c of chunk.choices ?? []) {
          if (c.finish_reason) finish = c.finish_reason;
          if (!c.text) continue;
          const now = performance.now();
          if (chunks === 0) result.ttftMs.push(now - sent);
          else result.itlMs.push(now - last);
          last = now;
          chunks++;
        }
      }
    }
  } catch (err) {
    return (err as Error).name === 'SyntaxError' ? 'malformed' : 'lost';
  }
  if (!done || finish !== 'length' || usageTokens !== opts.maxTokens || buffer.trim() !== '') return 'malformed';
  result.tokens += usageTokens;
  return 'ok';
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
