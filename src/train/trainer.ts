// The training loop: fit / evaluate / predict and the one step function. Browser-safe: files are
// reached only through the RunStore its caller gives (fit({run}): on Node a locked run directory
// from openRun(), src/runs/node/writer.ts). Everything optional (progress, early stopping, logs,
// the run's checkpoints: RunCheckpoints) is a callback; the loop offers the points a run can be
// resumed from (onSavePoint) and what a checkpoint there holds.
//
// Letters: N examples, B batch, F features per example (prod(inputShape)), K model outputs.
//
// Determinism: with the same seed, backend and thread count, fit() gives bit-identical weights.
// Four seeded streams: weight init (stream 0, used only when the model is not built yet), the
// validation split (the seed itself), shuffling (stream 1), dropout (stream 2) and augmentation
// (stream 3). Checkpoints hold the shuffle generator as of the epoch start and the others as of the
// step, so a run resumed from a checkpoint replays the same batches, warps and masks as an
// uninterrupted one.
import { getBackend } from '../backend/registry.js';
import { validationSplit } from '../data/split.js';
import { getLoss } from '../losses/index.js';
import type { Loss } from '../losses/loss.js';
import { getOptimizer, serializeOptimizer } from '../optim/index.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Precision } from '../backend/kernels.js';
import { gradients } from '../tensor/autograd.js';
import type { CapturedStep } from '../tensor/capture.js';
import { checkPrecision, withPrecision } from '../tensor/precision.js';
import { fromStorage, scalar, zeros } from '../tensor/ops/creation.js';
import { add, mul } from '../tensor/ops/elementwise.js';
import { allFinite } from '../tensor/ops/reduce.js';
import { Tensor, noGrad, tidy } from '../tensor/tensor.js';
import { nextTask } from '../util/next-task.js';
import { Random } from '../util/random.js';
import { VERSION } from '../version.js';
import { CallbackList, TrainingContext } from './callbacks/callback.js';
import type { Callback, EventSink } from './callbacks/callback.js';
import { defaultOutput, formatEvaluationLine, ProgressBar } from './callbacks/progress-bar.js';
import { RunCheckpoints } from './callbacks/run-checkpoints.js';
import type { Augmentation } from '../data/batch.js';
import {
  countCorrect,
  foldedNormalization,
  imageBatch,
  indexRange,
  labelBatch,
  toExamples,
} from './batches.js';
import type { Examples } from './batches.js';
import { DEFAULT_INPUT_SHAPE, loadModelWeights, restoreOptimizer } from './checkpoint.js';
import { capturedTrainStep, forwardOn, stepOn, type StepParts, type StepTensors } from './compiled-steps.js';
import { forEachOutputBatch } from './inference.js';
import type { Model } from './model.js';
import { FIT_DEFAULTS, fitPlan } from './plan.js';
import type {
  CompileConfig,
  EvaluateOptions,
  EvaluateResult,
  ExecutionOptions,
  FitHistory,
  FitOptions,
  History,
  ImageInput,
  LabelInput,
  PredictOptions,
  TrainState,
} from './types.js';
import type { RunConfig } from '../runs/types.js';

const EVALUATE_DEFAULTS = { batchSize: 32 } as const;

/** How often a fit with a signal yields to the event loop, so what aborts the signal gets to run. */
const SIGNAL_TURN_MS = 50;

/** Independent random streams of one seed. */
const STREAM = { init: 0, shuffle: 1, dropout: 2, augment: 3 } as const;

// ---- compiled state: the resolved optimizer and loss, kept per compile() call ----

interface Compiled {
  optimizer: Optimizer;
  loss: Loss;
}

const compiledCache = new WeakMap<CompileConfig, Compiled>();
const ACCURACY_NAMES = new Set(['accuracy', 'acc', 'sparse_categorical_accuracy', 'categorical_accuracy']);

