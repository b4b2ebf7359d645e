// Starting and querying a server child process (serve-worker.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServeOptions } from '../serve/server.js';

const WORKER = fileURLToPath(new URL('./serve-worker.js', import.meta.url));

export interface ServerStats {
  rssBytes: number;
  heapUsedBytes: number;
  peakRssBytes: number;
  cpuS: number;
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Resident memory now (after a GC) and at its peak so far, in bytes; CPU time used so far (all threads). */
  stats(): Promise<ServerStats>;
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
  return {
    url: first.url,
    child,
    stats: ask,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}
