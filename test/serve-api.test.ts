// `hsm serve` through the official `openai` npm client (an independent client
// that checks our shapes): completions, streaming, chat, stop, seed, n, every
// error status, and batched serving equal to one-at-a-time generation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { format } from 'node:util';
import OpenAI, { APIError } from 'openai';
import { generateText, loadModel } from '../src/index.js';
import { kernels } from '../src/backend/index.js';
import { createApp, MAX_BODY_BYTES } from '../src/serve/app.js';
import { ContinuousBatcher } from '../src/serve/batcher.js';
import { chatPrompt } from '../src/serve/chat-template.js';
import { loadServedModels } from '../src/serve/served-models.js';
import { MAX_PROMPTS } from '../src/serve/requests.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { trainServeFixtures, type FixtureName } from './serve-fixtures.js';

const KEY = 'test-key-123';
let dirs: Record<FixtureName, string>;
let server: RunningServer;
let client: OpenAI;
const models = new Map<string, ReturnType<typeof loadModel>>();

before(async () => {
  dirs = await trainServeFixtures();
  for (const [name, dir] of Object.entries(dirs)) models.set(name, loadModel(dir));
  server = await startServer({
    ckpts: Object.values(dirs),
    host: '127.0.0.1',
    port: 0,
    apiKey: KEY,
    parallel: 16,
    maxQueue: 64,
    maxTokensLimit: 100_000,
    streamIntervalMs: 0, // every token in its own chunk; the test of the interval starts a server of its own
  });
  client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 60_000 });
});
after(() => server?.close());

/** What `hsm generate` would print for the same request, one sequence at a time. */
function expected(
  name: string,
  prompt: string,
  o: { maxTokens: number; temperature: number; seed?: number; topK?: number; topP?: number },
): string {
  const { model, tokenizer } = models.get(name)!;
  return generateText(model, tokenizer, prompt, { topK: 0, topP: 1, seed: 0, ...o });
}

async function collect(
  stream: AsyncIterable<OpenAI.Completions.Completion>,
): Promise<{ text: string[]; finish: string[]; usage?: OpenAI.CompletionUsage; chunks: number }> {
  const text: string[] = [],
    finish: string[] = [];
  let usage: OpenAI.CompletionUsage | undefined,
    chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text[c.index] = (text[c.index] ?? '') + c.text;
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  return { text, finish, usage, chunks };
}

test('models: one entry per run folder with its plan, context and decoding state', async () => {
  const list = await client.models.list();
  const byId = new Map(list.data.map((m) => [m.id, m as unknown as Record<string, unknown>]));
  assert.deepEqual([...byId.keys()].sort(), ['bytes', 'gpt', 'hsm', 'hybrid']);
  assert.equal(byId.get('gpt')!.plan, 'attn*2');
  assert.equal(byId.get('gpt')!.context_is_fixed, true);
  assert.equal(byId.get('hsm')!.context_is_fixed, false);
  assert.ok((byId.get('hsm')!.decode_state_bytes as number) < (byId.get('gpt')!.decode_state_bytes as number) * 4);
  assert.match(String(byId.get('hybrid')!.chat_template), /User:/);
  // Served weights are packed for the batched GEMM at start-up (natively; the js and wasm backends keep none).
  for (const card of byId.values())
    assert.equal((card.packed_weight_bytes as number) > 0, kernels().name === 'native', `${String(card.id)}`);
});

test('completion: greedy text equals hsm generate for every plan; usage counts tokens', async () => {
  for (const name of ['gpt', 'hsm', 'hybrid', 'bytes']) {
    const r = await client.completions.create({ model: name, prompt: 'ROMEO:', max_tokens: 40, temperature: 0 });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].text, expected(name, 'ROMEO:', { maxTokens: 40, temperature: 0 }), name);
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage!.completion_tokens, 40);
    assert.equal(r.usage!.prompt_tokens, 6);
  }
});