function compiledOf(model: Model, what: string): Compiled {
  const config = model.compiled;
  if (!config) {
    throw new Error(
      `${what}(): model '${model.name}' is not compiled; call model.compile({optimizer: 'adam', ` +
        "loss: 'sparse_categorical_crossentropy', metrics: ['accuracy']}) first",
    );
  }
  let compiled = compiledCache.get(config);
  if (!compiled) {
    for (const metric of config.metrics ?? []) {
      if (!ACCURACY_NAMES.has(metric))
        throw new Error(`compile(): unknown metric '${metric}' (known: accuracy)`);
    }
    // Resolved once per compile(): a second fit() continues with the same optimizer state (Keras).
    compiled = { optimizer: getOptimizer(config.optimizer), loss: getLoss(config.loss) };
    compiledCache.set(config, compiled);
  }
  return compiled;
}

// ---- the step ----

export interface StepInput extends StepParts {
  examples: Examples;
  /** Example indices of this batch. */
  indices: ArrayLike<number>;
  inputShape: readonly number[];
  /** Model outputs per example (K): the width of dense targets. */
  outputs: number;
  augment?: Augmentation | undefined;
  /** The step's captured form (compiled-steps.ts); absent: every step runs eagerly. */
  captured?: CapturedStep<StepTensors> | undefined;
  /** Mixed precision of convolutions and products (ExecutionOptions.precision); default float32. */
  precision?: Precision | undefined;
  /** Examples per forward/backward pass; fewer than the batch: gradients are accumulated (eagerly). */
  microBatchSize?: number;
}

export interface StepResult {
  /** Mean loss over the batch. */
  loss: number;
  /** Correct predictions in the batch. */
  correct: number;
  /** False when the loss or a gradient was not finite; the update was then skipped. */
  finite: boolean;
}

/**
 * One optimizer step (stepOn: forward, loss, gradients, the update unless something is not
 * finite), replayed when it is captured. Everything made inside (batch, activations, gradients) is
 * freed when it returns, so memory stays flat however many steps run.
 */
export function trainStep(input: StepInput): StepResult {
  const { loss, examples, indices } = input;
  const micro = input.microBatchSize;
  if (micro !== undefined && micro < indices.length)
    return withPrecision(input.precision ?? 'float32', () => accumulatedStep(input, micro));
  return tidy(() => {
    const x = imageBatch(examples, indices, input.inputShape, {
      normalization: input.normalizedBy?.statistics,
      augment: input.augment,
    }); // (B, ...inputShape)
    const y = labelBatch(examples, indices, isSparse(loss), input.outputs); // (B) or (B, K)
    const step = withPrecision(input.precision ?? 'float32', () =>
      input.captured ? input.captured.run([x, y]) : stepOn(x, y, input),
    );
    return {
      loss: step.loss.item(),
      correct: countCorrect(step.output, examples, indices),
      finite: step.finite.item() === 1,
    };
  });
}

/**
 * One optimizer step over the batch in micro-batches of `microBatchSize` examples: each pass's loss
 * is weighted by its share of the batch, so the summed gradients are those of the batch's mean loss
 * (one batch of N*B equals N micro-batches of B, up to float rounding, for models whose forward
 * pass does not look across examples: no batch norm). Only one micro-batch's activations are alive.
 */
function accumulatedStep(input: StepInput, microBatchSize: number): StepResult {
  const { model, loss, optimizer, params, examples, indices, normalizedBy, augment } = input;
  return tidy(() => {
    let sums: Tensor[] | undefined; // one per param, its shape; earlier sums are freed with this tidy
    let lossValue = 0;
    let correct = 0;
    for (let start = 0; start < indices.length; start += microBatchSize) {
      const end = Math.min(start + microBatchSize, indices.length);
      const micro = Array.from({ length: end - start }, (_, i) => indices[start + i]!);
      const share = micro.length / indices.length;
      const previous = sums;
      sums = tidy(() => {
        const x = imageBatch(examples, micro, input.inputShape, {
          normalization: normalizedBy?.statistics,
          augment,
        }); // (b, ...inputShape)
        const output = model.apply(x, { training: true, random: input.random, normalizedBy }); // (b, K)
        const y = labelBatch(examples, micro, isSparse(loss), output.size / micro.length);
        const lossTensor = loss.compute(y, output); // scalar, mean over the micro-batch
        lossValue += lossTensor.item() * share;
        correct += countCorrect(output, examples, micro);
        const grads = gradients(mul(lossTensor, share), params);
        return previous ? noGrad(() => grads.map((g, i) => add(previous[i]!, g))) : grads;
      });
    }
    const grads = sums ?? [];
    if (input.sync) {
      const lossTensor = scalar(lossValue); // ()
      input.sync.gradients(grads, lossTensor);
      lossValue = lossTensor.item();
    }
    const finite = Number.isFinite(lossValue) && allFinite(grads).item() === 1;
    if (finite) optimizer.applyGradients(params, grads);
    return { loss: lossValue, correct, finite };
  });
}

