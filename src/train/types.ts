// Types of the training API: compile/fit/evaluate/predict options, the typed event stream, and
// (from src/runs/types.ts, where the run directory's contents are defined) the History, the training
// state and the RunStore through which runs and checkpoints are written. Browser-safe.
//
// Letters: N examples, B batch, K classes (model outputs).
import type { AugmentOptions } from '../data/augment.js';
import type { Precision } from '../backend/kernels.js';
import type { InputNormalization } from '../data/normalize.js';
import type { Loss } from '../losses/loss.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { RunConfig, RunStore } from '../runs/types.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Callback } from './callbacks/callback.js';
import type { DataParallel } from './data-parallel.js';

export type { CheckpointData, History, HistoryValues, RunStore, TrainState } from '../runs/types.js';
import type { History } from '../runs/types.js';

/**
 * Why a fit ended: 'completed' (every epoch ran), 'early-stopping' (EarlyStopping), 'diverged' (a
 * non-finite loss or gradient, TerminateOnNaN), 'interrupted' (the signal), 'stopped' (another
 * callback's context.stop()).
 */
export type StopReason = 'completed' | 'early-stopping' | 'diverged' | 'interrupted' | 'stopped';

/** What fit() returns: the History of every epoch run, and why training ended. */
export interface FitHistory extends History {
  /** Why training ended (StopReason). */
  stopReason: StopReason;
  /** What stopped it said (the TrainEndEvent's stopReason): absent when it completed. */
  stopMessage?: string;
}

/**
 * Images, N examples of the model's input shape (default [28, 28, 1]):
 * - Uint8Array: raw pixels 0..255, scaled to [0, 1] per batch (a model that starts with a
 *   Normalization layer standardises them itself);
 * - Float32Array: values used as they are;
 * - Tensor: float, first dimension N, used as it is.
 */
export type ImageInput = Uint8Array | Float32Array | Tensor;

/**
 * Labels: class indices (N) for sparse losses. For other losses (categorical cross-entropy, MSE)
 * class indices are one-hot encoded to the model's K outputs; a float Tensor (N, K) is used as is.
 */
export type LabelInput = Uint8Array | Int32Array | readonly number[] | Tensor;

/** Metrics computed besides the loss. 'accuracy' compares argmax(output) with the class index. */
export type MetricName = 'accuracy' | 'acc' | 'sparse_categorical_accuracy' | 'categorical_accuracy';

export interface CompileConfig {
  /** An Optimizer or a name ('adam', 'sgd', ...) resolved with default arguments. */
  optimizer: Optimizer | string;
  /** A Loss or a Keras name ('sparse_categorical_crossentropy', 'mse', ...). */
  loss: Loss | string;
  metrics?: readonly MetricName[];
}

/** @deprecated the same type as InputNormalization; use that name. */
export type Normalize = InputNormalization;

/**
 * How steps execute. By default the first steps of a given model, batch shape and backend are
 * recorded and every later step replays the recorded kernels (src/tensor/capture.ts): on the
 * native backend one native call per step, on the js backend a loop over the kernels; results are
 * bit-identical either way. Steps that cannot be replayed run eagerly.
 */
export interface ExecutionOptions {
  /** Record and replay steps; false runs every step eagerly (layers, autograd, tidy). Default true. */
  compile?: boolean;
  /** Receives one line for each reason a step runs eagerly (the CLI's --debug). */
  debug?: (line: string) => void;
  /**
   * 'bfloat16': mixed precision, convolutions and products with bfloat16 operands and float32
   * accumulation; weights, optimizer state, activations and the loss stay float32. Needs a backend
   * that lists it (the native backend on a CPU with AVX512_BF16 or AMX); refused elsewhere before
   * any work. Default 'float32'.
   */
  precision?: Precision;
}