test('streaming (--stream-interval-ms 0): chunks arrive one token at a time and add up to the whole answer (UTF-8 across byte tokens)', async () => {
  for (const name of ['hsm', 'bytes', 'gpt']) {
    const req = { model: name, prompt: 'café: ', max_tokens: 60, temperature: 1, seed: 7 } as const;
    const whole = await client.completions.create(req);
    const streamed = await collect(
      await client.completions.create({ ...req, stream: true, stream_options: { include_usage: true } }),
    );
    assert.equal(streamed.text[0], whole.choices[0].text, name);
    assert.equal(streamed.text[0], expected(name, 'café: ', { maxTokens: 60, temperature: 1, seed: 7 }));
    assert.ok(!streamed.text[0].includes('\uFFFD') || whole.choices[0].text.includes('\uFFFD'));
    assert.equal(streamed.finish[0], 'length');
    assert.equal(streamed.usage!.completion_tokens, 60);
    assert.ok(streamed.chunks >= 30, `${name}: ${streamed.chunks} chunks for 60 tokens: not streamed token by token`);
  }
});

test('--stream-interval-ms: the first text goes at once, later tokens wait and go out together, the text is the same', async () => {
  const gathering = await startServer({
    ckpts: [dirs.hsm, dirs.bytes],
    host: '127.0.0.1',
    port: 0,
    parallel: 4,
    maxQueue: 4,
    maxTokensLimit: 1000,
    streamIntervalMs: 60_000, // longer than the test: only the first token and the end write text
  });
  try {
    const gather = new OpenAI({ apiKey: 'unused', baseURL: `${gathering.url}/v1`, maxRetries: 0, timeout: 60_000 });
    for (const name of ['hsm', 'bytes']) {
      const req = { model: name, prompt: 'café: ', max_tokens: 60, temperature: 1, seed: 7 } as const;
      const texts: string[] = [];
      let usage: OpenAI.CompletionUsage | undefined;
      const stream = await gather.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) if (c.text) texts.push(c.text);
      }
      assert.equal(texts.join(''), expected(name, 'café: ', { maxTokens: 60, temperature: 1, seed: 7 }), name);
      assert.equal(usage!.completion_tokens, 60);
      // The first text alone (it is never held), then the other 59 tokens' text in one delta at the end.
      assert.equal(texts.length, 2, `${name}: ${texts.length} text chunks: ${JSON.stringify(texts)}`);
    }
    // Several choices share the request's writes: each still gets its own deltas under its own index.
    const n = await gather.completions.create({
      model: 'hsm',
      prompt: 'KING',
      max_tokens: 30,
      n: 3,
      seed: 5,
      stream: true,
    });
    const byChoice: string[] = [];
    for await (const chunk of n) for (const c of chunk.choices) byChoice[c.index] = (byChoice[c.index] ?? '') + c.text;
    const whole = await client.completions.create({ model: 'hsm', prompt: 'KING', max_tokens: 30, n: 3, seed: 5 });
    assert.deepEqual(
      byChoice,
      whole.choices.map((c) => c.text),
    );
  } finally {
    await gathering.close();
  }
});

test('chat: the plain template, an assistant message, and no invented user turn', async () => {
  const messages = [
    { role: 'system' as const, content: 'You speak like a play.' },
    { role: 'user' as const, content: 'Who goes there?' },
  ];
  const r = await client.chat.completions.create({
    model: 'hsm',
    messages,
    max_tokens: 80,
    temperature: 0.9,
    seed: 3,
  });
  assert.equal(r.object, 'chat.completion');
  const content = r.choices[0].message.content!;
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.ok(!content.includes('\nUser:'));
  const full = expected('hsm', chatPrompt(messages), { maxTokens: 80, temperature: 0.9, seed: 3 });
  assert.ok(full.startsWith(content), 'the answer is the generation, cut at most at "\\nUser:"');
  assert.equal(r.choices[0].finish_reason, full.includes('\nUser:') ? 'stop' : 'length');
  // Streaming chat: a role delta first, then content deltas that add up to the same answer.
  const stream = await client.chat.completions.create({
    model: 'hsm',
    messages,
    max_tokens: 80,
    temperature: 0.9,
    seed: 3,
    stream: true,
  });
  let text = '',
    role = '';
  for await (const chunk of stream) {
    const d = chunk.choices[0]?.delta;
    if (d?.role) role = d.role;
    text += d?.content ?? '';
  }
  assert.equal(role, 'assistant');
  assert.equal(text, content);
});

