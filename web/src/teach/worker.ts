// The Teach page's training worker: every model operation of the page runs here, off the main
// thread (the page only draws, preprocesses and shows). It computes on the wasm backend: shared
// memory and threads (more Web Workers, wasm-worker.js) when the page is cross-origin isolated,
// copy mode on this one thread otherwise, and the js backend when the kernels cannot be loaded.
//
// Fine-tuning is the same recipe as `mnist-lab finetune` (src/finetune/recipe.ts fineTune): a new
// head of K classes, trained alone ('head', on features of the frozen layers computed once) or with
// LoRA adapters on the frozen layers ('lora').
import {
  FINE_TUNE_DEFAULTS,
  createJsBackend,
  createWasmBackend,
  encodeModel,
  fineTune,
  mergeLora,
  modelFromBytes,
  predictDigits,
  restoreInputNormalization,
  setBackendInstance,
  type Model,
  type WasmWorkerStart,
} from '../../../src/browser.js';
import type { LoadRequest, TeachReply, TeachRequest, TrainRequest } from './protocol.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<TeachRequest>) => void) | null;
  postMessage(message: TeachReply, transfer?: Transferable[]): void;
  crossOriginIsolated?: boolean;
}

const scope = globalThis as unknown as WorkerScope;
/** NOTE: measured on 2 cores: a third thread only contends; phones have 4-8 cores. */
const MAX_THREADS = 4;
/** Batch size of fine-tuning on a few dozen drawings: several steps per epoch. */
const BATCH_SIZE = 8;
/** Adam's rate per method: a fresh head learns fast; adapters on the trunk need a gentler one. */
const LEARNING_RATE = { head: 0.01, lora: 0.005 } as const;

let base: LoadRequest | undefined;
let taught: { model: Model; classNames: string[] } | undefined;

function post(message: TeachReply, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function spawnWasmWorker(start: WasmWorkerStart): { ready: Promise<void>; terminate: () => void } {
  const worker = new Worker(new URL('wasm-worker.js', import.meta.url), { type: 'module' });
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (event) => reject(new Error(event.message));
  });
  worker.postMessage(start);
  return { ready, terminate: () => worker.terminate() };
}

/** The wasm backend when its kernels load, else js; resolves with what the page shows. */
async function startBackend(): Promise<string> {
  const isolated = scope.crossOriginIsolated === true;
  const file = isolated ? 'kernels.shared.wasm' : 'kernels.wasm';
  try {
    const response = await fetch(new URL(file, import.meta.url));
    if (!response.ok)
      throw new Error(`${file}: HTTP ${response.status} (was the app built with npm run build?)`);
    const module = await WebAssembly.compile(await response.arrayBuffer());
    const threads = isolated ? Math.max(1, Math.min(MAX_THREADS, navigator.hardwareConcurrency || 1)) : 1;
    const backend = createWasmBackend({
      module,
      shared: isolated,
      threads,
      spawnWorker: spawnWasmWorker,
      log: (line) => console.error(line),
    });
    const running = await backend.ready();
    setBackendInstance(backend);
    return isolated
      ? `wasm, ${running} thread${running === 1 ? '' : 's'}, shared memory`
      : 'wasm, 1 thread (the page is not cross-origin isolated)';
  } catch (error) {
    setBackendInstance(createJsBackend());
    return `js (the wasm kernels did not load: ${(error as Error).message})`;
  }
}

function baseModel(): Model {
  if (!base) throw new Error('no base model: choose a run first');
  return restoreInputNormalization(modelFromBytes(base.model, 'the base run’s model'), base.normalize);
}

/** Fraction of `images` whose predicted class name is the drawing's own; null for none. */
function accuracy(
  model: Model,
  modelClassNames: readonly string[],
  images: Uint8Array,
  labels: Uint8Array,
  classNames: readonly string[],
): number | null {
  if (labels.length === 0) return null;
  const predictions = predictDigits(model, images, {
    topK: 1,
    ...(modelClassNames.length > 0 ? { classNames: modelClassNames } : {}),
  });
  let right = 0;
  predictions.forEach((prediction, i) => {
    if (prediction.name === classNames[labels[i] as number]) right++;
  });
  return right / labels.length;
}

async function train(request: TrainRequest): Promise<void> {
  const started = performance.now();
  const source = baseModel();
  const before = accuracy(
    source,
    base?.classNames ?? [],
    request.testImages,
    request.testLabels,
    request.classNames,
  );
  let step = 0;
  const result = await fineTune(source, request.images, request.labels, {
    method: request.method,
    classes: request.classNames.length,
    epochs: request.epochs,
    learningRate: LEARNING_RATE[request.method],
    featureCache: FINE_TUNE_DEFAULTS.featureCache,
    fit: {
      batchSize: BATCH_SIZE,
      seed: request.seed,
      verbose: 0,
      onEvent: (event) => {
        if (event.type === 'batchEnd')
          post({ type: 'loss', id: request.id, step: step++, loss: event.batchLoss });
      },
    },
  });
  taught = { model: result.model, classNames: request.classNames };
  const after = accuracy(
    result.model,
    request.classNames,
    request.testImages,
    request.testLabels,
    request.classNames,
  );
  post({
    type: 'trained',
    id: request.id,
    before,
    after,
    testCount: request.testLabels.length,
    seconds: (performance.now() - started) / 1000,
    epochs: request.epochs,
    trainableParams: result.trainableParams,
  });
}

async function handle(request: TeachRequest): Promise<void> {
  switch (request.type) {
    case 'load':
      base = request;
      baseModel(); // fails here, with the file's own message, when the model cannot be rebuilt
      taught = undefined;
      post({ type: 'done', id: request.id });
      return;
    case 'train':
      await train(request);
      return;
    case 'predict': {
      if (!taught) throw new Error('nothing taught yet: teach the model first');
      const [prediction] = predictDigits(taught.model, request.image, {
        topK: 1,
        classNames: taught.classNames,
      });
      if (!prediction) throw new Error('no prediction for the drawing');
      post({
        type: 'predicted',
        id: request.id,
        name: prediction.name,
        probabilities: prediction.probabilities,
      });
      return;
    }
    case 'export': {
      if (!taught) throw new Error('nothing taught yet: teach the model first');
      const model = encodeModel(mergeLora(taught.model));
      post({ type: 'exported', id: request.id, model }, [model.buffer]);
      return;
    }
  }
}

// Requests run one at a time, in order: a prediction asked for during training waits for it.
let queue: Promise<void> = startBackend().then((backend) => post({ type: 'ready', backend }));
scope.onmessage = (event) => {
  const request = event.data;
  queue = queue.then(() =>
    handle(request).catch((error: unknown) =>
      post({
        type: 'failed',
        id: request.id,
        message: error instanceof Error ? error.message : String(error),
      }),
    ),
  );
};
