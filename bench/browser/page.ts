// The page of the browser benchmark (bench/workloads/browser.ts bundles it for Chromium): `cnn`
// training (Keras mnist_convnet, batch 128, Adam) on the same MNIST images, either on mnist-lab's
// wasm backend (shared memory and threads: the page is cross-origin isolated; the threads are Web
// Workers running wasm-worker.js) or on @tensorflow/tfjs's CPU backend. One side per page load, so
// neither side's heap or JIT state reaches the other. The page's main thread computes (a kernel
// call waits for the worker threads by spinning: a page's main thread cannot block).
import * as tf from '@tensorflow/tfjs';
import { tfjsCnn } from '../peer/tfjs-cnn-model.js';
import { createWasmBackend, setBackendInstance, type WasmWorkerStart } from '../../src/browser.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { getRecipe } from '../../src/zoo/recipes.js';

export interface BenchRequest {
  side: 'wasm' | 'tfjs';
  /** Untimed batches first, then timed ones until `seconds` pass or `steps` ran. */
  warmup: number;
  steps: number;
  seconds: number;
  threads: number;
}

export interface BenchResult {
  side: string;
  /** 'wasm' or 'tfjs-cpu'; `memory` says how the wasm backend ran. */
  backend: string;
  memory?: string;
  version?: string;
  threads: number;
  batchSize: number;
  steps: number;
  seconds: number;
  imagesPerSecond: number;
  loss: number;
}

const BATCH = 128;

async function mnist(): Promise<{ images: Uint8Array; labels: Uint8Array }> {
  const [images, labels] = await Promise.all(
    ['images.bin', 'labels.bin'].map(async (file) => new Uint8Array(await (await fetch(file)).arrayBuffer())),
  );
  return { images: images as Uint8Array, labels: labels as Uint8Array };
}

function spawnWorker(start: WasmWorkerStart): { ready: Promise<void>; terminate: () => void } {
  const worker = new Worker('wasm-worker.js', { type: 'module' });
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (event) => reject(new Error(event.message));
  });
  worker.postMessage(start);
  return { ready, terminate: () => worker.terminate() };
}

async function onWasm(request: BenchRequest): Promise<BenchResult> {
  const isolated = globalThis.crossOriginIsolated === true;
  const module = await WebAssembly.compile(
    await (await fetch(isolated ? 'kernels.shared.wasm' : 'kernels.wasm')).arrayBuffer(),
  );
  const backend = createWasmBackend({
    module,
    shared: isolated,
    threads: isolated ? request.threads : 1,
    spawnWorker,
  });
  const threads = await backend.ready();
  setBackendInstance(backend);
  const { images, labels } = await mnist();
  const recipe = getRecipe('cnn');
  const model = recipe.model();
  model.compile({
    optimizer: recipe.optimizer(469),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
  });
  const controller = new AbortController();
  let batches = 0;
  let timedStart = 0;
  let timedEnd = 0;
  let timedImages = 0;
  let loss = Number.NaN;
  await model.fit(images, labels, {
    epochs: 1000,
    batchSize: BATCH,
    verbose: 0,
    signal: controller.signal,
    onEvent: (event) => {
      if (event.type !== 'batchEnd') return;
      const now = performance.now();
      batches++;
      loss = event.batchLoss;
      if (batches === request.warmup) timedStart = now;
      if (batches <= request.warmup) return;
      timedEnd = now;
      timedImages += event.size;
      if (batches - request.warmup >= request.steps || (now - timedStart) / 1000 >= request.seconds)
        controller.abort();
    },
  });
  const seconds = (timedEnd - timedStart) / 1000;
  return {
    side: 'wasm',
    backend: 'wasm',
    memory: backend.shared ? 'shared' : 'copy mode',
    threads,
    batchSize: BATCH,
    steps: batches - request.warmup,
    seconds,
    imagesPerSecond: timedImages / seconds,
    loss,
  };
}

async function onTfjs(request: BenchRequest): Promise<BenchResult> {
  await tf.setBackend('cpu');
  await tf.ready();
  const { images, labels } = await mnist();
  const model = tfjsCnn();
  // NOTE: the CPU kernels do not specialise on batch size, so a warm-up batch of 16 warms the same code.
  const sizes = [...Array<number>(request.warmup).fill(16), ...Array<number>(request.steps).fill(BATCH)];
  let offset = 0;
  let seconds = 0;
  let loss = Number.NaN;
  for (const [i, size] of sizes.entries()) {
    const x = tf.tidy(() =>
      tf.tensor4d(
        Float32Array.from(images.subarray(offset * 784, (offset + size) * 784), (v) => v / 255),
        [size, 28, 28, 1],
      ),
    );
    const y = tf.tensor1d(Float32Array.from(labels.subarray(offset, offset + size)));
    offset += size;
    const started = performance.now();
    const result = await model.trainOnBatch(x, y);
    if (i >= request.warmup) seconds += (performance.now() - started) / 1000;
    loss = Array.isArray(result) ? (result[0] as number) : result;
    x.dispose();
    y.dispose();
  }
  return {
    side: 'tfjs',
    backend: `tfjs-${tf.getBackend()}`,
    version: tf.version.tfjs,
    threads: 1,
    batchSize: BATCH,
    steps: request.steps,
    seconds,
    imagesPerSecond: (request.steps * BATCH) / seconds,
    loss,
  };
}

(globalThis as unknown as { runBench: (r: BenchRequest) => Promise<BenchResult> }).runBench = (request) =>
  request.side === 'wasm' ? onWasm(request) : onTfjs(request);
