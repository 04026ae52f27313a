// The trainer's steps as tensor functions, and their captured forms (src/tensor/capture.ts): the
// first steps of a given model, batch shape and backend run eagerly while they are recorded, every
// later one replays the recorded kernels (on the native backend: one addon call per step). The
// step functions are the definitions; capture only changes how often JavaScript runs them.
//
// Letters: B batch, K model outputs.
import type { Loss } from '../losses/loss.js';
import { layerRevision } from '../nn/layer.js';
import type { Normalization } from '../nn/layers/normalization.js';
import type { Optimizer } from '../optim/optimizer.js';
import { gradients } from '../tensor/autograd.js';
import { CapturedStep, runIf } from '../tensor/capture.js';
import { allocate } from '../tensor/dispatch.js';
import { fromStorage } from '../tensor/ops/creation.js';
import { allFinite } from '../tensor/ops/reduce.js';
import { Tensor, noGrad } from '../tensor/tensor.js';
import { Random } from '../util/random.js';
import type { StepSynchronization } from './data-parallel.js';
import type { Model } from './model.js';
import type { ExecutionOptions } from './types.js';

/** What a training step needs besides its batch. */
export interface StepParts {
  model: Model;
  loss: Loss;
  optimizer: Optimizer;
  /** Trainable parameters, in the order the optimizer sees them. */
  params: readonly Tensor[];
  /** Dropout and other forward-pass randomness. */
  random: Random;
  /** The model's leading Normalization, folded into the batch (batches.ts foldedNormalization). */
  normalizedBy?: Normalization | undefined;
  /** Data-parallel training: gradients averaged over processes before the update (data-parallel.ts). */
  sync?: StepSynchronization | undefined;
}

/** A training step's results, as tensors. */
export interface StepTensors extends Record<string, Tensor> {
  /** () mean loss over the batch. */
  loss: Tensor;
  /** (1) int32: 1 when the loss and every gradient were finite (the update ran), else 0. */
  finite: Tensor;
  /** (B, K) the model's outputs. */
  output: Tensor;
}

/**
 * One optimizer step on a batch: forward, loss, gradients, and the update, which is skipped when
 * the loss or a gradient is not finite (the weights stay the last good ones).
 */
export function stepOn(x: Tensor, y: Tensor, parts: StepParts): StepTensors {
  const context = {
    training: true,
    random: parts.random,
    normalizedBy: parts.normalizedBy,
    crossReplica: parts.sync?.crossReplica,
    batchShare: parts.sync?.batchShare,
  };
  const output = parts.model.apply(x, context); // (B, K)
  const loss = parts.loss.compute(y, output); // ()
  const grads = gradients(loss, parts.params);
  parts.sync?.gradients(grads, loss);
  const finite = allFinite([loss, ...grads]);
  runIf(finite, () => parts.optimizer.applyGradients(parts.params, grads));
  return { loss, finite, output };
}

/** The captured training step of one fit(): inputs [x (B, ...), y (B) or (B, K)]. */
export function capturedTrainStep(
  parts: StepParts,
  options: ExecutionOptions,
): CapturedStep<StepTensors> | undefined {
  if (options.compile === false) return undefined;
  return new CapturedStep(([x, y]) => stepOn(x as Tensor, y as Tensor, parts), {
    name: 'train step',
    debug: options.debug,
    // The generator and the weights the plan reads (a plan binds their storage), and which of
    // them train (a callback freezing a layer changes the gradients a step computes).
    dependencies: () => [
      parts.random,
      layerRevision(),
      ...parts.model.weights.flatMap((w) => [w.value.data, w.value.requiresGrad]),
    ],
  });
}

/** How inference runs: ExecutionOptions, and the Normalization the batches already applied. */
export interface InferenceOptions extends ExecutionOptions {
  /** The model's leading Normalization, folded into the batch (batches.ts foldedNormalization). */
  normalizedBy?: Normalization | undefined;
}

const inferenceRandom = new Random(0);

/** Inference on a batch (B, ...inputShape) -> (B, K), no gradients. */
export function forwardOn(model: Model, x: Tensor, normalizedBy?: Normalization): Tensor {
  return noGrad(() => model.apply(x, { training: false, random: inferenceRandom, normalizedBy }));
}

interface InferenceSteps {
  forward: CapturedStep<{ output: Tensor }>;
  withLoss: Map<Loss, CapturedStep<{ output: Tensor; loss: Tensor }>>;
}

