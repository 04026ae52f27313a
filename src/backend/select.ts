// Choosing the backend for a Node.js process explicitly: by name (the option, then
// MNIST_LAB_BACKEND), else the first available row of Node's default table (native → wasm → js,
// src/backend/defaults/node.ts), with one line saying how to get a faster one that was passed over.
// Without a call to selectBackend the registry makes the same default choice on first use.
import type { Backend } from './kernels.js';
import { DEFAULT_BACKENDS } from './defaults/node.js';
import { createFirstAvailable, setBackendInstance } from './registry.js';

export { NATIVE_HINT, WASM_FALLBACK_HINT } from './defaults/node.js';

export type BackendName = 'js' | 'native' | 'wasm';

export interface SelectBackendOptions {
  /** A name from the default table ('native', 'wasm', 'js'); default MNIST_LAB_BACKEND, else the first available. */
  backend?: string;
  /** Compute threads (native and wasm backends, and the js backend's heavy kernels); default every available core. */
  threads?: number;
  /** Where the one-line hint goes when falling back to a slower backend; default stderr. */
  log?: (line: string) => void;
}

/** Activates and returns the backend for this process. */
export function selectBackend(options: SelectBackendOptions = {}): Backend {
  const requested = options.backend ?? process.env['MNIST_LAB_BACKEND'] ?? undefined;
  const create = {
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    log: options.log ?? ((line: string) => process.stderr.write(`${line}\n`)),
  };
  if (requested === undefined) return setBackendInstance(createFirstAvailable(DEFAULT_BACKENDS, create));
  const candidate = DEFAULT_BACKENDS.find((row) => row.name === requested);
  if (!candidate) {
    const names = DEFAULT_BACKENDS.map((row) => `'${row.name}'`).join(' or ');
    throw new Error(`unknown backend '${requested}': choose ${names}`);
  }
  const reason = candidate.unavailable();
  if (reason !== null) throw new Error(`the ${requested} backend is not available: ${reason}`);
  return setBackendInstance(candidate.create(create));
}
