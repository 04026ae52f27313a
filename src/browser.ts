// The browser entry of mnist-lab: what the draw-a-digit and teach pages need from the engine, and nothing that
// imports a Node-only module (src/index.ts is the Node entry: it loads files, PNGs and the native
// addon). The backend is chosen on first use from the browser's table (src/backend/defaults/
// browser.ts); importing this module registers nothing. A test bundles this file for the browser and
// fails if any Node module is pulled in.

export { VERSION } from './version.js';

// ---- backend ----
export type { Backend } from './backend/kernels.js';
export { createJsBackend } from './backend/js/index.js';
export { getBackend, registeredBackends, setBackend, setBackendInstance } from './backend/registry.js';
// The wasm backend: the page compiles the module and starts its Web Workers (wasm/README.md).
export { WASM_KERNELS, createWasmBackend, runWasmWorker } from './backend/wasm/index.js';
export type {
  SpawnWasmWorker,
  WasmBackend,
  WasmBackendOptions,
  WasmWorkerHandle,
  WasmWorkerStart,
} from './backend/wasm/index.js';

// ---- models: weights in, predictions out ----
export { LAYER_CLASSES, modelFromBytes } from './loading/index.js';
export type { Model } from './train/model.js';
export type { InputNormalization } from './data/normalize.js';
export { restoreInputNormalization } from './train/legacy-normalization.js';
export { predictDigits, toProbabilities } from './predict/predict.js';
export type { ClassProbability, Prediction, PredictDigitsOptions } from './predict/predict.js';
export {
  MNIST_BOX,
  MNIST_SIZE,
  NoDigitError,
  preprocessDigit,
  preprocessRgba,
  toGrayscale,
} from './predict/preprocess.js';
export type { PreprocessOptions, PreprocessResult } from './predict/preprocess.js';

// ---- teaching in the page: fine-tuning (in a Web Worker) and the weights out ----
export { encodeModel } from './train/checkpoint.js';
export { FINE_TUNE_DEFAULTS, fineTune } from './finetune/recipe.js';
export type { FineTuneMethod, FineTuneOptions, FineTuneResult } from './finetune/recipe.js';
export { mergeLora } from './finetune/lora.js';
export { headClasses } from './finetune/head.js';

// ---- recipes the server can train (names only: training runs on the server) ----
export { ZOO_MODEL_NAMES } from './zoo/recipes.js';
export type { ZooModelName } from './zoo/recipes.js';

// ---- the training event stream (what /api/runs/:id/events carries) ----
export type {
  BatchEndEvent,
  EpochEndEvent,
  TrainBeginEvent,
  TrainEndEvent,
  TrainEvent,
} from './train/types.js';
