// A server in a child process for `hsm bench serve` and the soak test, so the
// memory it reports is the server's alone. Started with fork(); the options
// come as JSON in argv[2]; it answers "stats" and "decode-rate" messages and
// stops on "stop".
import { startServer, type ServeOptions } from '../serve/server.js';
import { decodeBatchRate } from './decode.js';
import { median } from './timing.js';

/** Asks the server process for its first model's decodeBatch rate at `sequences` (after the load: it allocates states). */
export interface DecodeRateRequest {
  type: 'decode-rate';
  sequences: number;
  promptTokens: number;
  steps: number;
  rounds: number;
}

/** decodeBatch rounds run and not counted before the measured ones. */
const WARM_ROUNDS = 10;

const opts = JSON.parse(process.argv[2]) as ServeOptions;
const server = await startServer(opts);
process.send!({ url: server.url });
process.on('message', (msg: string | DecodeRateRequest) => {
  if (msg === 'stats') {
    (globalThis as { gc?: () => void }).gc?.(); // with --expose-gc: live memory, not garbage awaiting collection
    const m = process.memoryUsage();
    const cpu = process.cpuUsage();
    process.send!({
      rssBytes: m.rss,
      heapUsedBytes: m.heapUsed,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      cpuS: (cpu.user + cpu.system) / 1e6,
      batcher: server.batcherStats()[0],
    });
  } else if (msg === 'stop') {
    void server.close().then(() => process.exit(0));
  } else if (typeof msg === 'object' && msg.type === 'decode-rate') {
    // The served (packed) model in the server's own process and thread pool, so the server efficiency compares
    // two rates of one process: rates differ by up to 1.5x between processes on a shared machine.
    const { model } = server.served[0];
    // Rounds not counted first: V8 optimises decodeBatchInto's loops only after a few hundred steps, so a fresh
    // process's first rounds run well below its later ones (docs/results/serve/), and the server's own passes enter
    // the model through other functions, so they do not warm these.
    for (let i = 0; i < WARM_ROUNDS; i++) decodeBatchRate(model, msg.sequences, msg.promptTokens, msg.steps);
    const rates = Array.from({ length: msg.rounds }, () =>
      decodeBatchRate(model, msg.sequences, msg.promptTokens, msg.steps),
    );
    process.send!({ decodeRate: median(rates) });
  }
});
