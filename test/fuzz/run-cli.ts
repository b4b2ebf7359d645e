// Runs the CLI in its own process group, with a timeout, an address-space cap and peak-memory measurement.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  wallMs: number;
  /** Peak resident memory in KiB (from /usr/bin/time), or null where it was not measured. */
  maxRssKb: number | null;
}

export interface RunOptions {
  timeoutMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Measure peak memory with /usr/bin/time when it is installed (`rssFile` receives its output). */
  rssFile?: string;
  /** Cap the address space (prlimit --as) so that a runaway allocation fails instead of exhausting the machine. */
  addressSpaceBytes?: number;
}

const TIME = '/usr/bin/time';
const PRLIMIT = '/usr/bin/prlimit';
const MAX_CAPTURE = 256 * 1024;

/** Runs the CLI in its own process group; on timeout the whole group is killed. Never rejects. */
export function runCli(cli: string, args: string[], opts: RunOptions): Promise<RunResult> {
  let argv = [process.execPath, cli, ...args];
  if (opts.addressSpaceBytes && existsSync(PRLIMIT)) argv = [PRLIMIT, `--as=${opts.addressSpaceBytes}`, '--', ...argv];
  const measure = !!opts.rssFile && existsSync(TIME);
  if (measure) {
    rmSync(opts.rssFile!, { force: true });
    argv = [TIME, '-f', '%M', '-o', opts.rssFile!, ...argv];
  }
  const start = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env: { ...process.env, HSM_THREADS: '1', ...opts.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '',
      timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < MAX_CAPTURE) stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < MAX_CAPTURE) stderr += s;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs);
    const finish = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      let maxRssKb: number | null = null;
      if (measure && existsSync(opts.rssFile!)) {
        const lines = readFileSync(opts.rssFile!, 'utf8').trim().split('\n');
        const n = Number(lines[lines.length - 1]);
        if (Number.isFinite(n)) maxRssKb = n;
        // time reports a signal that ended the command; pass it on as the signal.
        const sig = /terminated by signal (\d+)/.exec(lines.join('\n'));
        if (sig && signal === null) signal = `signal ${sig[1]}`;
      }
      resolve({ code, signal, stdout, stderr, timedOut, wallMs: performance.now() - start, maxRssKb });
    };
    child.on('error', (err) => {
      stderr += String(err);
      finish(null, null);
    });
    child.on('close', finish);
  });
}
