// Examples and batches: user inputs as flat arrays, and per-step batch tensors built from them.
// Browser-safe. Letters: N examples, B batch, F features per example (prod(inputShape)), K outputs.
import { getBackend } from '../backend/registry.js';
import { fromStorage } from '../tensor/ops/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { gatherBatch, type GatherOptions } from '../data/batch.js';
import type { Normalization } from '../nn/layers/normalization.js';
import type { Model } from './model.js';
import type { ImageInput, LabelInput } from './types.js';

/** Inputs as flat arrays, read per batch. */
export interface Examples {
  count: number; // N
  /** (N, F): raw pixels (u8) or ready values (f32/f64). */
  images: Uint8Array | Float32Array | Float64Array;
  /** (N) class indices, or (N, K) float targets when `targetWidth` > 0. */
  labels: Int32Array | Float32Array | Float64Array;
  targetWidth: number;
}

export function featureCount(inputShape: readonly number[]): number {
  return inputShape.reduce((a, b) => a * b, 1);
}

/** N: the examples in an input of `inputShape` (a tensor's first dimension; a flat array's whole rows). */
export function exampleCount(x: ImageInput, inputShape: readonly number[]): number {
  if (x instanceof Tensor) return x.shape[0] ?? 0;
  return Math.floor(x.length / featureCount(inputShape));
}

/** 0, 1, ..., n - 1: every example's index, in order. */
export function indexRange(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

export function toExamples(
  x: ImageInput,
  y: LabelInput | undefined,
  inputShape: readonly number[],
  what: string,
): Examples {
  const features = featureCount(inputShape);
  let images: Examples['images'];
  if (x instanceof Tensor) {
    if (x.dtype === 'int32') throw new Error(`${what}: image tensor must be float, found int32`);
    images = x.data as Float32Array | Float64Array;
  } else images = x;
  if (images.length % features !== 0) {
    throw new Error(
      `${what}: ${images.length} image values are not a whole number of examples of ` +
        `[${inputShape.join(', ')}] (${features} values each)`,
    );
  }
  const count = images.length / features;
  let labels: Examples['labels'] = new Int32Array(0);
  let targetWidth = 0;
  if (y !== undefined) {
    if (y instanceof Tensor) {
      if (y.dtype === 'int32' || y.rank === 1) labels = Int32Array.from(y.data);
      else {
        labels = y.data as Float32Array | Float64Array;
        targetWidth = y.size / Math.max(1, y.shape[0] ?? 1);
      }
    } else labels = y instanceof Int32Array ? y : Int32Array.from(y);
    const labelCount = targetWidth > 0 ? labels.length / targetWidth : labels.length;
    if (labelCount !== count) throw new Error(`${what}: ${count} images but ${labelCount} labels`);
  }
  return { count, images, labels, targetWidth };
}

/**
 * The model's leading Normalization when its batches can fold it in: u8 pixels, whose batch values
 * the pipeline standardises with the layer's own arithmetic (bit for bit), so the layer is passed
 * through (CallContext.normalizedBy) instead of run. Float inputs go through the layer.
 */
export function foldedNormalization(model: Model, examples: Examples): Normalization | undefined {
  return examples.images instanceof Uint8Array ? model.inputNormalization : undefined;
}

/**
 * (B, ...inputShape) f32 batch of the examples at `indices`, built by the one batch pipeline
 * (data/batch.ts) into backend storage: u8 pixels become pixel / 255 (standardised with
 * `normalization`, warped first with `augment`); float rows are used as they are.
 */
export function imageBatch(
  examples: Examples,
  indices: ArrayLike<number>,
  inputShape: readonly number[],
  options: GatherOptions = {},
): Tensor {
  const features = featureCount(inputShape);
  const out = getBackend().alloc('float32', indices.length * features);
  gatherBatch(examples.images, indices, features, out, options);
  return fromStorage(out, [indices.length, ...inputShape]);
}

/**
 * Targets for the loss: int32 class indices (B) for sparse losses; otherwise float (B, K), one-hot
 * from class indices (or the index itself when K = 1: binary labels), or the given float rows.
 */
export function labelBatch(
  examples: Examples,
  indices: ArrayLike<number>,
  sparse: boolean,
  outputs: number,
): Tensor {
  const batch = indices.length;
  const backend = getBackend();
  if (sparse && examples.targetWidth === 0) {
    const out = backend.alloc('int32', batch);
    for (let b = 0; b < batch; b++) out[b] = examples.labels[indices[b] as number] as number;
    return fromStorage(out, [batch]);
  }
  const out = backend.alloc('float32', batch * outputs);
  if (examples.targetWidth > 0) {
    if (examples.targetWidth !== outputs) {
      throw new Error(
        `targets have ${examples.targetWidth} values per example, the model outputs ${outputs}`,
      );
    }
    for (let b = 0; b < batch; b++) {
      const from = (indices[b] as number) * outputs;
      out.set(examples.labels.subarray(from, from + outputs), b * outputs);
    }
  } else if (outputs === 1) {
    for (let b = 0; b < batch; b++) out[b] = examples.labels[indices[b] as number] as number;
  } else {
    out.fill(0);
    for (let b = 0; b < batch; b++) out[b * outputs + (examples.labels[indices[b] as number] as number)] = 1;
  }
  return fromStorage(out, [batch, outputs]);
}

/** Correct predictions in a batch: argmax of output (B, K) against the class (or > 0.5 when K = 1). */
export function countCorrect(output: Tensor, examples: Examples, indices: ArrayLike<number>): number {
  const values = output.data;
  const batch = indices.length;
  const outputs = output.size / batch;
  const width = examples.targetWidth;
  let correct = 0;
  for (let b = 0; b < batch; b++) {
    const index = indices[b] as number;
    if (outputs === 1) {
      if ((values[b] as number) > 0.5 === (examples.labels[index] as number) > 0.5) correct++;
      continue;
    }
    const predicted = argmaxRow(values, b * outputs, outputs);
    const target = width > 0 ? argmaxRow(examples.labels, index * width, width) : examples.labels[index];
    if (predicted === target) correct++;
  }
  return correct;
}

function argmaxRow(values: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  for (let k = 1; k < length; k++)
    if ((values[offset + k] as number) > (values[offset + best] as number)) best = k;
  return best;
}
