// Starting and querying a server child process (serve-worker.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BatcherStats } from '../serve/batcher.js';
import type { ServeOptions } from '../serve/server.js';
import type { DecodeRateRequest } from './serve-worker.js';

const WORKER = fileURLToPath(new URL('./serve-worker.js', import.meta.url));

export interface ServerStats {
  rssBytes: number;
  heapUsedBytes: number;
  peakRssBytes: number;
  cpuS: number;
  /** The first served model's scheduling counters. */
  batcher: BatcherStats;
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Resident memory now (after a GC) and at its peak so far, in bytes; CPU time used so far (all threads). */
  stats(): Promise<ServerStats>;
  /** The first served model's decodeBatch tokens/s at `sequences`, timed in the server's process (median of rounds). */
  decodeRate(sequences: number, promptTokens: number, steps: number, rounds?: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startServerProcess(
  opts: ServeOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServerProcess> {
  const child = fork(WORKER, [JSON.stringify(opts)], {
    execArgv: ['--expose-gc'],
    env,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const first = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string }));
    child.once('exit', (code) => reject(new Error(`the server process exited with code ${code} before listening`)));
  });
  const ask = () =>
    new Promise<ServerStats>((resolve) => {
      child.once('message', (m) => resolve(m as ServerStats));
      child.send('stats');
    });
  const decodeRate = (sequences: number, promptTokens: number, steps: number, rounds = 3) =>
    new Promise<number>((resolve) => {
      child.once('message', (m) => resolve((m as { decodeRate: number }).decodeRate));
      child.send({ type: 'decode-rate', sequences, promptTokens, steps, rounds } satisfies DecodeRateRequest);
    });
  return {
    url: first.url,
    child,
    stats: ask,
    decodeRate,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}
