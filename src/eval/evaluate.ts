// evaluateClassifier(): a model run over a labelled image set batch by batch (the one batched
// inference loop, train/inference.ts), every batch's outputs folded into an EvaluationAccumulator
// and released. Browser-safe (no Node modules).
//
// Letters: N examples, B batch, K classes.
import { toExamples } from '../train/batches.js';
import { DEFAULT_INPUT_SHAPE } from '../train/checkpoint.js';
import { forEachOutputBatch } from '../train/inference.js';
import { withInputNormalization, type Model } from '../train/model.js';
import type { InputNormalization } from '../data/normalize.js';
import type { ExecutionOptions } from '../train/types.js';
import { EvaluationAccumulator, type EvaluationSummary, type OutputKind } from './accumulator.js';

/** A labelled set: images (N, 28, 28) u8 (or any per-example size the model takes), labels (N). */
export interface LabelledImages {
  images: Uint8Array | Float32Array;
  labels: Uint8Array | Int32Array;
  count: number;
}

export interface EvaluateClassifierOptions extends ExecutionOptions {
  /** (K) class names; default the indices. */
  classNames?: readonly string[];
  /** Examples per forward pass. Default 500. */
  batchSize?: number;
  /**
   * @deprecated models carry their input normalisation (a leading Normalization layer; loadModel
   * restores an old run's); see FitOptions.normalize.
   */
  normalize?: InputNormalization;
  /** Default 'auto' (see AccumulatorOptions.outputs). */
  outputs?: OutputKind;
  calibrationBins?: number;
  keepWorst?: number;
  mostConfusedCount?: number;
  /** Called after each batch with the examples done so far. */
  onProgress?: (done: number, total: number) => void;
}

export const EVALUATE_CLASSIFIER_DEFAULTS = { batchSize: 500 } as const;

export interface ClassifierEvaluation extends EvaluationSummary {
  seconds: number;
  imagesPerSecond: number;
}

export function evaluateClassifier(
  model: Model,
  set: LabelledImages,
  options: EvaluateClassifierOptions = {},
): ClassifierEvaluation {
  if (set.count === 0 || set.images.length % set.count !== 0 || set.labels.length !== set.count) {
    throw new Error(
      `evaluateClassifier: expected a non-empty set with ${set.count} labels and a whole number of pixels per image, ` +
        `found ${set.labels.length} labels and ${set.images.length} pixels`,
    );
  }
  const batchSize = options.batchSize ?? EVALUATE_CLASSIFIER_DEFAULTS.batchSize;
  const target = options.normalize ? withInputNormalization(model, options.normalize) : model;
  const inputShape = target.inputShape ?? DEFAULT_INPUT_SHAPE;
  const examples = toExamples(set.images, undefined, inputShape, 'evaluateClassifier');
  const execution = {
    ...(options.compile === undefined ? {} : { compile: options.compile }),
    ...(options.debug ? { debug: options.debug } : {}),
    ...(options.precision ? { precision: options.precision } : {}),
  };
  const started = performance.now();
  let accumulator: EvaluationAccumulator | undefined;
  forEachOutputBatch(target, examples, { batchSize, inputShape, execution }, ({ output, start }) => {
    const classCount = output.shape[1] ?? 0; // output (B, K) f32
    accumulator ??= new EvaluationAccumulator({
      classCount,
      ...(options.classNames ? { classNames: options.classNames } : {}),
      ...(options.outputs ? { outputs: options.outputs } : {}),
      ...(options.calibrationBins ? { calibrationBins: options.calibrationBins } : {}),
      ...(options.keepWorst !== undefined ? { keepWorst: options.keepWorst } : {}),
      ...(options.mostConfusedCount !== undefined ? { mostConfusedCount: options.mostConfusedCount } : {}),
    });
    if (output.shape.length !== 2 || classCount !== accumulator.classCount) {
      throw new Error(
        `evaluateClassifier: expected model outputs (B, ${accumulator.classCount}), found [${output.shape.join(', ')}]`,
      );
    }
    const end = start + (output.shape[0] ?? 0);
    accumulator.update(output.data, set.labels.subarray(start, end));
    options.onProgress?.(end, set.count);
  });
  const seconds = (performance.now() - started) / 1000;
  const summary = (accumulator as EvaluationAccumulator).summary();
  return { ...summary, seconds, imagesPerSecond: seconds > 0 ? set.count / seconds : 0 };
}