test('stop: the answer ends before the first stop sequence, streamed or not', async () => {
  const free = expected('hsm', 'ROMEO:', { maxTokens: 80, temperature: 0 });
  const stop = free.slice(20, 23);
  const cut = free.indexOf(stop);
  assert.ok(cut >= 0);
  const r = await client.completions.create({
    model: 'hsm',
    prompt: 'ROMEO:',
    max_tokens: 80,
    temperature: 0,
    stop: ['zzzz', stop],
  });
  assert.equal(r.choices[0].text, free.slice(0, cut));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const s = await collect(
    await client.completions.create({
      model: 'hsm',
      prompt: 'ROMEO:',
      max_tokens: 80,
      temperature: 0,
      stop,
      stream: true,
    }),
  );
  assert.equal(s.text[0], free.slice(0, cut));
  assert.equal(s.finish[0], 'stop');
});

test('seed: the same seed repeats the answer, another seed changes it; n choices use seed, seed+1, …', async () => {
  const ask = (seed: number, n = 1) =>
    client.completions.create({ model: 'hsm', prompt: 'KING', max_tokens: 50, temperature: 1.2, seed, n });
  const a = await ask(11),
    b = await ask(11),
    c = await ask(12);
  assert.equal(a.choices[0].text, b.choices[0].text);
  assert.notEqual(a.choices[0].text, c.choices[0].text);
  const three = await ask(11, 3);
  assert.deepEqual(
    three.choices.map((x) => x.index),
    [0, 1, 2],
  );
  assert.equal(three.choices[0].text, a.choices[0].text);
  assert.equal(three.choices[1].text, c.choices[0].text);
  assert.equal(three.usage!.completion_tokens, 150);
  assert.equal(three.usage!.prompt_tokens, 4);
});

// 16 concurrent streams over three models, of different lengths and sampling settings, a quarter of them with 4
// choices: each choice must get the tokens `hsm generate` gives it alone (seed + its number), and the server must have
// decoded them in batches (a request's choices join in one step, so a batch of 4 does not hang on the clients' timing).
test('batched serving equals one at a time: 16 concurrent streams over three models give each its own tokens', async () => {
  const names = ['gpt', 'hsm', 'hybrid'];
  const reqs = Array.from({ length: 16 }, (_, i) => ({
    model: names[i % 3],
    prompt: ['ROMEO:', 'First Citizen:\nWe', 'O', 'KING HENRY'][i % 4],
    max_tokens: 30 + 3 * i, // different lengths: sequences leave the batch at different steps
    n: i % 4 === 3 ? 4 : 1,
    temperature: i % 5 === 0 ? 0 : 0.9,
    top_k: i % 3 === 1 ? 10 : undefined,
    top_p: i % 4 === 2 ? 0.9 : undefined,
    seed: 100 + i,
  }));
  const results = await Promise.all(
    reqs.map(async (r) => collect(await client.completions.create({ ...r, stream: true }))),
  );
  reqs.forEach((r, i) => {
    for (let j = 0; j < r.n; j++) {
      const want = expected(r.model, r.prompt, {
        maxTokens: r.max_tokens,
        temperature: r.temperature,
        seed: r.seed + j,
        topK: r.top_k ?? 0,
        topP: r.top_p ?? 1,
      });
      assert.equal(results[i].text[j], want, `request ${i} (${r.model}), choice ${j}`);
    }
  });
  // Earlier tests ran one request (at most 3 choices) at a time, so a batch of 4 or more is this test's.
  const health = (await (await fetch(`${server.url}/health`)).json()) as { models: { largestBatch: number }[] };
  const largest = Math.max(...health.models.map((m) => m.largestBatch));
  assert.ok(largest >= 4, `the requests were decoded in batches (largest batch ${largest})`);
});

