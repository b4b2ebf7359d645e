import {
  closeSync,
  linkSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';

/**
 * One writer per folder (a run or compare folder): a second trainer would
 * interleave metrics and overwrite weights.
 *
 * The lock is a numbered series of records, `.hsm.lock.<n>`; the highest n is
 * the current one and says who holds the folder, or that it was released.
 * Taking the folder means creating record n+1 where n is the current one, and
 * a file name can be created only once, so of any number of processes that
 * judge record n free or stale, exactly one wins; the others find n+1 taken
 * and read who holds it. No process ever removes the current record, so a
 * live lock cannot be deleted from under its holder. (Deleting a stale lock
 * and creating a new one, which lock libraries such as proper-lockfile do,
 * lets a slow process delete the lock a faster one has just made.) A record
 * appears whole: it is written under a private name and hard-linked into
 * place. Older records are removed by the winner; one that a slow process
 * re-creates after that loses to the higher number it then sees.
 *
 * A record is stale when its process no longer runs on this host (its PID is
 * gone, or now belongs to a process that started later), or, for a record
 * from another host (whose PIDs cannot be checked from here), when its holder
 * has not refreshed it for LOCK_TTL_MS: a holder touches its record every
 * LOCK_REFRESH_MS.
 */
const PREFIX = '.hsm.lock';
/** The single lock file of earlier versions ("<pid> <host> <ISO time>"): still honoured while its process runs. */
const LEGACY = PREFIX;
export const LOCK_REFRESH_MS = 60_000;
export const LOCK_TTL_MS = 10 * 60_000;
/** A record that cannot be parsed is stale once this old (it may be in the middle of being written where hard links are missing). */
const UNREADABLE_GRACE_MS = 5_000;

interface Holder {
  pid: number;
  host: string;
  since: string;
  /** The process's start time in clock ticks after boot (Linux), which tells a reused PID apart. */
  started: string | null;
  released: boolean;
}

/** Records this process holds (path → true), so that a second lockFolder in the same process is refused, not taken over. */
const held = new Set<string>();

/** This process's start time in clock ticks after boot, or null where /proc is missing. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether a process with this PID runs on this machine (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What blocks taking the lock (or null), and what to say when it is taken over. */
type Verdict = { live: true; why: string } | { live: false; takeover: string | null };

function parseHolder(text: string): Holder | null {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    if (!Number.isInteger(h.pid) || (h.pid as number) <= 0 || typeof h.host !== 'string' || h.host === '') return null;
    return {
      pid: h.pid as number,
      host: h.host,
      since: String(h.since ?? '?'),
      started: typeof h.started === 'string' ? h.started : null,
      released: h.released === true,
    };
  } catch {
    return null;
  }
}

