// The seam between training (browser-safe) and files (Node). Node's implementation registers itself
// when src/train/run.ts is imported (the package's Node entry does this); a browser passes its own
// RunStore to fit({run}) and sinks to the loggers instead.
import type { RunStore, RunStoreOpener } from '../types.js';

/** File operations callbacks and runs need. Writes are atomic (temp file, fsync, rename). */
export interface FileAccess {
  writeFileAtomic(path: string, data: Uint8Array | string): Promise<void>;
  /** Appends text (creating the file), durable when the promise resolves. */
  appendText(path: string, text: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  joinPath(...parts: string[]): string;
}

let files: FileAccess | undefined;
let runOpener: RunStoreOpener | undefined;

export function setFileAccess(access: FileAccess, opener: RunStoreOpener): void {
  files = access;
  runOpener = opener;
}

const NO_FILES =
  'no file access is registered: on Node import from the package entry (or src/train/run.js); ' +
  'in a browser pass a RunStore with fit({run}) or a sink to the logger';

export function fileAccess(): FileAccess {
  if (!files) throw new Error(NO_FILES);
  return files;
}

export function openRunStore(path: string): RunStore {
  if (!runOpener) throw new Error(`cannot open run '${path}': ${NO_FILES}`);
  return runOpener(path);
}
