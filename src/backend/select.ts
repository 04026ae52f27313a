// Choosing the backend for a Node.js process, in order: native when its addon loads, else wasm when
// its module is built (src/backend/wasm), else js; falling back prints one line saying how to get
// the fast one. Explicit choice: the option, then MNIST_LAB_BACKEND.
// On Node the js backend computes its heavy kernels on worker threads when threads > 1
// (src/backend/js-threads: same name, bit-identical results); the browser bundle keeps the
// single-threaded one.
import { availableParallelism } from 'node:os';
import type { Backend } from './kernels.js';
import { createJsBackend } from './js/index.js';
import { createJsThreadsBackend, type JsThreadsBackend } from './js-threads/index.js';
import { createNativeBackend, nativeBackendAvailable } from './native/index.js';
import { registerBackend, setBackendInstance } from './registry.js';
import type { WasmBackend } from './wasm/index.js';
import { createNodeWasmBackend, wasmBackendAvailable } from './wasm/node.js';

export type BackendName = 'js' | 'native' | 'wasm';

export interface SelectBackendOptions {
  /** 'js', 'native' or 'wasm'; default MNIST_LAB_BACKEND, else native, wasm, js: the first available. */
  backend?: string;
  /** Compute threads (native and wasm backends, and the js backend's heavy kernels); default every available core. */
  threads?: number;
  /** Where the one-line hint goes when falling back to js; default stderr. */
  log?: (line: string) => void;
}

export const NATIVE_HINT =
  'mnist-lab: using the js backend; for the fast native backend install oneDNN ' +
  "('apt-get install libdnnl-dev' or 'brew install onednn') and run 'npm run build:native'";

export const WASM_FALLBACK_HINT =
  'mnist-lab: using the wasm backend; for the fast native backend install oneDNN ' +
  "('apt-get install libdnnl-dev' or 'brew install onednn') and run 'npm run build:native'";

let hintShown = false;

/** Wasm backends by thread count: selecting again reuses the memory and the workers. */
const wasmBackends = new Map<number, WasmBackend>();

/** Threaded js backends by thread count: selecting again reuses the worker pool. */
const jsThreaded = new Map<number, JsThreadsBackend>();

registerBackend('js', createJsBackend);

/** Activates and returns the backend for this process. */
export function selectBackend(options: SelectBackendOptions = {}): Backend {
  const requested = options.backend ?? process.env['MNIST_LAB_BACKEND'] ?? undefined;
  if (requested !== undefined && requested !== 'js' && requested !== 'native' && requested !== 'wasm') {
    throw new Error(`unknown backend '${requested}': choose 'js', 'native' or 'wasm'`);
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
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const wasm = requested === 'js' ? { available: false } : wasmBackendAvailable();
  if (requested === 'wasm' && !wasm.available) {
    throw new Error(`the wasm backend is not available: ${wasm.reason ?? 'its module did not load'}`);
  }
  if (requested === undefined && !hintShown) {
    hintShown = true;
    log(wasm.available ? WASM_FALLBACK_HINT : NATIVE_HINT);
  }
  if (wasm.available)
    return setBackendInstance(nodeWasmBackend(options.threads ?? availableParallelism(), log));
  return setBackendInstance(createNodeJsBackend(options.threads ?? availableParallelism(), options.log));
}

/** The wasm backend for `threads` threads, created once per thread count. */
function nodeWasmBackend(threads: number, log: (line: string) => void): Backend {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`wasm backend: threads must be a positive integer, found ${threads}`);
  }
  let backend = wasmBackends.get(threads);
  if (!backend) {
    backend = createNodeWasmBackend({ threads, log });
    wasmBackends.set(threads, backend);
  }
  return backend;
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
