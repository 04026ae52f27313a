// One writer per run: <run>/run.lock, created atomically (O_CREAT | O_EXCL), holding the writer's
// pid, host, start time and command. A second process is refused with a line naming the holder; a
// lock left by a process that is gone (same host, dead pid) is taken over with a one-line message.
//
// Within one process the lock is re-entrant (a count per directory): the CLI holds a run's lock
// for a whole command and the run writer it opens takes it again. Held locks are released when
// the process exits normally; the CLI releases them on SIGINT/SIGTERM (src/cli/interrupts.ts).
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LOCK_FILE, parseLock } from '../layout.js';
import type { LockRecord } from '../types.js';

/** The run is held by another live process (or one on another host we cannot check). */
export class RunLockedError extends Error {
  override name = 'RunLockedError';
  constructor(
    readonly directory: string,
    readonly holder: LockRecord | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface LockOptions {
  /** What takes the lock, e.g. 'mnist-lab train' (shown to a second process). */
  command: string;
  /** Receives the one line said when a stale lock is taken over. Default: stderr. */
  onTakeover?: (line: string) => void;
}

/** A held lock; release() once per acquire. */
export interface RunLock {
  readonly directory: string;
  readonly record: LockRecord;
  release(): Promise<void>;
  /** Releases a lock whose directory was moved to `movedTo` with the lock file inside (--overwrite). */
  releaseMoved(movedTo: string): Promise<void>;
}

interface Held {
  path: string;
  record: LockRecord;
  text: string;
  count: number;
}

/** Locks this process holds, by the real path of their directory. */
const held = new Map<string, Held>();
/**
 * Lock files this process created and is still writing (path -> the text it writes): a signal in
 * that window (the write and fsync can take a while on a busy disk) must remove them too.
 */
const creating = new Map<string, string>();
let exitHookInstalled = false;

/** How a lock's holder stands: 'alive' (same host, running), 'gone' (same host, dead), 'unknown'. */
export type HolderState = 'alive' | 'gone' | 'unknown';

export function holderState(record: LockRecord): HolderState {
  if (record.host !== hostname()) return 'unknown';
  if (record.pid === process.pid) return 'alive';
  return processState(record.pid) === 'running' ? 'alive' : 'gone';
}

/**
 * How process `pid` on this host stands: 'running', 'zombie' (it has exited but nobody has reaped
 * it yet, so it still answers signal 0: a killed mpirun rank whose launcher exited first, on a
 * machine whose init does not reap orphans; it holds no files and writes nothing) or 'gone'.
 * The zombie check reads /proc (Linux); elsewhere an unreaped process counts as running.
 */
export function processState(pid: number): 'running' | 'zombie' | 'gone' {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return 'gone';
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 'running';
  }
  // "pid (command) state ...": the command may hold spaces and parentheses, so read after the last ')'.
  return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2)) ? 'zombie' : 'running';
}

/** Who holds `directory`'s lock and how they stand, or null when it is not locked. */
export async function readRunLock(
  directory: string,
): Promise<{ record: LockRecord | undefined; state: HolderState } | null> {
  let text: string;
  try {
    text = await readFile(join(directory, LOCK_FILE), 'utf8');
  } catch {
    return null;
  }
  const record = parseLock(text);
  return { record, state: record ? holderState(record) : 'unknown' };
}

function describe(record: LockRecord): string {
  return `pid ${record.pid} on ${record.host} since ${record.since} (${record.command})`;
}

