// Frozen-feature caching: when a Sequential model's first layers are all frozen and deterministic
// in training (no dropout, no augmentation before them), their outputs do not change from epoch to
// epoch. fitWithFeatureCache() computes them ONCE in inference mode (a frozen batch norm runs in
// inference mode in training too, Keras semantics) and trains only the remaining layers on the
// cached features: the same steps, the same shuffles and dropout masks (those layers draw from the
// same seeded streams), up to float rounding, at the cost of the head alone.
//
// The run directory stays the full model's: config.json and every checkpoint are written through a
// RunStore wrapper that encodes the whole model (its layers are the head's layers plus the frozen
// prefix, shared objects), so 'mnist-lab evaluate RUN' and --resume see an ordinary run.
//
// Data-parallel (fit's dataParallel, under mpirun): each process computes the features of its share
// of the N examples and one all-reduce gathers them, so every process trains on the same features
// for whichever rows later batches give it. Measured on 2 busy cores, transfer-cnn's frozen convs
// over digits 5-9 (29,404 x 4,608 features, 517 MB): 86-93 s when each process computes all,
// 68-83 s for its half plus the gather (whose time is mostly waiting for the slower process: at
// 0.4 ms per million floats, moving 135M is ~0.05 s). The pass is the work, so sharing it pays, the
// more so with more processes, where computing all on each would not shrink at all.
//
// Letters: N examples, F features per cached example (prod(featureShape)).
import { getBackend } from '../backend/registry.js';
import type { Layer } from '../nn/layer.js';
import { fromStorage } from '../tensor/ops/creation.js';
import { Tensor, dispose } from '../tensor/tensor.js';
import { toExamples } from '../train/batches.js';
import { forEachOutputBatch } from '../train/inference.js';
import { TerminateOnNaN } from '../train/callbacks/terminate-on-nan.js';
import { DEFAULT_INPUT_SHAPE, encodeModel } from '../train/checkpoint.js';
import type { Model } from '../train/model.js';
import { sequential, withInputNormalization } from '../train/model.js';
import type { FitHistory, FitOptions, ImageInput, LabelInput, RunStore } from '../train/types.js';
import type { DataParallel } from '../train/data-parallel.js';

/** Layers whose training-mode output equals their inference-mode output when they are frozen. */
const DETERMINISTIC_WHEN_FROZEN = new Set([
  'Conv2D',
  'Dense',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Reshape',
  'Rescaling',
  'Normalization',
  'Activation',
  'BatchNormalization',
  'LayerNormalization',
]);

/** Cached features above this many bytes are not worth the memory: fit runs uncached. */
export const FEATURE_CACHE_MAX_BYTES = 2 ** 31;

/**
 * How many leading layers of `model` can be cached: the longest prefix of frozen, deterministic
 * layers (no trainable weights), weightless ones included (a pooling layer shrinks the cache).
 * 0 when the model is not Sequential or the prefix holds no weights (nothing to save), and never
 * the whole model (something must train).
 */
export function cacheablePrefix(model: Model): number {
  if (model.className !== 'Sequential') return 0;
  const layers = model.layers;
  let count = 0;
  let withWeights = false;
  for (; count < layers.length - 1; count++) {
    const layer = layers[count] as Layer;
    if (!DETERMINISTIC_WHEN_FROZEN.has(layer.className) || layer.trainableWeights.length > 0) break;
    withWeights ||= layer.weights.length > 0;
  }
  return withWeights ? count : 0;
}

/** Why fit() must see the whole model (options the cached head cannot honour), or undefined. */
function uncacheableBecause(options: FitOptions): string | undefined {
  if (options.augment) return 'augmentation changes the inputs every epoch';
  if (options.resume) return 'a resumed run restores the whole model';
  // TerminateOnNaN reads only batch events, which the cached head's fit sends as the model's would.
  if (options.callbacks?.some((callback) => !(callback instanceof TerminateOnNaN)))
    return 'callbacks see the model';
  return undefined;
}

/** The model's first `count` layers as a model of their own (shared layer objects). */
function prefixModel(model: Model, count: number): Model {
  return sequential({
    name: `${model.name}_frozen_prefix`,
    layers: model.layers.slice(0, count),
    inputShape: [...(model.inputShape ?? DEFAULT_INPUT_SHAPE)],
  });
}

/**
 * The prefix's outputs (N, ...featureShape) f32 for every example, in inference mode, batched;
 * only their size when that is over `maxBytes`. The row shape comes from one example first, so the
 * output is allocated once, outside every batch's tidy(). Data-parallel (`shared`): each process
 * computes its share of the examples and every process gets them all (see the header).
 */
function frozenFeatures(
  prefix: Model,
  x: ImageInput,
  batchSize: number,
  maxBytes = Infinity,
  shared?: DataParallel,
): Tensor | { bytes: number } {
  const inputShape = prefix.inputShape ?? DEFAULT_INPUT_SHAPE;
  const examples = toExamples(x, undefined, inputShape, 'feature cache');
  if (examples.count === 0) return { bytes: 0 };
  let rowShape: number[] = [];
  const probe = { batchSize: 1, inputShape, to: 1, execution: { compile: false } };
  forEachOutputBatch(prefix, examples, probe, ({ output }) => {
    rowShape = output.shape.slice(1);
  });
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const bytes = examples.count * rowSize * 4;
  if (bytes > maxBytes) return { bytes };
  const features = fromStorage(getBackend().alloc('float32', examples.count * rowSize), [
    examples.count,
    ...rowShape,
  ]);
  const [from, to] = shared ? shared.rowsOf(examples.count) : [0, examples.count];
  if (shared) features.data.fill(0); // gatherRows sums: the other processes' rows start as zeros
  forEachOutputBatch(prefix, examples, { batchSize, inputShape, from, to }, ({ output, start }) => {
    features.data.set(output.data, start * rowSize);
  });
  shared?.gatherRows(features.data as Float32Array);
  return features;
}

