// Node file access for runs: the atomic writer (temp file, fsync, rename, fsync of the directory)
// with its fault-injection hook, durable appends, and reads whose errors name the file and say
// what to do (never a bare "EISDIR"). `nodeFiles` is the FileAccess the Node entry hands to
// callbacks that write files.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FileAccess } from '../types.js';

/** Test hook: called at each stage of an atomic write (fault injection throws from it). */
export type WriteStage = 'opened' | 'written' | 'synced' | 'renamed';
let faultHook: ((stage: WriteStage, path: string) => void) | undefined;
export function setWriteFaultHook(hook: ((stage: WriteStage, path: string) => void) | undefined): void {
  faultHook = hook;
}

export async function syncDirectory(directory: string): Promise<void> {
  // NOTE: fsync of a directory makes the rename durable on Linux; some platforms refuse it.
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // unsupported (e.g. Windows): the rename is still atomic, only its durability is weaker
  } finally {
    await handle?.close();
  }
}

/** Writes `data` to `path` atomically: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const directory = dirname(path);
  // A directory made here is itself a new entry of its parent: sync that too.
  const created = await mkdir(directory, { recursive: true });
  if (created !== undefined) await syncDirectory(dirname(created));
  const temp = join(directory, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const handle = await open(temp, 'w');
  let renamed = false;
  try {
    faultHook?.('opened', path);
    await handle.writeFile(data);
    faultHook?.('written', path);
    await handle.sync();
    faultHook?.('synced', path);
    await handle.close();
    await rename(temp, path);
    renamed = true;
    faultHook?.('renamed', path);
    await syncDirectory(directory);
  } finally {
    if (!renamed) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
    }
  }
}

/** Appends text (creating the file and its folder), durable when the promise resolves. */
export async function appendText(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'a');
  try {
    await handle.write(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Node's FileAccess: what the Node entry gives the loggers and ModelCheckpoint. */
export const nodeFiles: FileAccess = {
  writeFileAtomic,
  appendText,
  async readFile(path) {
    return new Uint8Array(await readFile(path));
  },
  joinPath: (...parts) => join(...parts),
};

/** A file of a run that cannot be used as it is: the message names the file and the fix. */
export class RunFileError extends Error {
  override name = 'RunFileError';
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a failed read of `path` means, in words ("is a folder, expected a file"). */
export function readProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EISDIR':
      return 'is a folder, expected a file';
    case 'ENOTDIR':
      return 'is inside something that is not a folder';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    case 'ELOOP':
      return 'is a symbolic link loop';
    default:
      return `cannot be read (${(error as Error).message})`;
  }
}

/** The bytes of a run's file; a failure names the file, what is wrong and `fix`. */
export async function readRunFile(path: string, fix: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new RunFileError(path, `${path} ${readProblem(error)}; ${fix}`, { cause: error });
  }
}
