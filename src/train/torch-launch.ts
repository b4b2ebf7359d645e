import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { UserError } from '../errors.js';
import { projectRoot } from '../project-root.js';

/**
 * Finding PyTorch and starting the torch engine's processes (python/hsm_torch).
 *
 * The ranks are started here rather than by torchrun: Debian's torch 1.13
 * launcher crashes under Python 3.11 unless given --redirects/--tee/--log_dir,
 * and on SIGTERM it kills the workers before they can save and exits 1 with a
 * traceback. Started directly, with the environment torchrun would give them
 * (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT: the env://
 * rendezvous), each rank has its own log, a stop request reaches every rank
 * so that they save together, and a rank that dies is named with its exit
 * status. The worker module also runs under torchrun unchanged.
 */

/** The interpreter and what its torch offers. */
export interface TorchPython {
  python: string;
  torch: string;
  distributed: boolean;
  cudaDevices: number;
}

export interface TorchEngineOptions {
  /** Processes on this machine (GPUs with --device cuda). */
  nproc: number;
  device: 'cpu' | 'cuda';
  /** Machines in the job and this one's place among them (0 = the one that writes the run folder). */
  nnodes: number;
  nodeRank: number;
  /** Address and port of node 0's rank 0 (default: loopback and a free port, for one machine). */
  masterAddr?: string;
  masterPort?: number;
}

const PROBE =
  'import json, torch, torch.distributed as d; print(json.dumps({"torch": torch.__version__, ' +
  '"distributed": d.is_available(), "cuda": torch.cuda.device_count() if torch.cuda.is_available() else 0}))';

/** The first interpreter (HSM_PYTHON, else python3 on PATH, then /usr/bin/python3) that imports torch; a UserError if none. */
export function findTorch(engine: TorchEngineOptions): TorchPython {
  const found = findTorchPython('--engine torch');
  checkCapabilities(found, engine);
  return found;
}

