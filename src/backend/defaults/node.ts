// The backends a Node.js process uses when the program chooses none, fastest first: the registry
// creates the first available row on first use (getBackend()), and selectBackend() looks names up
// here. package.json "imports" maps #default-backends to this file under the `node` condition and to
// browser.ts elsewhere (tsconfig.json "paths" does the same for tsc and tsx on the sources).
//
// On Node the js backend computes its heavy kernels on worker threads when threads > 1
// (src/backend/js-threads: same name, bit-identical results).
import { availableParallelism } from 'node:os';
import type { Backend } from '../kernels.js';
import { createJsBackend } from '../js/index.js';
import { createJsThreadsBackend, type JsThreadsBackend } from '../js-threads/index.js';
import { createNativeBackend, nativeBackendAvailable } from '../native/index.js';
import type { WasmBackend } from '../wasm/index.js';
import { WASM_BUILD_HINT, createNodeWasmBackend, wasmBackendAvailable } from '../wasm/node.js';
import type { BackendCandidate, BackendCreateOptions } from './candidate.js';

/** The one line a process prints when it runs on `chosen` because the native addon is missing. */
export function nativeFallbackHint(chosen: string): string {
  return (
    `mnist-lab: using the ${chosen} backend; for the fast native backend install oneDNN ` +
    "('apt-get install libdnnl-dev' or 'brew install onednn') and run 'npm run build:native'"
  );
}
export const NATIVE_HINT = nativeFallbackHint('js');
export const WASM_FALLBACK_HINT = nativeFallbackHint('wasm');

/** Wasm backends by thread count: creating one again reuses its memory and workers. */
const wasmBackends = new Map<number, WasmBackend>();

/**
 * The wasm backend for `threads` threads (default every core), created once per thread count;
 * createWasmBackend refuses a bad count.
 */
export function nodeWasmBackend(options: BackendCreateOptions = {}): Backend {
  const threads = options.threads ?? availableParallelism();
  let backend = wasmBackends.get(threads);
  if (!backend) {
    backend = createNodeWasmBackend({ threads, ...(options.log ? { log: options.log } : {}) });
    wasmBackends.set(threads, backend);
  }
  return backend;
}

/** Threaded js backends by thread count: creating one again reuses its worker pool. */
const jsThreaded = new Map<number, JsThreadsBackend>();

/**
 * The js backend for `threads` threads: single-threaded for 1, else the worker-thread variant (its
 * worker pool refuses a bad count).
 */
export function createNodeJsBackend(options: BackendCreateOptions = {}): Backend {
  const threads = options.threads ?? availableParallelism();
  if (threads === 1) return createJsBackend();
  let backend = jsThreaded.get(threads);
  if (!backend) {
    backend = createJsThreadsBackend({ threads, ...(options.log ? { log: options.log } : {}) });
    jsThreaded.set(threads, backend);
  }
  return backend;
}

export const DEFAULT_BACKENDS: readonly BackendCandidate[] = [
  {
    name: 'native', // C++ addon over oneDNN, built at install when oneDNN is found
    unavailable: () => {
      const native = nativeBackendAvailable();
      return native.available ? null : (native.reason ?? 'the addon did not load');
    },
    create: (options = {}) =>
      createNativeBackend(options.threads === undefined ? {} : { threads: options.threads }),
    fallbackHint: nativeFallbackHint,
  },
  {
    name: 'wasm', // C kernels compiled to WebAssembly SIMD by `npm run build` (clang + lld)
    unavailable: () => {
      const wasm = wasmBackendAvailable();
      return wasm.available ? null : (wasm.reason ?? 'its module did not load');
    },
    create: nodeWasmBackend,
    fallbackHint: (chosen) =>
      `mnist-lab: using the ${chosen} backend; for the faster wasm backend ${WASM_BUILD_HINT}`,
  },
  {
    name: 'js', // plain TypeScript, runs anywhere; worker threads for the heavy kernels
    unavailable: () => null,
    create: createNodeJsBackend,
  },
];