test('errors: OpenAI-shaped 400 / 401 / 404 / 413 naming the problem', async () => {
  const bad = async (
    p: Promise<unknown>,
    Kind: new (...a: never[]) => APIError,
    status: number,
    pattern: RegExp,
    param?: string,
  ) => {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof Kind, `${String(err)} is not a ${Kind.name}`);
      const e = err as APIError;
      assert.equal(e.status, status);
      assert.match(e.message, pattern);
      if (param) assert.equal(e.param, param);
      return true;
    });
  };
  await bad(
    client.completions.create({ model: 'hsm', prompt: 'x', temperature: 5 }),
    OpenAI.BadRequestError,
    400,
    /temperature.*2/,
    'temperature',
  );
  await bad(
    client.completions.create({ model: 'hsm', prompt: 'x', n: 99 }),
    OpenAI.BadRequestError,
    400,
    /n: .*8/,
    'n',
  );
  await bad(
    client.completions.create({ model: 'hsm', prompt: 'x', max_tokens: 200_000 }),
    OpenAI.BadRequestError,
    400,
    /max_tokens.*100000/,
  );
  await bad(
    client.completions.create({ model: 'hsm', prompt: 'x', frequency_penalty: 1 }),
    OpenAI.BadRequestError,
    400,
    /frequency_penalty/,
    'frequency_penalty',
  );
  await bad(
    client.completions.create({ model: 'gpt', prompt: 'a'.repeat(100) }),
    OpenAI.BadRequestError,
    400,
    /100 tokens.*at most 32/,
    'prompt',
  );
  await bad(
    client.completions.create({ model: 'hsm', prompt: '' }),
    OpenAI.BadRequestError,
    400,
    /no tokens/,
    'prompt',
  );
  await bad(client.completions.create({ model: 'hsm', prompt: '☃' }), OpenAI.BadRequestError, 400, /prompt/, 'prompt');
  await bad(
    client.chat.completions.create({ model: 'hsm', messages: [] }),
    OpenAI.BadRequestError,
    400,
    /messages/,
    'messages',
  );
  await bad(
    client.completions.create({ model: 'nope', prompt: 'x' }),
    OpenAI.NotFoundError,
    404,
    /"nope" is not served.*gpt/,
  );
  const stranger = new OpenAI({ apiKey: 'wrong-key', baseURL: `${server.url}/v1`, maxRetries: 0 });
  await bad(stranger.models.list(), OpenAI.AuthenticationError, 401, /API key/);
  // What the client cannot send: broken JSON, a huge body, no key at all, an unknown route.
  const raw = (path: string, body: string, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const shaped = async (res: Response, status: number, pattern: RegExp) => {
    assert.equal(res.status, status);
    const body = (await res.json()) as { error: { message: string; type: string } };
    assert.match(body.error.message, pattern);
    assert.equal(typeof body.error.type, 'string');
  };
  await shaped(await raw('/v1/completions', '{"prompt": "x",'), 400, /not valid JSON/);
  await shaped(await raw('/v1/completions', '[1]'), 400, /JSON object/);
  await shaped(
    await raw('/v1/completions', JSON.stringify({ prompt: 'x'.repeat(2 << 20) })),
    413,
    /over 1048576 bytes/,
  );
  await shaped(await raw('/v1/completions', '{"prompt": "x"}', {}), 401, /API key/);
  await shaped(await raw('/v1/completions', '{"prompt": "x"}'), 400, /model: required/);
  await shaped(await raw('/v1/nothing', '{}'), 404, /no route POST \/v1\/nothing/);
});

