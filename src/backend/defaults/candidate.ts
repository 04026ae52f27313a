// One row of a default-backend table (node.ts, browser.ts): a backend the registry may create on
// first use when the program chose none. Browser-safe: types only.
import type { Backend } from '../kernels.js';

export interface BackendCreateOptions {
  /** Compute threads; default every core the backend can use. */
  threads?: number;
  /** Where a backend's one-line notices go (e.g. worker threads failing to start). */
  log?: (line: string) => void;
}

export interface BackendCandidate {
  /** The name setBackend(), selectBackend({backend}) and --backend take. */
  readonly name: string;
  /** null when it runs here; else why not, in one line that says how to get it. Does I/O only when called. */
  unavailable(): string | null;
  create(options?: BackendCreateOptions): Backend;
  /**
   * Printed once when this backend is unavailable and a later row is used: which backend runs
   * instead (`chosen`) and how to get this one. Only the fastest passed-over row speaks.
   */
  fallbackHint?(chosen: string): string;
}