/** Writes the head's run as the full model's: its config and checkpoints encode `full`. */
function fullModelStore(store: RunStore, full: Model, fitExtras: Record<string, unknown>): RunStore {
  return {
    location: store.location,
    writeConfig: (config) => {
      const training = config['training'] as { fit?: Record<string, unknown> } | undefined;
      return store.writeConfig({
        ...config,
        model: full.toConfig(),
        inputShape: full.inputShape ?? DEFAULT_INPUT_SHAPE,
        training: { ...training, fit: { ...training?.fit, ...fitExtras } },
      });
    },
    appendEvent: (event) => store.appendEvent(event),
    saveCheckpoint: (checkpoint, keep) =>
      store.saveCheckpoint({ ...checkpoint, model: encodeModel(full) }, keep),
    loadLatestCheckpoint: () => store.loadLatestCheckpoint(),
    close: () => store.close(),
  };
}

export interface FeatureCacheOptions {
  /**
   * Batch size of the one inference pass over the frozen prefix. Default: fit's batch size (the
   * backend reuses buffers of sizes it has seen; fresh memory is slow to touch), else 256.
   */
  batchSize?: number;
  /** Called with what was cached (or why not): the CLI prints it. */
  log?: (line: string) => void;
}

/**
 * model.fit(x, y, options), with the frozen prefix's outputs computed once when that is valid
 * (see the header). Falls back to a plain fit() otherwise; the result is the same either way.
 */
export async function fitWithFeatureCache(
  model: Model,
  x: ImageInput,
  y: LabelInput,
  options: FitOptions = {},
  cache: FeatureCacheOptions = {},
): Promise<FitHistory> {
  if (options.normalize) {
    // The deprecated option, as fit() takes it: the model behind a Normalization layer.
    const { normalize, ...rest } = options;
    return fitWithFeatureCache(withInputNormalization(model, normalize), x, y, rest, cache);
  }
  const count = cacheablePrefix(model);
  const reason = count === 0 ? 'no frozen prefix' : uncacheableBecause(options);
  if (reason !== undefined) return model.fit(x, y, options);
  const prefix = prefixModel(model, count);
  const batchSize = cache.batchSize ?? options.batchSize ?? 256;
  // A limit uses the first examples only (a validation split needs every example's features).
  const needed =
    options.validationSplit || x instanceof Tensor || y instanceof Tensor ? undefined : options.limit;
  const inputs = needed !== undefined ? firstExamples(x as Uint8Array | Float32Array, needed, model) : x;
  const computed = frozenFeatures(prefix, inputs, batchSize, FEATURE_CACHE_MAX_BYTES, options.dataParallel);
  if (!(computed instanceof Tensor)) {
    if (computed.bytes === 0) return model.fit(x, y, options); // no examples: fit() says so
    cache.log?.(
      `not caching the frozen layers: ${(computed.bytes / 2 ** 20).toFixed(0)} MB of features is over ` +
        `${FEATURE_CACHE_MAX_BYTES / 2 ** 20} MB`,
    );
    return model.fit(x, y, options);
  }
  const features = computed; // (N, ...featureShape) f32
  const featureShape = features.shape.slice(1);
  const bytes = features.size * 4;
  cache.log?.(
    `caching the frozen layers ${model.layers[0]?.name}..${model.layers[count - 1]?.name}: ` +
      `${features.shape[0]} x [${featureShape.join(', ')}] (${(bytes / 2 ** 20).toFixed(0)} MB)`,
  );
  const head = sequential({
    name: model.name,
    layers: model.layers.slice(count),
    inputShape: featureShape,
  });
  head.built = true;
  // The same CompileConfig object: the same resolved optimizer, whose state continues across fits.
  if (model.compiled) head.compile(model.compiled);
  let validationData: FitOptions['validationData'];
  if (options.validationData) {
    const [vx, vy] = options.validationData;
    const validationFeatures = frozenFeatures(prefix, vx, batchSize, Infinity, options.dataParallel);
    if (!(validationFeatures instanceof Tensor)) {
      // No validation examples: fit() on the whole model reports that as it does without a cache.
      dispose(features);
      return model.fit(x, y, options);
    }
    validationData = [validationFeatures, vy];
  }
  const { run, validationData: _v, ...rest } = options;
  const labels =
    needed !== undefined ? firstLabels(y as Exclude<LabelInput, Tensor>, features.shape[0] ?? 0) : y;
  try {
    return await head.fit(features, labels, {
      ...rest,
      ...(validationData ? { validationData } : {}),
      ...(run !== undefined
        ? {
            run: fullModelStore(run, model, {
              featureCache: { layers: count, featureShape },
            }),
          }
        : {}),
    });
  } finally {
    dispose(features);
    if (validationData) dispose(validationData[0] as Tensor);
  }
}

function firstExamples(x: Uint8Array | Float32Array, count: number, model: Model): ImageInput {
  const perExample = (model.inputShape ?? DEFAULT_INPUT_SHAPE).reduce((a, b) => a * b, 1);
  return x.subarray(0, count * perExample);
}

function firstLabels(y: Exclude<LabelInput, Tensor>, count: number): LabelInput {
  return y instanceof Uint8Array || y instanceof Int32Array ? y.subarray(0, count) : y.slice(0, count);
}