/** The legacy lock's "<pid> <host> <time>". */
function parseLegacy(text: string): Holder | null {
  const [pidText, host = '', since = '?'] = text.trim().split(' ');
  const pid = Number(pidText);
  return Number.isInteger(pid) && pid > 0 && host !== '' ? { pid, host, since, started: null, released: false } : null;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} minute${Math.round(ms / 60_000) === 1 ? '' : 's'}`;

/** Whether a record (its text and file status) keeps the folder locked. */
function judge(path: string, text: string, stat: Stats, legacy: boolean, dir: string, what: string): Verdict {
  const holder = legacy ? parseLegacy(text) : parseHolder(text);
  if (!holder) {
    if (Date.now() - stat.mtimeMs < UNREADABLE_GRACE_MS)
      return { live: true, why: `${what} ${dir}: its lock ${path} is being written; try again in a few seconds` };
    return { live: false, takeover: `${path} was unreadable ("${text.slice(0, 40)}"); taking the folder over` };
  }
  if (holder.released) return { live: false, takeover: null };
  const { pid, host, since } = holder;
  const inUse = `${what} ${dir} is in use by process ${pid} on ${host} (since ${since}); wait for it to finish or stop it`;
  if (host !== hostname()) {
    const age = Date.now() - stat.mtimeMs;
    if (!legacy && age > LOCK_TTL_MS)
      return {
        live: false,
        takeover: `${what} ${dir} was locked by process ${pid} on ${host}, which has not refreshed the lock for ${minutes(age)}; taking it over`,
      };
    return {
      live: true,
      why:
        `${inUse} (a lock from another host counts until it goes ${minutes(LOCK_TTL_MS)} without a refresh, ` +
        `${legacy ? 'which this old lock never gets' : `${minutes(age)} so far`}; if that host no longer runs it, delete ${path})`,
    };
  }
  const gone = `${what} ${dir} was locked by process ${pid}, which is no longer running; taking it over`;
  // Our own PID in a record we do not hold: an earlier process with this PID (a restarted container).
  if (pid === process.pid) return held.has(path) ? { live: true, why: inUse } : { live: false, takeover: gone };
  if (!alive(pid)) return { live: false, takeover: gone };
  const now = startTime(pid);
  if (holder.started !== null && now !== null && now !== holder.started) return { live: false, takeover: gone };
  return { live: true, why: `${inUse} (if that process is gone, delete ${path})` };
}

/** The lock's entries in `dir`: the numbers of its records and whether the legacy file is there; refuses any that is not a plain file. */
function scan(dir: string, what: string): { top: number; numbers: number[]; legacy: boolean } {
  const numbers: number[] = [];
  let legacy = false;
  for (const name of readdirSync(dir)) {
    const match = /^\.hsm\.lock(?:\.(\d+))?$/.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    let kind: string | null = null;
    try {
      const s = lstatSync(path);
      if (s.isSymbolicLink()) kind = 'a symbolic link';
      else if (s.isDirectory()) kind = 'a directory';
      else if (!s.isFile()) kind = 'not a regular file';
    } catch {
      continue; // removed meanwhile
    }
    if (kind)
      throw new UserError(
        `${what} ${dir}: its lock ${path} is ${kind}, which hsm never writes; if no hsm process uses the folder, remove it (rm -r ${path}) and try again`,
      );
    if (match[1] === undefined) legacy = true;
    else numbers.push(Number(match[1]));
  }
  return { top: numbers.length ? Math.max(...numbers) : 0, numbers, legacy };
}

/** The verdict on one lock file, or null when it vanished meanwhile. */
function judgeFile(path: string, legacy: boolean, dir: string, what: string): Verdict | null {
  try {
    const stat = statSync(path);
    return judge(path, readFileSync(path, 'utf8'), stat, legacy, dir, what);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(
      `${what} ${dir}: its lock ${path} cannot be read (${(err as NodeJS.ErrnoException).code}); fix its permissions or remove it`,
    );
  }
}

/** Refuses at once when a live process holds `dir`'s lock (for reads that would otherwise see a half-written run). */
export function assertNotLocked(dir: string, what: string): void {
  let entries;
  try {
    entries = scan(dir, what);
  } catch (err) {
    if (err instanceof UserError) throw err;
    return; // no folder: the caller says what is missing
  }
  const checks: [string, boolean][] = [];
  if (entries.top) checks.push([join(dir, `${PREFIX}.${entries.top}`), false]);
  if (entries.legacy) checks.push([join(dir, LEGACY), true]);
  for (const [path, legacy] of checks) {
    const verdict = judgeFile(path, legacy, dir, what);
    if (verdict?.live) throw new UserError(verdict.why);
  }
}

/** Writes `text` under a private name, then links it to `path`: false when `path` exists (another process won it). */
function createWhole(path: string, text: string): boolean {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.new`;
  const fd = openSync(tmp, 'wx');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    // A file system without hard links: create it exclusively and write it (UNREADABLE_GRACE_MS covers the moment between).
    try {
      const fd2 = openSync(path, 'wx');
      writeSync(fd2, text);
      closeSync(fd2);
      return true;
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err2;
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Makes this process the one writer of `dir` until the returned release
 * function runs or the process exits. A lock whose holder is gone (see above)
 * is taken over and `onTakeover` says so; a live holder is a one-line error
 * that says how to proceed; a lock path that is a directory or a link is
 * refused.
 */
export function lockFolder(dir: string, what: string, onTakeover?: (message: string) => void): () => void {
  const me: Holder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    started: startTime(process.pid),
    released: false,
  };
  for (let attempt = 0; attempt < 10; attempt++) {
    let entries: ReturnType<typeof scan>;
    try {
      entries = scan(dir, what);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`${what} ${dir}: cannot read the folder (${(err as NodeJS.ErrnoException).code})`);
    }
    const notes: string[] = [];
    const current = entries.top ? judgeFile(join(dir, `${PREFIX}.${entries.top}`), false, dir, what) : null;
    if (entries.top && current === null) continue; // superseded meanwhile: look again
    if (current?.live) throw new UserError(current.why);
    if (current?.takeover) notes.push(current.takeover);
    if (entries.legacy) {
      const old = judgeFile(join(dir, LEGACY), true, dir, what);
      if (old?.live) throw new UserError(old.why);
      if (old?.takeover) notes.push(old.takeover);
    }
    const mine = join(dir, `${PREFIX}.${entries.top + 1}`);
    let created: boolean;
    try {
      created = createWhole(mine, JSON.stringify(me) + '\n');
    } catch (err) {
      throw new UserError(
        `${what} ${dir}: cannot create its lock file (${(err as NodeJS.ErrnoException).code}); is it writable?`,
      );
    }
    if (!created) continue; // another process took this number: read who holds it
    // A number removed as superseded can be created again by a process that read an old record: the higher one wins.
    const after = scan(dir, what);
    if (after.top > entries.top + 1) {
      rmSync(mine, { force: true });
      continue;
    }
    for (const n of after.numbers) if (n < entries.top + 1) rmSync(join(dir, `${PREFIX}.${n}`), { force: true });
    if (after.legacy) rmSync(join(dir, LEGACY), { force: true });
    for (const note of notes) onTakeover?.(note);
    return holdRecord(mine, me);
  }
  throw new UserError(`${what} ${dir}: other processes keep taking its lock; try again once they have finished`);
}

/** Refreshes the record while held; marks it released (never deletes it: see above) when called or at exit. */
function holdRecord(path: string, me: Holder): () => void {
  held.add(path);
  const refresh = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // taken over or removed: nothing to refresh
    }
  }, LOCK_REFRESH_MS);
  refresh.unref();
  const release = () => {
    if (!held.delete(path)) return;
    clearInterval(refresh);
    process.off('exit', release);
    try {
      statSync(path); // still ours to mark (not removed by a later holder)
      const tmp = `${path}.${process.pid}.released`;
      const fd = openSync(tmp, 'w');
      writeSync(fd, JSON.stringify({ ...me, released: true }) + '\n');
      closeSync(fd);
      renameSync(tmp, path);
    } catch {
      // superseded: the later holder's record is the current one
    }
  };
  process.on('exit', release);
  return release;
}