test('prompt as OpenAI batches it: strings, token ids, lists of either; choice i·n + j is prompt i, seed + j', async () => {
  const prompts = ['ROMEO:', 'O', 'KING HENRY'];
  const opts = { maxTokens: 20, temperature: 1.1 };
  const want = prompts.map((p) => [0, 1].map((j) => expected('hsm', p, { ...opts, seed: 40 + j })));
  const { tokenizer } = models.get('hsm')!;
  const ids = prompts.map((p) => Array.from(tokenizer.encode(p)));
  const ask = (prompt: string[] | number[][]) =>
    client.completions.create({ model: 'hsm', prompt, n: 2, max_tokens: 20, temperature: 1.1, seed: 40 });
  for (const r of [await ask(prompts), await ask(ids)]) {
    assert.deepEqual(
      r.choices.map((c) => c.index),
      [0, 1, 2, 3, 4, 5],
    );
    r.choices.forEach((c) => assert.equal(c.text, want[Math.floor(c.index / 2)][c.index % 2], `choice ${c.index}`));
    assert.equal(r.usage!.prompt_tokens, ids.flat().length);
    assert.equal(r.usage!.completion_tokens, 6 * 20);
  }
  // One list of token ids is one prompt, the same as its text.
  const one = await client.completions.create({
    model: 'hsm',
    prompt: ids[2],
    max_tokens: 20,
    temperature: 1.1,
    seed: 41,
  });
  assert.deepEqual(
    one.choices.map((c) => [c.index, c.text]),
    [[0, want[2][1]]],
  );
  // Streamed: every chunk names its choice by the same index.
  const s = await collect(
    await client.completions.create({
      model: 'hsm',
      prompt: prompts,
      n: 2,
      max_tokens: 20,
      temperature: 1.1,
      seed: 40,
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  assert.deepEqual(s.text, want.flat());
  assert.deepEqual(s.finish, Array(6).fill('length'));
  assert.equal(s.usage!.prompt_tokens, ids.flat().length);
});

test('prompt lists: bad shapes, token ids and sizes are 400s naming the problem', async () => {
  const refused = async (prompt: unknown, pattern: RegExp, model = 'hsm') =>
    assert.rejects(client.completions.create({ model, prompt: prompt as string, max_tokens: 5 }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `${JSON.stringify(prompt)}: ${String(err)}`);
      assert.match((err as APIError).message, pattern, JSON.stringify(prompt));
      assert.equal((err as APIError).param, 'prompt');
      return true;
    });
  const vocab = models.get('hsm')!.model.config.vocabSize;
  await refused([], /empty list; give a string, a list of strings/);
  await refused(5, /must be a string, a list of strings, a list of token ids, or a list of token-id lists/);
  await refused(null, /must be a string/);
  await refused([1, -2], /prompt\[1\] is -2, not a token id/);
  await refused([1, 2.5], /prompt\[1\] is 2.5, not a token id/);
  await refused([1, 'a'], /prompt\[1\] is "a", not a token id/);
  await refused([[1], 'a'], /prompt\[1\] is a string, but a batch is all strings or all token-id lists/);
  await refused(['a', [1]], /prompt\[1\] is a list, but a batch/);
  await refused([[1], []], /prompt\[1\] is an empty list/);
  await refused(
    [1, vocab],
    new RegExp(`token id ${vocab} at position 1 is outside model "hsm"'s vocabulary of ${vocab}`),
  );
  await refused([[1], [2, vocab + 7]], new RegExp(`prompt\\[1\\]: token id ${vocab + 7} at position 1`));
  await refused(
    Array(MAX_PROMPTS + 1).fill('a'),
    new RegExp(`${MAX_PROMPTS + 1} prompts; a request takes at most ${MAX_PROMPTS}`),
  );
  await refused(['ROMEO', ''], /prompt\[1\]: encodes to no tokens/);
  await refused(['ROMEO', 'a'.repeat(40)], /prompt\[1\]: 40 tokens, but model "gpt" takes at most 32/, 'gpt');
  // A request that could never fit the server, however idle: a 400 that says why, not a 429 to retry.
  await assert.rejects(
    client.completions.create({ model: 'hsm', prompt: Array(MAX_PROMPTS).fill('a'), n: 8, max_tokens: 5 }),
    (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.match((err as Error).message, /needs 128 sequences.*--parallel 16 \+ --max-queue 64 = 80/);
      return true;
    },
  );
});

test('a client that sends half a request body and disconnects is logged in one line; the server serves on', async () => {
  const logged: string[] = [];
  const { error } = console;
  console.error = (...args: unknown[]) => logged.push(format(...args)); // as console.error would print it
  try {
    const port = Number(new URL(server.url).port);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          'POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            `Authorization: Bearer ${KEY}\r\nContent-Length: 1000\r\n\r\n{"model": "hsm", "prompt": "RO`,
        );
        setTimeout(() => socket.destroy(), 100); // mid-body: 30 of the 1000 bytes announced
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const deadline = Date.now() + 5000;
    while (logged.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200)); // anything more it would log comes now
  } finally {
    console.error = error;
  }
  assert.equal(logged.length, 1, `one log entry, got:\n${logged.join('\n')}`);
  assert.equal(logged[0].split('\n').length, 1, `one line, got:\n${logged[0]}`);
  assert.match(
    logged[0],
    /closed its connection after sending 30 of 1000 bytes of its request body \(POST \/v1\/completions\)/,
  );
  const r = await client.completions.create({ model: 'hsm', prompt: 'ROMEO:', max_tokens: 5, temperature: 0 });
  assert.equal(r.choices[0].text, expected('hsm', 'ROMEO:', { maxTokens: 5, temperature: 0 }));
});

