// `hsm serve` as a library call: load the run folders, give each model its
// continuous batcher, and listen. close() ends running streams with a final
// event, refuses new requests, and lets the listener go.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { UserError } from '../errors.js';
import { createApp } from './app.js';
import { ContinuousBatcher, type BatcherStats } from './batcher.js';
import { loadServedModels, type ServedModel } from './served-models.js';

export interface ServeOptions {
  ckpts: string[];
  host: string;
  /** 0 picks a free port (tests, benchmarks). */
  port: number;
  apiKey?: string;
  corsOrigin?: string;
  /** Sequences decoding at once, per model. */
  parallel: number;
  /** Sequences waiting for a slot, per model, before requests get 429. */
  maxQueue: number;
  maxTokensLimit: number;
  /** How long streamed text may wait for more tokens before it is written; default DEFAULT_STREAM_INTERVAL_MS. */
  streamIntervalMs?: number;
}

export interface RunningServer {
  url: string;
  /** The models as loaded and packed for serving, each with its id (benchmarks time them in the server's process). */
  served: readonly ServedModel[];
  /** Each served model's scheduling counters, in the order of `served` (as /health shows them). */
  batcherStats(): BatcherStats[];
  close(): Promise<void>;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const models = loadServedModels(opts.ckpts);
  const batchers = new Map(
    models.map((m) => [m.id, new ContinuousBatcher(m.model, { parallel: opts.parallel, maxQueue: opts.maxQueue })]),
  );
  let closing = false;
  const app = createApp({
    models,
    batchers,
    apiKey: opts.apiKey,
    corsOrigin: opts.corsOrigin,
    maxTokensLimit: opts.maxTokensLimit,
    streamIntervalMs: opts.streamIntervalMs,
    closing: () => closing,
  });
  const server = createAdaptorServer({ fetch: app.fetch, hostname: opts.host }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new UserError(
              `--port ${opts.port}: ${opts.host}:${opts.port} is in use; choose another port (0 = any free one)`,
            )
          : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
            ? new UserError(`--host ${opts.host}: not an address of this machine (${err.code})`)
            : err.code === 'EACCES'
              ? new UserError(`--port ${opts.port}: not allowed for this user (ports below 1024 need privileges)`)
              : err,
      ),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    served: models,
    batcherStats: () => models.map((m) => ({ ...batchers.get(m.id)!.stats })),
    close: async () => {
      if (closing) return;
      closing = true;
      for (const b of batchers.values()) b.shutdown();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Streams just got their final event; give them a moment to flush, then drop what is left.
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
    },
  };
}