function isSparse(loss: Loss): boolean {
  return loss.name.startsWith('sparse');
}

/** Loss and accuracy over examples, batched, in inference mode. */
function evaluateExamples(
  model: Model,
  loss: Loss,
  examples: Examples,
  indices: Int32Array,
  inputShape: readonly number[],
  batchSize: number,
  execution: ExecutionOptions,
): { loss: number; accuracy: number } {
  let lossSum = 0;
  let correct = 0;
  const outputs = outputsPerExample(model, inputShape);
  const options = { batchSize, inputShape, indices, execution, loss: { loss, outputs } };
  forEachOutputBatch(model, examples, options, (batch) => {
    lossSum += (batch.loss ?? NaN) * batch.indices.length;
    correct += countCorrect(batch.output, examples, batch.indices);
  });
  const n = Math.max(indices.length, 1);
  return { loss: lossSum / n, accuracy: correct / n };
}

/**
 * Refuses a model whose first step created weights its build did not (a sublayer built only at its
 * first call): the optimizer was given the weights that existed before, so these would never train.
 */
function refuseLateWeights(model: Model, built: ReadonlySet<Tensor>): void {
  const late = model.weights.filter((w) => !built.has(w.value)).map((w) => w.value.name ?? w.name);
  if (late.length === 0) return;
  const shown = late.slice(0, 3).join(', ') + (late.length > 3 ? `, ... (${late.length} in all)` : '');
  throw new Error(
    `fit(): model '${model.name}' created weights during its first training step that its build did not ` +
      `(${shown}), so they would never be trained; build every sublayer in build() ` +
      `(a Model's createWeights traces one example through call())`,
  );
}

function inputShapeOf(model: Model): readonly number[] {
  return model.inputShape ?? DEFAULT_INPUT_SHAPE;
}

/** K: the model's outputs per example, from one zero example (the width of dense targets). */
function outputsPerExample(model: Model, inputShape: readonly number[]): number {
  return tidy(() => forwardOn(model, zeros([1, ...inputShape])).size);
}

/** The execution options of fit/evaluate/predict options; a precision the backend lacks is refused here. */
function executionOf(options: ExecutionOptions): ExecutionOptions {
  if (options.precision !== undefined) checkPrecision(options.precision);
  return {
    ...(options.compile === undefined ? {} : { compile: options.compile }),
    ...(options.debug ? { debug: options.debug } : {}),
    ...(options.precision === undefined ? {} : { precision: options.precision }),
  };
}

// ---- evaluate / predict ----

/** Options the trainer takes: Model's methods turn the deprecated `normalize` into a layer first. */
type Plain<T> = Omit<T, 'normalize'>;

export async function evaluateModel(
  model: Model,
  x: ImageInput,
  y: LabelInput,
  options: Plain<EvaluateOptions> = {},
): Promise<EvaluateResult> {
  const { loss } = compiledOf(model, 'evaluate');
  const inputShape = inputShapeOf(model);
  const examples = toExamples(x, y, inputShape, 'evaluate');
  if (!model.built) model.buildFor(inputShape);
  const batchSize = options.batchSize ?? EVALUATE_DEFAULTS.batchSize;
  const started = performance.now();
  const result = evaluateExamples(
    model,
    loss,
    examples,
    indexRange(examples.count),
    inputShape,
    batchSize,
    executionOf(options),
  );
  if ((options.verbose ?? 0) > 0) {
    const steps = Math.ceil(examples.count / batchSize);
    const seconds = (performance.now() - started) / 1000;
    (options.output ?? defaultOutput())?.write(`${formatEvaluationLine(result, { steps, seconds })}\n`);
  }
  return result;
}

