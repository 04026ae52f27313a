// The page of test/web/wasm-backend.test.ts (bundled for the browser by the test): trains a few
// batches of the `cnn` recipe on the js backend and on the wasm backend, in the same page, from the
// same seed, and reports both runs' batch losses. Shared memory and 2 threads when the page is
// cross-origin isolated, copy mode on one thread otherwise.
import { createJsBackend } from '../../../src/backend/js/index.js';
import { setBackendInstance } from '../../../src/backend/registry.js';
import { createWasmBackend, type WasmWorkerStart } from '../../../src/backend/wasm/index.js';
import { sparseCategoricalCrossentropy } from '../../../src/losses/index.js';
import { getRecipe } from '../../../src/zoo/recipes.js';

export interface PageResult {
  isolated: boolean;
  shared: boolean;
  threads: number;
  activeThreads: number;
  workerTasks: number;
  jsLosses: number[];
  wasmLosses: number[];
  jsSeconds: number;
  wasmSeconds: number;
}

const BATCH = 32;
const STEPS = 4;

/** Deterministic images (N, 28, 28) u8: class c is a bar at rows 2c..2c+3 plus a hashed speckle. */
function syntheticData(count: number): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const label = (n * 7) % 10;
    labels[n] = label;
    for (let i = 0; i < 784; i++) {
      const row = Math.floor(i / 28);
      const bar = row >= 2 * label + 4 && row < 2 * label + 8 ? 200 : 0;
      images[n * 784 + i] = Math.min(255, bar + ((Math.imul(n * 784 + i, 2654435761) >>> 24) & 63));
    }
  }
  return { images, labels };
}

async function train(): Promise<{ losses: number[]; seconds: number }> {
  const recipe = getRecipe('cnn');
  const model = recipe.model();
  model.compile({
    optimizer: recipe.optimizer(100),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
  });
  const { images, labels } = syntheticData(BATCH * STEPS);
  const losses: number[] = [];
  const start = performance.now();
  await model.fit(images, labels, {
    epochs: 1,
    batchSize: BATCH,
    seed: 5,
    verbose: 0,
    onEvent: (event) => {
      if (event.type === 'batchEnd') losses.push(event.batchLoss);
    },
  });
  return { losses, seconds: (performance.now() - start) / 1000 };
}

function spawnWorker(start: WasmWorkerStart): { ready: Promise<void>; terminate: () => void } {
  const worker = new Worker('worker.js', { type: 'module' });
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (event) => reject(new Error(event.message));
  });
  worker.postMessage(start);
  return { ready, terminate: () => worker.terminate() };
}

async function run(): Promise<PageResult> {
  const isolated = globalThis.crossOriginIsolated === true;
  const file = isolated ? 'kernels.shared.wasm' : 'kernels.wasm';
  const module = await WebAssembly.compile(await (await fetch(file)).arrayBuffer());
  const wasm = createWasmBackend({
    module,
    shared: isolated,
    threads: isolated ? 2 : 1,
    spawnWorker,
    log: (line) => console.error(line),
  });
  const activeThreads = await wasm.ready();
  setBackendInstance(createJsBackend());
  const js = await train();
  setBackendInstance(wasm);
  const onWasm = await train();
  return {
    isolated,
    shared: wasm.shared,
    threads: wasm.threads,
    activeThreads,
    workerTasks: wasm.stats().workerTasks,
    jsLosses: js.losses,
    wasmLosses: onWasm.losses,
    jsSeconds: js.seconds,
    wasmSeconds: onWasm.seconds,
  };
}

(globalThis as unknown as { runWasmTest: () => Promise<PageResult> }).runWasmTest = run;
