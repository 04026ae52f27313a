// The wasm backend in Node: loads the module built by `npm run build` (wasm/build/, see
// wasm/README.md), starts its workers with worker_threads, and says whether it is available.
// Node-only; the rest of src/backend/wasm is browser-safe.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nodeWorkerStarter } from '../node-worker.js';
import { createWasmBackend, type WasmBackend, type WasmBackendOptions } from './index.js';
import type { SpawnWasmWorker, WasmWorkerStart } from './threads.js';

/**
 * The two builds (wasm/README.md), from src/ and dist/ alike: shared memory (what Node uses: it
 * always has SharedArrayBuffer) and plain memory (copy mode; tests run it too).
 */
export const wasmModuleUrls = {
  shared: new URL('../../../wasm/build/kernels.shared.wasm', import.meta.url),
  plain: new URL('../../../wasm/build/kernels.wasm', import.meta.url),
} as const;

export const WASM_BUILD_HINT =
  "build it with 'npm run build' after installing clang and lld ('apt-get install clang lld', 'brew install llvm lld')";

type Load = { module: WebAssembly.Module } | { reason: string };
const loaded = new Map<keyof typeof wasmModuleUrls, Load>();

/**
 * Compiles a build once (default the shared one); never throws: a failure comes back as a reason.
 * MNIST_LAB_NO_WASM=1 hides the backend.
 */
export function loadWasmModule(build: keyof typeof wasmModuleUrls = 'shared'): Load {
  if (process.env['MNIST_LAB_NO_WASM'] === '1') {
    return { reason: 'the wasm backend is disabled by MNIST_LAB_NO_WASM=1' };
  }
  const cached = loaded.get(build);
  if (cached) return cached;
  const load = compile(fileURLToPath(wasmModuleUrls[build]));
  loaded.set(build, load);
  return load;
}

function compile(path: string): Load {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return { reason: `${path} is missing: ${WASM_BUILD_HINT}` };
  }
  try {
    return { module: new WebAssembly.Module(new Uint8Array(bytes)) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { reason: `${path} does not compile here (${message}); rebuild it: ${WASM_BUILD_HINT}` };
  }
}

/** Whether the wasm backend can be created here; when not, a reason that says how to get it. */
export function wasmBackendAvailable(): { available: boolean; reason?: string } {
  const load = loadWasmModule();
  return 'module' in load ? { available: true } : { available: false, reason: load.reason };
}

/** Starts node-worker.js (worker_threads) for each wasm worker. */
export function nodeWasmWorkers(override?: URL): SpawnWasmWorker {
  const start = nodeWorkerStarter(import.meta.url, 'node-worker', override);
  return (message: WasmWorkerStart) => {
    const worker = start(message);
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`a worker exited with code ${code} before it was ready`)),
      );
    });
    return { ready, terminate: () => void worker.terminate() };
  };
}

export type NodeWasmBackendOptions = Omit<WasmBackendOptions, 'module' | 'shared' | 'spawnWorker'>;

/** The wasm backend on shared memory with `threads` threads (default: every available core). */
export function createNodeWasmBackend(options: NodeWasmBackendOptions = {}): WasmBackend {
  const load = loadWasmModule();
  if (!('module' in load)) throw new Error(`wasm backend unavailable: ${load.reason}`);
  const threads = options.threads ?? availableParallelism();
  return createWasmBackend({
    ...options,
    module: load.module,
    shared: true,
    threads,
    spawnWorker: nodeWasmWorkers(),
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
  });
}