export interface FitOptions extends ExecutionOptions {
  /** Index of the epoch to stop before (Keras semantics: total epochs, counting initialEpoch). Default 1. */
  epochs?: number;
  /** Examples per forward/backward pass. Default 32. */
  batchSize?: number;
  /**
   * Micro-batches whose gradients are summed before each optimizer step (gradient accumulation):
   * a step sees batchSize * accumulateSteps examples while memory holds one batchSize's
   * activations. For models without batch norm this equals one batch of batchSize *
   * accumulateSteps, up to float rounding. Events and stepsPerEpoch count optimizer steps. Default 1.
   */
  accumulateSteps?: number;
  /** Held-out data evaluated after every epoch. */
  validationData?: readonly [ImageInput, LabelInput];
  /** Fraction of the training data held out, chosen by a seeded stratified split. */
  validationSplit?: number;
  /** Shuffle the training order every epoch (seeded). Default true. */
  shuffle?: boolean;
  callbacks?: readonly Callback[];
  /** Epoch to start at (its history and LR schedule position continue from there). Default 0. */
  initialEpoch?: number;
  /** Seeds weight initialisation, the validation split, shuffling and dropout. Default 0. */
  seed?: number;
  /** 0 silent, 1 live progress bar (on a pipe: a line per ~10% of an epoch), 2 one line per epoch. Default 1. */
  verbose?: 0 | 1 | 2;
  /** Where verbose output goes: default process.stdout when it exists. */
  output?: TextStream;
  /**
   * @deprecated put `normalization({mean, std})` first in the model instead, so the model carries it.
   * Still works: trains this model behind such a layer (its layers are shared, so this model's
   * weights are trained); the run's saved model carries the layer, this object does not, so its own
   * predict() and evaluate() need the option again.
   */
  normalize?: InputNormalization;
  /** Random shift/rotation/scale of each training image (u8 28x28 input), seeded and checkpointed. */
  augment?: boolean | AugmentOptions;
  /** Caller information stored in config.json under `runConfig` (e.g. the CLI's recipe). */
  runConfig?: NonNullable<RunConfig['runConfig']>;
  /** Batches per epoch (fewer than the data holds: quick runs). */
  stepsPerEpoch?: number;
  /** Use only the first `limit` training examples (after the validation split). */
  limit?: number;
  /**
   * Where the run is written (config.json, metrics.jsonl, a checkpoint per epoch): on Node
   * `await openRun(dir)` (a locked run directory), in a browser any RunStore. fit() closes it when
   * it ends (the same store may be given to a later fit()). The checkpoints are written by a
   * RunCheckpoints callback fit adds (keepCheckpoints, checkpointEvery), unless `callbacks` has one.
   */
  run?: RunStore;
  /**
   * Continue `run` from its latest checkpoint (on Node: `openRun(dir, {resume: true})`); with a
   * RunCheckpoints in `callbacks`, from its store.
   */
  resume?: boolean;
  /** Checkpoints kept in the run directory (oldest removed first). Default 3 (RunCheckpoints keep). */
  keepCheckpoints?: number;
  /**
   * When a run directory gets a checkpoint: 'epoch' after every epoch (default), 'end' after the
   * last one only (short runs whose per-epoch checkpoint costs more than a rerun; an interrupted
   * or stopped run still writes its checkpoint). RunCheckpoints every.
   */
  checkpointEvery?: 'epoch' | 'end';
  /** Receives every training event (the CLI prints them; the web page streams them). */
  onEvent?: (event: TrainEvent) => void;
  /** Stops training at the next batch boundary, writing a checkpoint when a run is written. */
  signal?: AbortSignal;
  /**
   * Train as one of several processes (src/distributed: joinDataParallel() under mpirun): each
   * takes its share of every batch (batchSize stays the global batch) and gradients are averaged
   * before every update. Only rank 0 should be given a `run` that writes.
   */
  dataParallel?: DataParallel;
}

export interface EvaluateOptions extends ExecutionOptions {
  /** Default 32. */
  batchSize?: number;
  /** @deprecated a model that starts with a Normalization layer needs none; see FitOptions.normalize. */
  normalize?: InputNormalization;
  /** 0 silent (default), 1 or 2 one line as Keras prints it: "313/313 - 0.4s - loss: ... - accuracy: ...". */
  verbose?: 0 | 1 | 2;
  /** Where verbose output goes: default process.stdout when it exists. */
  output?: TextStream;
}

export interface EvaluateResult {
  loss: number;
  accuracy: number;
  [metric: string]: number;
}

export interface PredictOptions extends ExecutionOptions {
  /** Default 32. */
  batchSize?: number;
  /** @deprecated a model that starts with a Normalization layer needs none; see FitOptions.normalize. */
  normalize?: InputNormalization;
}

/** Somewhere text goes: process.stdout, a file, a test buffer. */
export interface TextStream {
  write(text: string): unknown;
  /** A terminal: progress redraws in place. */
  isTTY?: boolean;
  columns?: number;
}

// ---- the event stream (one object per hook, dispatched from CallbackList) ----

export interface TrainBeginEvent {
  type: 'trainBegin';
  /** The epoch training stops before. */
  epochs: number;
  initialEpoch: number;
  stepsPerEpoch: number;
  batchSize: number;
  /** Training examples (after the validation split and limit). */
  samples: number;
  validationSamples: number;
  /** Optimizer steps already taken (non-zero when resuming). */
  step: number;
}

export interface EpochBeginEvent {
  type: 'epochBegin';
  epoch: number;
  lr: number;
}

export interface BatchBeginEvent {
  type: 'batchBegin';
  epoch: number;
  /** Batch index within the epoch. */
  batch: number;
  /** Global optimizer step (0-based) this batch performs. */
  step: number;
  size: number;
}

export interface BatchEndEvent {
  type: 'batchEnd';
  epoch: number;
  batch: number;
  step: number;
  size: number;
  /** Mean loss over the epoch so far (what Keras shows). */
  loss: number;
  accuracy: number;
  /** This batch's loss. */
  batchLoss: number;
  /** False when the loss or a gradient was NaN or infinite (the update was then skipped). */
  finite: boolean;
  imagesPerSecond: number;
}

export interface EpochEndEvent {
  type: 'epochEnd';
  epoch: number;
  /** Optimizer steps taken so far. */
  step: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  lr: number;
  seconds: number;
}

export interface TrainEndEvent {
  type: 'trainEnd';
  /** Epochs completed (the index of the next one). */
  epoch: number;
  step: number;
  stopped: boolean;
  /** What stopped it said ('interrupted' for the signal); fit()'s result has its StopReason. */
  stopReason?: string;
  seconds: number;
}

/** Written to metrics.jsonl and emitted after each saved checkpoint. */
export interface CheckpointEvent {
  type: 'checkpoint';
  epoch: number;
  step: number;
  path: string;
}

export type TrainEvent =
  | TrainBeginEvent
  | EpochBeginEvent
  | BatchBeginEvent
  | BatchEndEvent
  | EpochEndEvent
  | TrainEndEvent
  | CheckpointEvent;