/** Outputs (N, ...) for images, batched, inference mode. The result belongs to the caller's scope. */
export function predictModel(model: Model, x: ImageInput, options: Plain<PredictOptions> = {}): Tensor {
  const inputShape = inputShapeOf(model);
  const examples = toExamples(x, undefined, inputShape, 'predict');
  const batchSize = options.batchSize ?? EVALUATE_DEFAULTS.batchSize;
  const execution = executionOf(options);
  // (N * row) f32, allocated at the first batch (when the output's shape is known) as backend
  // storage, which no batch's tidy() frees; it becomes the result tensor in the caller's scope.
  let storage: Float32Array | undefined;
  let rowShape: number[] = [0];
  forEachOutputBatch(model, examples, { batchSize, inputShape, execution }, ({ output, start }) => {
    const rows = output.shape[0] ?? 1;
    if (!storage) {
      rowShape = output.shape.slice(1);
      storage = getBackend().alloc('float32', examples.count * (output.size / rows));
    }
    storage.set(output.data, start * (output.size / rows));
  });
  return fromStorage(storage ?? getBackend().alloc('float32', 0), [examples.count, ...rowShape]);
}

// ---- fit ----

interface Streams {
  shuffle: Random;
  dropout: Random;
  augment: Random;
}

function emptyHistory(withValidation: boolean): History {
  const history: History = { epoch: [], history: { loss: [], accuracy: [], lr: [] } };
  if (withValidation) {
    history.history.val_loss = [];
    history.history.val_accuracy = [];
  }
  return history;
}

function runConfig(model: Model, compiled: Compiled, options: Plain<FitOptions>): RunConfig {
  const backend = getBackend();
  const training = {
    optimizer: serializeOptimizer(compiled.optimizer),
    loss: { name: compiled.loss.name, config: compiled.loss.getConfig() },
    metrics: [...(model.compiled?.metrics ?? [])],
  };
  const {
    callbacks: _c,
    onEvent: _e,
    run: _r,
    resume: _resume,
    signal: _s,
    output: _o,
    debug: _d,
    validationData: _v,
    runConfig,
    dataParallel,
    ...plain
  } = options;
  return {
    format: 'mnist-lab/run@1',
    createdAt: new Date().toISOString(),
    model: model.toConfig(),
    inputShape: inputShapeOf(model),
    training: {
      ...training,
      fit: { ...FIT_DEFAULTS, ...plain, validationData: options.validationData !== undefined },
    },
    ...(runConfig ? { runConfig } : {}),
    versions: {
      mnistLab: VERSION,
      backend: backend.name,
      threads: backend.threads,
      runtime: (globalThis as { process?: { version?: string } }).process?.version ?? 'browser',
      ...(dataParallel ? { processes: dataParallel.size } : {}),
    },
  };
}

/**
 * What writes the run's checkpoints: the RunCheckpoints among the caller's callbacks, else one built
 * from run, keepCheckpoints and checkpointEvery (see FitOptions.run and resume); none without a run.
 */
function runCheckpointsOf(options: Plain<FitOptions>): RunCheckpoints | undefined {
  const legacy = options as { runDir?: unknown; resumeFrom?: unknown };
  if (legacy.runDir !== undefined || legacy.resumeFrom !== undefined) {
    throw new Error(
      'fit(): runDir and resumeFrom were replaced by run: pass run: await openRun(dir) ' +
        '(or openRun(dir, {resume: true}) with resume: true) on Node, or any RunStore',
    );
  }
  const given = options.callbacks?.find((c): c is RunCheckpoints => c instanceof RunCheckpoints);
  const checkpoints =
    given ??
    (options.run &&
      new RunCheckpoints({
        store: options.run,
        keep: options.keepCheckpoints ?? FIT_DEFAULTS.keepCheckpoints,
        every: options.checkpointEvery ?? FIT_DEFAULTS.checkpointEvery,
      }));
  if (options.resume && !checkpoints)
    throw new Error('fit(): resume needs the run to continue: pass run too');
  return checkpoints;
}

