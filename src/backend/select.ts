// Choosing the backend for a Node.js process: the native backend when its addon loads, else js
// with one line saying how to get the fast one. Explicit choice: the option, then MNIST_LAB_BACKEND.
// On Node the js backend computes its heavy kernels on worker threads when threads > 1
// (src/backend/js-threads: same name, bit-identical results); the browser bundle keeps the
// single-threaded one.
import { availableParallelism } from 'node:os';
import type { Backend } from './kernels.js';
import { createJsBackend } from './js/index.js';
import { createJsThreadsBackend, type JsThreadsBackend } from './js-threads/index.js';
import { createNativeBackend, nativeBackendAvailable } from './native/index.js';
import { registerBackend, setBackendInstance } from './registry.js';

export type BackendName = 'js' | 'native';

export interface SelectBackendOptions {
  /** 'js' or 'native'; default MNIST_LAB_BACKEND, else native when available. */
  backend?: string;
  /** Compute threads (native backend, and the js backend's heavy kernels); default every available core. */
  threads?: number;
  /** Where the one-line hint goes when falling back to js; default stderr. */
  log?: (line: string) => void;
}

export const NATIVE_HINT =
  'mnist-lab: using the js backend; for the fast native backend install oneDNN ' +
  "('apt-get install libdnnl-dev' or 'brew install onednn') and run 'npm run build:native'";

let hintShown = false;

/** Threaded js backends by thread count: selecting again reuses the worker pool. */
const jsThreaded = new Map<number, JsThreadsBackend>();

registerBackend('js', createJsBackend);

/** Activates and returns the backend for this process. */
export function selectBackend(options: SelectBackendOptions = {}): Backend {
  const requested = options.backend ?? process.env['MNIST_LAB_BACKEND'] ?? undefined;
  if (requested !== undefined && requested !== 'js' && requested !== 'native') {
    throw new Error(`unknown backend '${requested}': choose 'js' or 'native'`);
  }
  const native = nativeBackendAvailable();
  if (requested === 'native' && !native.available) {
    throw new Error(`the native backend is not available: ${native.reason ?? 'the addon did not load'}`);
  }
  if (requested === 'native' || (requested === undefined && native.available)) {
    return setBackendInstance(
      createNativeBackend(options.threads === undefined ? {} : { threads: options.threads }),
    );
  }
  if (requested === undefined && !hintShown) {
    hintShown = true;
    (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(NATIVE_HINT);
  }
  return setBackendInstance(createNodeJsBackend(options.threads ?? availableParallelism(), options.log));
}

/** The js backend for `threads` threads: single-threaded for 1, else the worker-thread variant. */
function createNodeJsBackend(threads: number, log: ((line: string) => void) | undefined): Backend {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`js backend: threads must be a positive integer, found ${threads}`);
  }
  if (threads === 1) return createJsBackend();
  let backend = jsThreaded.get(threads);
  if (!backend) {
    backend = createJsThreadsBackend({ threads, ...(log ? { log } : {}) });
    jsThreaded.set(threads, backend);
  }
  return backend;
}