function lockedMessage(directory: string, path: string, record: LockRecord | undefined): string {
  if (!record) {
    return `${directory} is being locked by another process right now (${path} is being written); try again in a moment`;
  }
  const remote = record.host !== hostname();
  return (
    `${directory} is in use by ${describe(record)}: wait for it to finish or stop it` +
    (remote
      ? `; that host's processes cannot be checked from here: if none is writing the run, delete ${path}`
      : '')
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates the lock file with O_EXCL; false when it exists. */
async function tryCreate(path: string, text: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  // The file is ours from here (created with 'wx'); acquireRunLock moves it to `held`.
  creating.set(path, text);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (error) {
    creating.delete(path);
    throw error;
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Moves a stale lock out of the way, only if it is still the one read (`text`): a process that
 * took it over meanwhile keeps its own. True when it was removed.
 */
async function removeStale(path: string, text: string): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return false; // gone already: someone else removed it
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  if (moved !== text) {
    // Not the stale lock we judged: put it back unless a new one is there already.
    await link(aside, path).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    return false;
  }
  await unlink(aside).catch(() => undefined);
  return true;
}

function releaseAllSync(): void {
  for (const [path, text] of creating) {
    creating.delete(path);
    try {
      // Ours while it holds our text or the start of it (written up to that point).
      if (text.startsWith(readFileSync(path, 'utf8'))) unlinkSync(path);
    } catch {
      // already gone
    }
  }
  for (const [key, lock] of held) {
    held.delete(key);
    try {
      if (readFileSync(lock.path, 'utf8') === lock.text) unlinkSync(lock.path);
    } catch {
      // already gone
    }
  }
}

/** Releases every lock this process holds, synchronously (exit and signal handlers). */
export function releaseHeldLocksSync(): void {
  releaseAllSync();
}

/**
 * Throws RunLockedError when another live process (or one on another host) holds `directory`'s
 * lock: asked before anything else about a folder, so a second writer hears who holds it.
 */
export async function throwIfLockedByOther(directory: string): Promise<void> {
  const path = join(directory, LOCK_FILE);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const record = text === undefined ? undefined : parseLock(text);
  if (!record || [...held.values()].some((entry) => entry.text === text)) return;
  const ours = record.pid === process.pid && record.host === hostname();
  if (!ours && holderState(record) !== 'gone') {
    throw new RunLockedError(directory, record, lockedMessage(directory, path, record));
  }
}

/** Locks run directory `directory` (created if missing) for this process; see the header. */
export async function acquireRunLock(directory: string, options: LockOptions): Promise<RunLock> {
  await mkdir(directory, { recursive: true });
  const key = await realpath(directory);
  const existing = held.get(key);
  if (existing) {
    existing.count++;
    return handle(directory, key, existing);
  }
  const path = join(directory, LOCK_FILE);
  const record: LockRecord = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    command: options.command,
  };
  // The token tells this acquisition's file from any other (release removes only its own).
  const text = JSON.stringify({ ...record, token: randomBytes(8).toString('hex') }) + '\n';
  const say = options.onTakeover ?? ((line: string) => process.stderr.write(`mnist-lab: ${line}\n`));
  for (let attempt = 0; ; attempt++) {
    if (await tryCreate(path, text)) break;
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === undefined) continue; // removed between our open and read: try again
    const holder = parseLock(current);
    if (!holder) {
      // Empty or unreadable: a process between creating and writing it, or one that died there.
      const age =
        Date.now() -
        (await stat(path)
          .then((s) => s.mtimeMs)
          .catch(() => Date.now()));
      if (age < 2000 && attempt < 20) {
        await sleep(100);
        continue;
      }
      if (await removeStale(path, current)) say(`${directory}: removed an unreadable lock file ${path}`);
      continue;
    }
    const state = holderState(holder);
    // Our own pid in a lock this process does not hold: left by an earlier process with that pid.
    const ours = holder.pid === process.pid && holder.host === record.host;
    if (state !== 'gone' && !ours)
      throw new RunLockedError(directory, holder, lockedMessage(directory, path, holder));
    if (attempt > 5) throw new RunLockedError(directory, holder, lockedMessage(directory, path, holder));
    if (await removeStale(path, current)) {
      say(`${directory}: took over the lock of ${describe(holder)}, which is no longer running`);
    }
  }
  const entry: Held = { path, record, text, count: 1 };
  held.set(key, entry);
  creating.delete(path);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', releaseAllSync);
  }
  return handle(directory, key, entry);
}

function handle(directory: string, key: string, entry: Held): RunLock {
  let released = false;
  const drop = (): boolean => {
    if (released) return false;
    released = true;
    if (--entry.count > 0) return false;
    if (held.get(key) === entry) held.delete(key);
    return true;
  };
  return {
    directory,
    record: entry.record,
    async release() {
      if (!drop()) return;
      const current = await readFile(entry.path, 'utf8').catch(() => undefined);
      if (current === entry.text) await unlink(entry.path).catch(() => undefined);
    },
    async releaseMoved(movedTo: string) {
      entry.count = 1; // the directory is gone from here: every holder's claim on it ends
      if (!drop()) return;
      const path = join(movedTo, LOCK_FILE);
      const current = await readFile(path, 'utf8').catch(() => undefined);
      if (current === entry.text) await unlink(path).catch(() => undefined);
    },
  };
}