/**
 * Trains `model` on (x, y); see FitOptions. Returns the history of every epoch run so far in this
 * run (a resumed run's history includes the epochs before the interruption). The run store given is
 * closed when fit ends, whatever the outcome (a run directory's lock is released).
 */
export async function fitModel(
  model: Model,
  x: ImageInput,
  y: LabelInput,
  options: Plain<FitOptions> = {},
): Promise<FitHistory> {
  try {
    return await fitInto(model, x, y, options);
  } finally {
    // Also when fit fails before training starts (bad data, nothing to resume). Closing twice is a no-op.
    await options.run?.close();
  }
}

async function fitInto(model: Model, x: ImageInput, y: LabelInput, options: FitOptions): Promise<FitHistory> {
  const o = { ...FIT_DEFAULTS, ...options };
  const execution = executionOf(o);
  const compiled = compiledOf(model, 'fit');
  const { optimizer, loss } = compiled;
  const inputShape = inputShapeOf(model);
  // Data: training indices, and validation (given, or a seeded stratified split of the training data).
  const examples = toExamples(x, y, inputShape, 'fit');
  // Examples per optimizer step (stepExamples): accumulateSteps micro-batches of batchSize.
  const { stepsPerEpoch, stepExamples, trainExamples } = fitPlan(examples.count, o);
  let trainIndices = indexRange(examples.count);
  let validation: { examples: Examples; indices: Int32Array } | undefined;
  if (o.validationData) {
    const [vx, vy] = o.validationData;
    const v = toExamples(vx, vy, inputShape, 'fit validationData');
    validation = { examples: v, indices: indexRange(v.count) };
  } else if (o.validationSplit !== undefined && o.validationSplit > 0) {
    if (examples.targetWidth > 0)
      throw new Error('fit(): validationSplit needs class-index labels (it stratifies by class)');
    const split = validationSplit(
      { images: new Uint8Array(0), labels: Uint8Array.from(examples.labels), count: examples.count },
      { fraction: o.validationSplit, seed: o.seed },
    );
    trainIndices = split.trainIndices;
    validation = { examples, indices: split.validationIndices };
  }
  // The plan counted what the split and the limit leave: the first trainExamples of these indices.
  trainIndices = trainIndices.subarray(0, trainExamples);
  if (stepsPerEpoch < 1) throw new Error('fit(): no training examples');

  if (!model.built) model.buildFor(inputShape, new Random(o.seed, STREAM.init));
  const params = model.trainableWeights.map((w) => w.value);
  // Checked after the first step: a weight created by it was not given to the optimizer.
  let builtWeights: ReadonlySet<Tensor> | undefined = new Set(model.weights.map((w) => w.value));
  const outputs = outputsPerExample(model, inputShape);
  const streams: Streams = {
    shuffle: new Random(o.seed, STREAM.shuffle),
    dropout: new Random(o.seed, STREAM.dropout),
    augment: new Random(o.seed, STREAM.augment),
  };
  const augmentOptions = o.augment === true ? {} : o.augment === false ? undefined : o.augment;
  // The model's input Normalization, applied by the batch pipeline for u8 pixels.
  const normalizedBy = foldedNormalization(model, examples);

  // Resume: weights, optimizer, generators, position and history from the latest checkpoint.
  const checkpoints = runCheckpointsOf(options);
  const store = options.run;
  let history = emptyHistory(validation !== undefined);
  let epoch = o.initialEpoch;
  let batchInEpoch = 0;
  // Global step: continues across fit() calls on one compiled model, as the optimizer does.
  let step = optimizer.iterations;
  let progress = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
  // What the callbacks kept at the checkpoint (ModelCheckpoint's best), given back after trainBegin.
  let resumedCallbacks: TrainState['callbacks'];
  if (options.resume && checkpoints) {
    const checkpoint = await checkpoints.restore();
    const location = checkpoints.store.location;
    loadModelWeights(model, checkpoint.model, `${location} model.safetensors`);
    restoreOptimizer(optimizer, checkpoint.optimizer, params, `${location} optimizer.safetensors`);
    const state = checkpoint.state;
    streams.shuffle = Random.fromState(state.shuffleRandom);
    streams.dropout = Random.fromState(state.dropoutRandom);
    if (state.augmentRandom) streams.augment = Random.fromState(state.augmentRandom);
    ({ epoch, batchInEpoch, step, history } = state);
    progress = { ...state.epochProgress };
    resumedCallbacks = state.callbacks;
  } else if (store) {
    await store.writeConfig(runConfig(model, compiled, options));
  }

  // After a resume: the step binds the generator it draws dropout masks from.
  // Accumulating steps run eagerly (one capture per micro-batch loop is not planned yet).
  // Data-parallel steps run eagerly too (the all-reduce between backward and update is not planned).
  const captured =
    o.accumulateSteps > 1 || o.dataParallel
      ? undefined
      : capturedTrainStep(
          { model, loss, optimizer, params, random: streams.dropout, normalizedBy },
          execution,
        );
  const context = new TrainingContext(model, optimizer);
  const signal = o.dataParallel ? o.dataParallel.agreedSignal(options.signal) : options.signal;
  // User callbacks first, the progress bar last (Keras order): it prints what they changed.
  const callbacks: Callback[] = [...(o.callbacks ?? [])];
  if (checkpoints && !callbacks.includes(checkpoints)) callbacks.push(checkpoints);
  if (o.verbose > 0) {
    // verbose 1: a live bar on a TTY, else a line per ~10% of an epoch; verbose 2: epoch lines only.
    callbacks.push(
      new ProgressBar({
        ...(o.verbose === 2 ? { display: 'epochs' as const } : {}),
        ...(o.output ? { stream: o.output } : {}),
      }),
    );
  }
  const sinks: EventSink[] = [];
  if (options.onEvent) sinks.push(options.onEvent);
  if (store) sinks.push((event) => (event.type === 'batchBegin' ? undefined : store.appendEvent(event)));
  const list = new CallbackList(callbacks, sinks);
  list.setContext(context);

  // What a checkpoint taken now holds besides weights and optimizer: `at` is the position to resume
  // from and that epoch's shuffle generator as of its start (it regenerates the epoch's order).
  type Position = Pick<TrainState, 'epoch' | 'batchInEpoch' | 'shuffleRandom'>;
  const trainState = (at: Position): TrainState => ({
    format: 'mnist-lab/train-state@1',
    ...at,
    step,
    dropoutRandom: streams.dropout.state(),
    ...(augmentOptions ? { augmentRandom: streams.augment.state() } : {}),
    epochProgress: { ...progress },
    history,
  });

  try {
    const trainStart = performance.now();
    await list.emit({
      type: 'trainBegin',
      epochs: o.epochs,
      initialEpoch: epoch,
      stepsPerEpoch,
      batchSize: stepExamples,
      samples: trainIndices.length,
      validationSamples: validation?.indices.length ?? 0,
      step,
    });
    if (resumedCallbacks) list.restoreStates(resumedCallbacks);
    let interrupted = false;
    let lastTurn = performance.now();
    for (; epoch < o.epochs && !context.stopTraining; epoch++) {
      const shuffleAtEpochStart = streams.shuffle.state();
      const order = o.shuffle ? streams.shuffle.shuffle(trainIndices.slice()) : trainIndices;
      const epochStart = performance.now() - progress.seconds * 1000;
      await list.emit({ type: 'epochBegin', epoch, lr: optimizer.currentLearningRate() });
      for (; batchInEpoch < stepsPerEpoch; batchInEpoch++) {
        // What aborts the signal (a SIGINT handler, a timer, a message) runs as a task of its own:
        // give it a turn, at most every SIGNAL_TURN_MS (a process writing no run files never would).
        if (signal && performance.now() - lastTurn >= SIGNAL_TURN_MS) {
          await nextTask();
          lastTurn = performance.now();
        }
        if (signal?.aborted) {
          context.stop('interrupted', 'interrupted');
          interrupted = true;
          break;
        }
        const indices = order.subarray(
          batchInEpoch * stepExamples,
          Math.min((batchInEpoch + 1) * stepExamples, order.length),
        );
        const size = indices.length;
        await list.emit({ type: 'batchBegin', epoch, batch: batchInEpoch, step, size });
        const stepInput: StepInput = {
          model,
          loss,
          optimizer,
          params,
          examples,
          indices,
          inputShape,
          outputs,
          normalizedBy,
          random: streams.dropout,
          augment: augmentOptions && { random: streams.augment, options: augmentOptions },
          captured,
          precision: execution.precision,
          microBatchSize: o.batchSize,
        };
        // Data-parallel: this process's share of the batch, gradients averaged over processes.
        const result = o.dataParallel
          ? o.dataParallel.step(stepInput, trainStep, step)
          : trainStep(stepInput);
        if (builtWeights) {
          refuseLateWeights(model, builtWeights);
          builtWeights = undefined;
        }
        progress.lossSum += result.loss * size;
        progress.correct += result.correct;
        progress.seen += size;
        const seconds = (performance.now() - epochStart) / 1000;
        await list.emit({
          type: 'batchEnd',
          epoch,
          batch: batchInEpoch,
          step,
          size,
          loss: progress.lossSum / progress.seen,
          accuracy: progress.correct / progress.seen,
          batchLoss: result.loss,
          finite: result.finite,
          imagesPerSecond: progress.seen / Math.max(seconds, 1e-9),
        });
        step++;
        if (context.stopTraining) {
          batchInEpoch++;
          break;
        }
      }
      if (interrupted) {
        // Mid-epoch: the epoch's order is regenerated from its start-of-epoch generator.
        progress.seconds = (performance.now() - epochStart) / 1000;
        await list.savePoint(
          'interrupted',
          trainState({ epoch, batchInEpoch, shuffleRandom: shuffleAtEpochStart }),
        );
        break;
      }
      const val = validation
        ? evaluateExamples(
            model,
            loss,
            validation.examples,
            validation.indices,
            inputShape,
            o.batchSize,
            execution,
          )
        : undefined;
      const trainLoss = progress.lossSum / Math.max(progress.seen, 1);
      const trainAccuracy = progress.correct / Math.max(progress.seen, 1);
      const lr = optimizer.currentLearningRate();
      history.epoch.push(epoch);
      history.history.loss.push(trainLoss);
      history.history.accuracy.push(trainAccuracy);
      history.history.lr.push(lr);
      if (val) {
        history.history.val_loss?.push(val.loss);
        history.history.val_accuracy?.push(val.accuracy);
      }
      await list.emit({
        type: 'epochEnd',
        epoch,
        step,
        loss: trainLoss,
        accuracy: trainAccuracy,
        ...(val ? { valLoss: val.loss, valAccuracy: val.accuracy } : {}),
        lr,
        seconds: (performance.now() - epochStart) / 1000,
      });
      batchInEpoch = 0;
      progress = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
      // Between epochs: the next epoch, its shuffle generator as of its start.
      await list.savePoint(
        'epochEnd',
        trainState({ epoch: epoch + 1, batchInEpoch: 0, shuffleRandom: streams.shuffle.state() }),
      );
    }
    await list.emit({
      type: 'trainEnd',
      epoch,
      step,
      stopped: context.stopTraining,
      ...(context.stopMessage !== undefined ? { stopReason: context.stopMessage } : {}),
      seconds: (performance.now() - trainStart) / 1000,
    });
  } finally {
    // Logs are closed even when a write or a callback fails.
    await store?.close();
  }
  // A new object: the history the checkpoints hold stays as saved.
  return {
    ...history,
    stopReason: context.stopReason ?? 'completed',
    ...(context.stopMessage !== undefined ? { stopMessage: context.stopMessage } : {}),
  };
}