/** Per model, per folded Normalization (none for float inputs): the two record different kernels. */
const inferenceSteps = new WeakMap<Model, Map<Normalization | undefined, InferenceSteps>>();

function stepsOf(model: Model, options: InferenceOptions): InferenceSteps {
  const { normalizedBy } = options;
  let byNormalization = inferenceSteps.get(model);
  if (!byNormalization) {
    byNormalization = new Map();
    inferenceSteps.set(model, byNormalization);
  }
  let steps = byNormalization.get(normalizedBy);
  if (!steps) {
    steps = {
      forward: new CapturedStep(([x]) => ({ output: forwardOn(model, x as Tensor, normalizedBy) }), {
        name: 'predict',
        debug: options.debug,
        dependencies: () => [layerRevision(), ...model.weights.map((w) => w.value.data)],
      }),
      withLoss: new Map(),
    };
    byNormalization.set(normalizedBy, steps);
  }
  return steps;
}

/** One pass of a batched loop: rows [first, end) are run, rows [start, end) of them are new. */
export interface Pass {
  first: number;
  start: number;
  end: number;
}

/**
 * The passes of `size` rows covering rows [from, to), in order; the last holds the rest.
 * NOTE: with `sameShape`, a short last pass is run as the last `size` rows instead (rows the pass
 * before computed are computed again, to the same values, and only its new rows count): every pass
 * then has one shape, so a captured step replays one plan and a backend that builds kernels per
 * shape (oneDNN primitives, captured or not) builds none for the tail.
 */
export function batchPasses(from: number, to: number, size: number, sameShape: boolean): Pass[] {
  const passes: Pass[] = [];
  for (let start = from; start < to; start += size) {
    const end = Math.min(start + size, to);
    passes.push({ first: sameShape ? Math.max(from, end - size) : start, start, end });
  }
  return passes;
}

/**
 * Inference runs in chunks of at most this many examples: a chunk's activations stay in cache
 * (cnn on 2 cores: 44,000 images/s at batch 1000, 62,000 in chunks of 128).
 */
export const INFERENCE_CHUNK = 128;

/**
 * model(x) in inference mode, captured per model and batch shape unless options.compile is false.
 * x (B, ...) -> (B, K), in chunks of INFERENCE_CHUNK of one shape (batchPasses).
 */
export function inferBatch(model: Model, x: Tensor, options: InferenceOptions = {}): Tensor {
  const forward = (batch: Tensor): Tensor =>
    options.compile === false
      ? forwardOn(model, batch, options.normalizedBy)
      : stepsOf(model, options).forward.run([batch]).output;
  const count = x.shape[0] ?? 0;
  if (count <= INFERENCE_CHUNK) return forward(x);
  const rowSize = x.size / count;
  const rowShape = x.shape.slice(1);
  let out: Tensor | undefined; // (B, ...outputShape)
  for (const { first, start, end } of batchPasses(0, count, INFERENCE_CHUNK, true)) {
    const chunk = new Tensor(
      x.data.subarray(first * rowSize, end * rowSize),
      [INFERENCE_CHUNK, ...rowShape],
      false,
    );
    const y = forward(chunk);
    const outRow = y.size / INFERENCE_CHUNK;
    out ??= fromStorage(allocate('float32', count * outRow), [count, ...y.shape.slice(1)]);
    out.data.set(y.data.subarray((start - first) * outRow), start * outRow);
  }
  return out as Tensor;
}

/** model(x) and its loss against y in inference mode (evaluation), captured likewise. */
export function evaluateBatch(
  model: Model,
  loss: Loss,
  x: Tensor,
  y: Tensor,
  options: InferenceOptions = {},
): { output: Tensor; loss: Tensor } {
  const { normalizedBy } = options;
  if (options.compile === false) {
    const output = forwardOn(model, x, normalizedBy);
    return { output, loss: noGrad(() => loss.compute(y, output)) };
  }
  const steps = stepsOf(model, options);
  let step = steps.withLoss.get(loss);
  if (!step) {
    step = new CapturedStep(
      ([bx, by]) => {
        const output = forwardOn(model, bx as Tensor, normalizedBy);
        return { output, loss: noGrad(() => loss.compute(by as Tensor, output)) };
      },
      {
        name: 'evaluate',
        debug: options.debug,
        dependencies: () => [layerRevision(), ...model.weights.map((w) => w.value.data)],
      },
    );
    steps.withLoss.set(loss, step);
  }
  return step.run([x, y]);
}