/** findTorch for `purpose` (how the error names what needs torch), without the engine's checks. */
export function findTorchPython(purpose: string): TorchPython {
  const candidates = process.env.HSM_PYTHON ? [process.env.HSM_PYTHON] : ['python3', '/usr/bin/python3'];
  const tried: string[] = [];
  for (const python of [...new Set(candidates)]) {
    const probe = spawnSync(python, ['-c', PROBE], { encoding: 'utf8', timeout: 60_000 });
    if (probe.error) {
      tried.push(
        `${python}: ${(probe.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : probe.error.message}`,
      );
      continue;
    }
    if (probe.status !== 0) {
      const last = probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`;
      tried.push(`${python}: ${last}`);
      continue;
    }
    const info = JSON.parse(probe.stdout.trim().split('\n').pop()!) as {
      torch: string;
      distributed: boolean;
      cuda: number;
    };
    return { python, torch: info.torch, distributed: info.distributed, cudaDevices: info.cuda };
  }
  throw new UserError(
    `${purpose} needs Python 3 with PyTorch, and none was found (${tried.join('; ')}); ` +
      'install it (apt-get install python3-torch, or pip install torch) or set HSM_PYTHON to an interpreter that has it',
  );
}

function checkCapabilities(found: TorchPython, engine: TorchEngineOptions): void {
  const world = engine.nproc * engine.nnodes;
  if (world > 1 && !found.distributed)
    throw new UserError(
      `${found.python}'s torch ${found.torch} is built without torch.distributed, so it cannot run ${world} processes; ` +
        'use --nproc 1 or a torch build with distributed support',
    );
  if (engine.device === 'cuda' && found.cudaDevices < engine.nproc)
    throw new UserError(
      `--device cuda --nproc ${engine.nproc} needs ${engine.nproc} GPUs, but ${found.python}'s torch ${found.torch} sees ` +
        `${found.cudaDevices}; lower --nproc or use --device cpu`,
    );
}

/** PYTHONPATH with python/ (where hsm_torch lives) in front of the caller's. */
export function hsmTorchPythonPath(): string {
  return [join(projectRoot(), 'python'), process.env.PYTHONPATH].filter(Boolean).join(':');
}

/** A free TCP port on loopback for a one-machine job's rendezvous. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** What rank 0 reports, one `@hsm {json}` line per event. */
export interface TorchEvent {
  event: 'start' | 'step' | 'checkpoint' | 'stopped' | 'done' | 'diverged';
  [field: string]: unknown;
}

export interface RankFailure {
  rank: number;
  /** Exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  log: string;
  /** The last line the rank wrote to its log (its error, usually). */
  lastLine: string;
}

export interface LaunchResult {
  /** The first rank that ended badly (others are then stopped), or null when every rank exited 0. */
  failure: RankFailure | null;
}

export interface LaunchHandlers {
  onEvent(event: TorchEvent): void;
  /** Polled; true asks every rank to finish its step, save and exit. */
  shouldStop(): boolean;
}

/** Milliseconds the other ranks get to exit after one fails (they may be blocked in a collective) before SIGKILL. */
const GRACE_MS = 10_000;

/** Starts this machine's ranks of the job, relays rank 0's events, and resolves when they have all exited. */
export async function launchRanks(
  found: TorchPython,
  launchFile: string,
  logDir: string,
  engine: TorchEngineOptions,
  handlers: LaunchHandlers,
): Promise<LaunchResult> {
  const world = engine.nproc * engine.nnodes;
  const masterAddr = engine.masterAddr ?? '127.0.0.1';
  const masterPort = engine.masterPort ?? (await freePort());
  const threads = engine.device === 'cpu' ? Math.max(1, Math.floor(availableParallelism() / engine.nproc)) : undefined;
  const pythonPath = hsmTorchPythonPath();
  const ranks: { rank: number; child: ChildProcess; log: WriteStream; logPath: string; lastLine: string }[] = [];
  let failure: RankFailure | null = null;
  let stopping = false;

  const stopAll = (signal: NodeJS.Signals) => {
    for (const r of ranks) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill(signal);
  };

  const exits = Array.from({ length: engine.nproc }, (_, local) => {
    const rank = engine.nodeRank * engine.nproc + local;
    const logPath = join(logDir, `rank${rank}.log`);
    const log = createWriteStream(logPath);
    const child = spawn(found.python, ['-m', 'hsm_torch.train', launchFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PYTHONPATH: pythonPath,
        RANK: String(rank),
        LOCAL_RANK: String(local),
        WORLD_SIZE: String(world),
        LOCAL_WORLD_SIZE: String(engine.nproc),
        MASTER_ADDR: masterAddr,
        MASTER_PORT: String(masterPort),
        HSM_PARENT_PID: String(process.pid),
        // Idle OpenMP threads sleep instead of spinning, so they do not take the cores OpenBLAS's threads are
        // computing on (`hsm bench engines` shows the effect on a busy machine); the caller's setting wins.
        ...(threads
          ? {
              OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(threads),
              OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
            }
          : {}),
      },
    });
    const entry = { rank, child, log, logPath, lastLine: '' };
    ranks.push(entry);
    const record = (line: string) => {
      if (line.trim()) entry.lastLine = line.trim();
      log.write(line + '\n');
    };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('@hsm ')) {
        log.write(line + '\n');
        if (rank === 0) handlers.onEvent(JSON.parse(line.slice(5)) as TorchEvent);
      } else record(line);
    });
    createInterface({ input: child.stderr! }).on('line', record);
    return new Promise<void>((resolve) => {
      child.on('error', (err) => {
        record(`hsm: cannot start ${found.python}: ${err.message}`);
      });
      child.on('close', (code, signal) => {
        log.end();
        if ((code !== 0 || signal) && !failure) {
          failure = { rank, code, signal, log: logPath, lastLine: entry.lastLine };
          // The others would wait in their next collective for a peer that is gone.
          stopAll('SIGTERM');
          setTimeout(() => stopAll('SIGKILL'), GRACE_MS).unref();
        }
        resolve();
      });
    });
  });

  const poll = setInterval(() => {
    if (!stopping && handlers.shouldStop()) {
      stopping = true;
      stopAll('SIGTERM'); // each rank finishes its step; they agree to stop and rank 0 saves
    }
  }, 100);
  try {
    await Promise.all(exits);
  } finally {
    clearInterval(poll);
  }
  return { failure };
}
