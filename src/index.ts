// The public API of mnist-lab: every top-level name is named here (no `export *`). The top level is
// what a Keras user types (layers, models, optimizers, losses, fit's types, callbacks, tensors, the
// zoo); the rest is grouped in namespaces: data, nn, optim, losses, finetune, pretrain, io,
// evaluation (`import { data } from 'mnist-lab'; data.validationSplit(...)`). Each namespace is its
// folder's index.ts (data's is data/node/index.ts: it names the file loaders). Examples import only
// from this file; the CLI, the server and tests import the modules they need directly.
// etc/mnist-lab.api.md is the reviewed report of this surface (`npm run check:api` in CI,
// `npm run api:update` to accept a change).

export { VERSION } from './version.js';

// ---- backend ----
export type { Backend } from './backend/kernels.js';
export { getBackend, setBackend, setBackendInstance } from './backend/registry.js';
export { selectBackend } from './backend/select.js';
export type { BackendName, SelectBackendOptions } from './backend/select.js';

// ---- tensors and autograd (ops is one namespace) ----
export { Tensor, dispose, keep, noGrad, tidy } from './tensor/tensor.js';
export { gradients } from './tensor/autograd.js';
export { ops } from './tensor/ops/index.js';
export { tensor } from './tensor/ops/creation.js';
export type { NestedNumbers } from './tensor/ops/creation.js';

// ---- datasets ----
export { loadDataset, loadMnist } from './data/node/load.js';
export type { LoadOptions } from './data/node/load.js';
export type { Dataset, ImageSet } from './data/dataset.js';

// ---- layers (classes, initialisers and activations: the nn namespace) ----
export {
  Layer,
  activation,
  add,
  averagePooling2d,
  batchNormalization,
  conv2d,
  dense,
  dropout,
  embedding,
  flatten,
  globalAveragePooling2d,
  layerNormalization,
  maxPooling2d,
  multiHeadAttention,
  normalization,
  patchEmbedding,
  rescaling,
  reshape,
  transformerBlock,
} from './nn/index.js';
export type { LayerArgs, LayerConfig } from './nn/index.js';

// ---- models ----
export { Model, Sequential, sequential } from './train/model.js';
export type { ModelPredictOptions, SequentialArgs } from './train/model.js';
export { LAYER_CLASSES, modelFromBytes } from './loading/index.js';
export { loadModel } from './loading/node.js';

// ---- optimizers and losses (classes and schedules: the optim and losses namespaces) ----
export { adam, adamW, rmsprop, sgd } from './optim/index.js';
export {
  binaryCrossentropy,
  categoricalCrossentropy,
  meanSquaredError,
  sparseCategoricalCrossentropy,
} from './losses/index.js';

// ---- compile, fit, evaluate, predict ----
export type {
  BatchBeginEvent,
  BatchEndEvent,
  CompileConfig,
  EpochBeginEvent,
  EpochEndEvent,
  EvaluateOptions,
  EvaluateResult,
  FitOptions,
  History,
  ImageInput,
  LabelInput,
  MetricName,
  PredictOptions,
  TrainBeginEvent,
  TrainEndEvent,
  TrainEvent,
} from './train/types.js';
export type { FitHistory, StopReason } from './train/types.js';
export {
  Callback,
  TrainingDivergedError,
  earlyStopping,
  learningRateScheduler,
  progressBar,
  runCheckpoints,
  terminateOnNaN,
} from './train/callbacks/index.js';
export type {
  EarlyStoppingOptions,
  ProgressBarOptions,
  RunCheckpointsOptions,
  SavePoint,
} from './train/callbacks/index.js';
export { csvLogger, jsonlLogger, modelCheckpoint } from './train/run.js';

// ---- the zoo ----
export { RECIPES, ZOO_MODEL_NAMES, getRecipe } from './zoo/recipes.js';
export type { Recipe, RecipeOptions, ZooModelName } from './zoo/recipes.js';
export { vit } from './zoo/vit.js';

// ---- digits from images ----
export { predictDigits } from './predict/predict.js';
export type { ClassProbability, Prediction, PredictDigitsOptions } from './predict/predict.js';
export { preprocessDigit } from './predict/preprocess.js';
export { decodeImage } from './predict/node/decode.js';

// ---- namespaces ----
import * as data from './data/node/index.js';
import * as nn from './nn/index.js';
import * as optim from './optim/index.js';
import * as losses from './losses/index.js';
import * as finetune from './finetune/index.js';
import * as pretrain from './pretrain/index.js';
import * as io from './io/index.js';
// NOTE: not `eval`: a module cannot import a binding named eval (`import { eval }` is a syntax error).
import * as evaluation from './eval/index.js';
export { data, evaluation, finetune, io, losses, nn, optim, pretrain };