test('a client that disconnects stops its generation', async () => {
  const controller = new AbortController();
  const stream = await client.completions.create(
    { model: 'hsm', prompt: 'ROMEO:', max_tokens: 90_000, stream: true },
    { signal: controller.signal },
  );
  let chunks = 0;
  try {
    for await (const chunk of stream) {
      void chunk;
      if (++chunks === 20) controller.abort();
    }
  } catch {
    // the client reports its own abort; what matters is what the server does
  }
  assert.ok(chunks >= 20);
  const deadline = Date.now() + 5000;
  let active = 1;
  while (Date.now() < deadline && active > 0) {
    await new Promise((r) => setTimeout(r, 50));
    const h = (await (await fetch(`${server.url}/health`)).json()) as {
      models: { id: string; active: number; queued: number }[];
    };
    active = h.models.reduce((s, m) => s + m.active + m.queued, 0);
  }
  assert.equal(active, 0, 'the server dropped the sequence of the client that left');
});

test('a full queue answers 429 at once; shutdown ends a running stream with a final error event', async () => {
  const small = await startServer({
    ckpts: [dirs.hsm],
    host: '127.0.0.1',
    port: 0,
    parallel: 1,
    maxQueue: 0,
    maxTokensLimit: 100_000,
  });
  const c = new OpenAI({ apiKey: 'unused', baseURL: `${small.url}/v1`, maxRetries: 0 });
  try {
    const long = await c.completions.create({ model: 'hsm', prompt: 'ROMEO:', max_tokens: 90_000, stream: true });
    const it = long[Symbol.asyncIterator]();
    await it.next(); // the stream holds the only slot
    const t0 = Date.now();
    await assert.rejects(c.completions.create({ model: 'hsm', prompt: 'x', max_tokens: 5 }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.match((err as Error).message, /busy.*--parallel 1, --max-queue 0/);
      return true;
    });
    assert.ok(Date.now() - t0 < 2000, 'refused at once, not after a wait');
    const closing = small.close();
    await assert.rejects(
      (async () => {
        for (;;) if ((await it.next()).done) break;
      })(),
      /shutting down/,
    );
    await closing;
  } finally {
    await small.close();
  }
});

test('the app as a plain fetch handler (no Node server under it) reads request bodies from the Request', async () => {
  const models = loadServedModels([dirs.hsm]);
  const batchers = new Map(models.map((m) => [m.id, new ContinuousBatcher(m.model, { parallel: 2, maxQueue: 2 })]));
  const app = createApp({ models, batchers, maxTokensLimit: 100, closing: () => false });
  const post = (body: string) =>
    app.request('/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const ok = await post(JSON.stringify({ prompt: 'ROMEO:', max_tokens: 5, temperature: 0 }));
  assert.equal(ok.status, 200);
  const r = (await ok.json()) as OpenAI.Completions.Completion;
  assert.equal(r.choices[0].text, expected('hsm', 'ROMEO:', { maxTokens: 5, temperature: 0 }));
  const big = await post(JSON.stringify({ prompt: 'x'.repeat(MAX_BODY_BYTES) }));
  assert.equal(big.status, 413);
  assert.match(((await big.json()) as { error: { message: string } }).error.message, /over 1048576 bytes/);
});
