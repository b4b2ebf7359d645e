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

/** Refuses at once when a live process holds `dir`'s lock (for reads that would otherwise see a half-written run). */
export function assertNotLocked(dir: string, what: string): void {
  let holder: string;
  try {
    holder = readFileSync(join(dir, LOCK_FILE), 'utf8').trim();
  } catch {
    return;
  }
  const [pidText, host, since] = holder.split(' ');
  const pid = Number(pidText);
  if (Number.isInteger(pid) && pid > 0 && host && (host !== hostname() || alive(pid)))
    throw inUse(dir, what, pid, host, since);
}

function inUse(dir: string, what: string, pid: number, host: string, since: string): UserError {
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
    let holder: string;
    try {
      holder = readFileSync(path, 'utf8').trim();
    } catch {
      continue; // released meanwhile: try again
    }
    const [pidText, host, since] = holder.split(' ');
    const pid = Number(pidText);
    const unreadable = !Number.isInteger(pid) || pid <= 0 || !host;
    const stale = !unreadable && host === hostname() && !alive(pid);
    if (!stale && !unreadable) throw inUse(dir, what, pid, host, since);
    onTakeover?.(
      unreadable
        ? `${path} was unreadable ("${holder.slice(0, 40)}"); taking the folder over`
        : `${what} ${dir} was locked by process ${pid}, which is no longer running; taking it over`,
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
