// `hsm bench serve`'s server efficiency: each record's server tokens/s beside the same model's decodeBatch rate at
// as many sequences, measured in the same run, and their ratio.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchServe, type ServeBenchOptions } from '../src/bench/serve.js';
import { UserError } from '../src/errors.js';

/** Fresh tiny models of both kinds, a few short requests; the records it emitted. */
async function tinyBench(opts: Partial<ServeBenchOptions>): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  await benchServe({
    ckpts: [],
    plans: ['hsm:pair*2', 'attn*2'],
    nEmbd: 16,
    context: 64,
    concurrency: [1, 3],
    requests: 3,
    maxTokens: 8,
    promptTokens: 6,
    deadlineS: 120,
    ...opts,
    emit: (r) => records.push(r),
  });
  return records;
}

test('bench serve: server_efficiency is the server tokens/s over the model decodeBatch rate, per concurrency', async () => {
  const records = await tinyBench({});
  const runs = records.filter((r) => r.bench === 'serve');
  assert.deepEqual(
    runs.map((r) => [r.model, r.concurrency]),
    [
      ['hsm:pair*2', 1],
      ['hsm:pair*2', 3],
      ['attn*2', 1],
      ['attn*2', 3],
    ],
  );
  for (const r of runs) {
    assert.equal(r.completed, 3, JSON.stringify(r));
    const server = r.tokens_per_s as number,
      model = r.decode_batch_tokens_per_s as number;
    assert.ok(server > 0 && model > 0, JSON.stringify(r));
    assert.ok(Math.abs((r.server_efficiency as number) - server / model) <= 5e-5, JSON.stringify(r));
    // The step decomposition: every one of the 3 requests × 8 tokens drawn in some step, every request prefilled
    // in one, and the parts of a step (with the time between steps) adding up to its wall time.
    const steps = r.steps as number,
      ms = r.step_ms as Record<string, number | null>;
    assert.ok(Math.abs(steps * (r.tokens_per_step as number) - 24) <= steps * 5e-4, JSON.stringify(r));
    const prefills = steps * (r.prefill_step_share as number);
    assert.ok(prefills >= 1 - 1e-3 && prefills <= 3 + 1e-3, JSON.stringify(r));
    const parts = ms.model_passes! + ms.sampling! + ms.scheduling! + ms.outside_steps!;
    assert.ok(Math.abs(parts - ms.wall!) <= 3e-3, JSON.stringify(r));
    assert.ok(ms.model_passes! > 0 && ms.sampling! > 0 && ms.outside_steps! >= 0, JSON.stringify(r));
    assert.ok(
      Math.abs(ms.decode_batch_median! - ((r.concurrency as number) * 1000) / model) <= 1e-3,
      JSON.stringify(r),
    );
  }
  const summaries = records.filter((r) => r.bench === 'serve-summary');
  assert.equal(summaries.length, 2);
  for (const s of summaries) {
    const mine = runs.filter((r) => r.model === s.model);
    assert.deepEqual(
      s.server_efficiency,
      Object.fromEntries(mine.map((r) => [String(r.concurrency), r.server_efficiency])),
    );
  }
});

test("bench serve: --stream-interval-ms reaches the server (0: a chunk per token; 1000: the rest of a request's text in one)", async () => {
  const chunksAt = async (streamIntervalMs: number) => {
    const records = await tinyBench({
      plans: ['hsm:pair*2'],
      concurrency: [2],
      requests: 2,
      maxTokens: 32,
      streamIntervalMs,
    });
    const [run] = records.filter((r) => r.bench === 'serve');
    assert.equal(run.completed, 2, JSON.stringify(run));
    assert.equal(run.stream_interval_ms, streamIntervalMs);
    return run.chunks_per_request as number;
  };
  const gathered = await chunksAt(1000);
  const perToken = await chunksAt(0);
  // The first text goes at once and a request ends long before 1000 ms: at most two chunks. Without gathering,
  // every token that completes a character is a chunk of its own (a random byte model completes most of them).
  assert.ok(gathered <= 2, `1000 ms: ${gathered} chunks a request`);
  assert.ok(perToken >= 8, `0 ms: ${perToken} chunks a request`);
});

test('bench serve --rounds: every model and concurrency once a round, in turns; the summary takes the medians', async () => {
  const records = await tinyBench({ concurrency: [1, 2], requests: 2, rounds: 3 });
  const runs = records.filter((r) => r.bench === 'serve');
  // In turns: round 1 over both models and both concurrencies, then round 2, then round 3.
  assert.deepEqual(
    runs.map((r) => `${String(r.round)} ${String(r.model)} ${String(r.concurrency)}`),
    [1, 2, 3].flatMap((round) =>
      ['hsm:pair*2', 'attn*2'].flatMap((model) => [1, 2].map((c) => `${round} ${model} ${c}`)),
    ),
  );
  const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
  for (const s of records.filter((r) => r.bench === 'serve-summary')) {
    assert.equal(s.rounds, 3);
    for (const c of [1, 2]) {
      const mine = runs.filter((r) => r.model === s.model && r.concurrency === c);
      const eff = mine.map((r) => r.server_efficiency as number);
      assert.equal((s.server_efficiency as Record<string, number>)[String(c)], medianOf(eff));
      assert.deepEqual((s.server_efficiency_range as Record<string, number[]>)[String(c)], [
        Math.min(...eff),
        Math.max(...eff),
      ]);
    }
    const tps = (c: number) =>
      medianOf(runs.filter((r) => r.model === s.model && r.concurrency === c).map((r) => r.tokens_per_s as number));
    assert.deepEqual(s.throughput_vs_first, [1, Math.round((tps(2) / tps(1)) * 100) / 100]);
  }
});

test('bench serve: a prompt that leaves no room to decode in the context is a user error', async () => {
  await assert.rejects(
    tinyBench({ plans: ['attn*2'], context: 16, concurrency: [1], requests: 1, maxTokens: 4, promptTokens: 8 }),
    (e: unknown) => e instanceof UserError && /--prompt-tokens 8: leaves no room .* at most 4/.test(e.message),
  );
});
