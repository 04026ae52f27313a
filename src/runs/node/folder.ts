// What a folder given as an output (train/finetune/import --out, export --out) holds, and claiming
// it without ever losing a file: a missing or empty folder is used; an existing run is continued
// (--resume) or moved aside whole (--overwrite: <dir>.old-<time>, nothing deleted); a folder of
// other files is refused. A claimed run folder is locked (lock.ts) before anything is written.
import { readFile, readdir, rename, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  CONFIG_FILE,
  LATEST_FILE,
  METRICS_FILE,
  NEW_RUN_ENTRIES,
  parseRunConfig,
  timeStamp,
} from '../layout.js';
import type { RunConfig } from '../types.js';
import { acquireRunLock, throwIfLockedByOther, type RunLock } from './lock.js';

export type FolderState =
  | { kind: 'missing' }
  | { kind: 'not-a-folder' }
  /** Nothing in it but a lock or the server's log (NEW_RUN_ENTRIES). */
  | { kind: 'empty' }
  | { kind: 'run'; config: RunConfig }
  /** A run (metrics.jsonl or latest beside it) whose config.json is not readable JSON. */
  | { kind: 'broken-run'; problem: string }
  | { kind: 'other'; entries: string[] };

/** An output folder that cannot be used as asked: invalid arguments (the CLI exits 2). */
export class RunFolderError extends Error {
  override name = 'RunFolderError';
  constructor(
    readonly directory: string,
    message: string,
  ) {
    super(message);
  }
}

export async function inspectFolder(directory: string): Promise<FolderState> {
  try {
    if (!(await stat(directory)).isDirectory()) return { kind: 'not-a-folder' };
  } catch {
    return { kind: 'missing' };
  }
  const entries = (await readdir(directory)).filter((name) => !NEW_RUN_ENTRIES.includes(name)).sort();
  if (entries.length === 0) return { kind: 'empty' };
  if (!entries.includes(CONFIG_FILE)) return { kind: 'other', entries };
  const path = join(directory, CONFIG_FILE);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text !== undefined) {
    const parsed = parseRunConfig(text, { strict: true });
    if ('config' in parsed) return { kind: 'run', config: parsed.config };
    // A truncated config.json beside a run's own files is a damaged run; `{}` or another tool's
    // config.json (valid JSON, not ours) makes the folder someone else's.
    const damaged = parsed.problem.startsWith('not valid JSON');
    if (damaged && (entries.includes(METRICS_FILE) || entries.includes(LATEST_FILE))) {
      return { kind: 'broken-run', problem: `${path}: ${parsed.problem}` };
    }
  }
  return { kind: 'other', entries };
}

function listed(entries: readonly string[]): string {
  const shown = entries.slice(0, 5).join(', ');
  return entries.length > 5 ? `${shown} and ${entries.length - 5} more` : shown;
}

/** A sibling name for moving `directory` aside: <dir>.old-<UTC time>[-n]. */
function asideName(directory: string): string {
  const trimmed = directory.replace(/[/\\]+$/, '');
  const base = `${trimmed}.old-${timeStamp()}`;
  let name = base;
  for (let n = 2; existsSync(name); n++) name = `${base}-${n}`;
  return name;
}

export interface ClaimOptions {
  /** 'new' starts a run (or an output) in the folder; 'resume' continues the run there. */
  mode: 'new' | 'resume';
  /** How messages name the folder, e.g. '--out runs/x'. Default: the path. */
  label?: string;
  /** Move an existing run (or a `replaceable` folder) aside instead of refusing. */
  overwrite?: boolean;
  /** Ways forward offered when the folder already holds a run, e.g. "continue it with ...". */
  runChoices?: readonly string[];
  /** A folder of earlier output that --overwrite may move aside too (e.g. an earlier export). */
  replaceable?: { what: string; test: (entries: readonly string[]) => boolean };
  /** Lock the folder as a run (default true); false for outputs that are not runs (export). */
  lock?: boolean;
  /** What takes the lock, e.g. 'mnist-lab train'. */
  command: string;
  /** Told when a stale lock is taken over. */
  onTakeover?: (line: string) => void;
}

export interface Claimed {
  /** The folder's lock (release it when done), unless `lock: false`. */
  lock: RunLock | undefined;
  /** Where an existing run went with --overwrite. */
  movedTo?: string;
}

/** Claims `directory` as ClaimOptions say, or throws RunFolderError (invalid use) / RunLockedError (busy). */
export async function claimFolder(directory: string, options: ClaimOptions): Promise<Claimed> {
  const label = options.label ?? directory;
  const lockOptions = {
    command: options.command,
    ...(options.onTakeover ? { onTakeover: options.onTakeover } : {}),
  };
  const takeLock = (): Promise<RunLock | undefined> =>
    options.lock === false ? Promise.resolve(undefined) : acquireRunLock(directory, lockOptions);
  // A run another process writes: say who, whatever else the folder holds.
  if (options.lock !== false) await throwIfLockedByOther(directory);
  const state = await inspectFolder(directory);
  if (state.kind === 'not-a-folder') {
    throw new RunFolderError(directory, `${label} is a file, expected a folder; choose a folder path`);
  }
  if (options.mode === 'resume') {
    if (state.kind !== 'run') {
      throw new RunFolderError(
        directory,
        state.kind === 'broken-run'
          ? `${label}: cannot resume, ${state.problem}`
          : `${label} is not an mnist-lab run (no readable config.json there): give a run directory written by 'mnist-lab train'`,
      );
    }
    return { lock: await takeLock() };
  }
  if (state.kind === 'missing' || state.kind === 'empty') {
    const lock = await takeLock();
    const now = await inspectFolder(directory);
    if (now.kind !== 'empty' && now.kind !== 'missing') {
      await lock?.release();
      throw new RunFolderError(
        directory,
        `${label} was filled by another process meanwhile; choose another folder`,
      );
    }
    return { lock };
  }
  const isRun = state.kind === 'run' || state.kind === 'broken-run';
  const replaceable = state.kind === 'other' && options.replaceable?.test(state.entries) === true;
  if (!isRun && !replaceable) {
    const entries = state.kind === 'other' ? state.entries : [];
    throw new RunFolderError(
      directory,
      `${label} is not empty and holds no mnist-lab run (found ${listed(entries)}): choose a new or empty folder` +
        (options.overwrite ? ' (--overwrite moves aside only an earlier run, never other files)' : ''),
    );
  }
  const what = isRun ? 'a run' : (options.replaceable?.what ?? 'earlier output');
  if (!options.overwrite) {
    const damaged = state.kind === 'broken-run' ? ` whose config.json is unreadable (${state.problem})` : '';
    const choices = [
      ...(isRun ? (options.runChoices ?? []) : []),
      `start over with --overwrite (moves it to ${basename(directory)}.old-<time>)`,
      'choose another folder',
    ];
    throw new RunFolderError(directory, `${label} already holds ${what}${damaged}: ${choices.join(', or ')}`);
  }
  // --overwrite: the old run's lock first (a live writer is never moved), then the move.
  const old = isRun ? await acquireRunLock(directory, lockOptions) : undefined;
  const movedTo = asideName(directory);
  try {
    await rename(directory, movedTo);
  } catch (error) {
    await old?.release();
    throw error;
  }
  await old?.releaseMoved(movedTo);
  return { lock: await takeLock(), movedTo };
}
