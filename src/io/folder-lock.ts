import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';

/** The lock file of a folder one process writes: "<pid> <host> <ISO time>". */
export const LOCK_FILE = '.hsm.lock';

/** Whether a process with this PID runs on this machine (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Who holds a lock file: null when there is none (or it vanished); `live` false for a dead PID on this host or unreadable text. */
function readHolder(
  path: string,
): { text: string; pid: number; host: string; since: string; readable: boolean; live: boolean } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
  const [pidText, host = '', since = ''] = text.split(' ');
  const pid = Number(pidText);
  const readable = Number.isInteger(pid) && pid > 0 && host !== '';
  // Another host's PID cannot be checked from here: it counts as live.
  return { text, pid, host, since, readable, live: readable && (host !== hostname() || alive(pid)) };
}

/** Refuses at once when a live process holds `dir`'s lock (for reads that would otherwise see a half-written run). */
export function assertNotLocked(dir: string, what: string): void {
  const holder = readHolder(join(dir, LOCK_FILE));
  if (holder?.live) throw inUse(dir, what, holder);
}

function inUse(
  dir: string,
  what: string,
  { pid, host, since }: { pid: number; host: string; since: string },
): UserError {
  return new UserError(
    `${what} ${dir} is in use by process ${pid} on ${host} (since ${since}); wait for it to finish or stop it ` +
      `(if that process is gone, delete ${join(dir, LOCK_FILE)})`,
  );
}

/**
 * Makes this process the one writer of `dir` (a run or compare folder) until
 * the returned release function runs or the process exits: a second trainer
 * on the same folder would interleave metrics and overwrite weights. The lock
 * file is created with O_EXCL, so two processes cannot both take it. A lock
 * left by a process that no longer runs on this host is taken over, and
 * `onTakeover` says so; a lock held by a live process, or by another host
 * (its PID cannot be checked from here), is a one-line error.
 */
export function lockFolder(dir: string, what: string, onTakeover?: (message: string) => void): () => void {
  const path = join(dir, LOCK_FILE);
  const me = `${process.pid} ${hostname()} ${new Date().toISOString()}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, me);
      closeSync(fd);
      return releaser(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST')
        throw new UserError(`${what} ${dir}: cannot create its lock file (${code}); is it writable?`);
    }
    const holder = readHolder(path);
    if (!holder) continue; // released meanwhile: try again
    if (holder.live) throw inUse(dir, what, holder);
    onTakeover?.(
      holder.readable
        ? `${what} ${dir} was locked by process ${holder.pid}, which is no longer running; taking it over`
        : `${path} was unreadable ("${holder.text.slice(0, 40)}"); taking the folder over`,
    );
    rmSync(path, { force: true });
  }
  throw new UserError(`${what} ${dir}: another process keeps taking its lock; try again`);
}

/** Removes the lock once: when called, or when the process exits. */
function releaser(path: string): () => void {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    rmSync(path, { force: true });
  };
  process.on('exit', release);
  return release;
}
