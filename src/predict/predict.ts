// Class probabilities for preprocessed images: the model's outputs (logits, or probabilities when a
// softmax ends the model) turned into per-image predictions with the top classes. Browser-safe.
//
// Letters: N images, K classes.
import { tidy } from '../tensor/tensor.js';
import type { Model } from '../train/model.js';
import type { InputNormalization } from '../data/normalize.js';

export interface ClassProbability {
  label: number;
  name: string;
  probability: number;
}

export interface Prediction {
  /** The most probable class. */
  label: number;
  name: string;
  /** (K) probabilities, summing to 1. */
  probabilities: number[];
  /** The `topK` most probable classes, most probable first. */
  top: ClassProbability[];
}

export interface PredictDigitsOptions {
  /** (K) class names; default the indices. */
  classNames?: readonly string[];
  /**
   * @deprecated models carry their input normalisation (a leading Normalization layer; loadModel
   * restores an old run's); see FitOptions.normalize.
   */
  normalize?: InputNormalization;
  /** Classes listed in `top`. Default 3. */
  topK?: number;
  /** Default 256. */
  batchSize?: number;
}

/** Softmax of each row unless the rows already are probabilities (non-negative, summing to 1). */
export function toProbabilities(outputs: ArrayLike<number>, classCount: number): Float64Array {
  const rows = outputs.length / classCount;
  const out = new Float64Array(outputs.length); // (N, K)
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    let nonNegative = true;
    let max = -Infinity;
    for (let j = 0; j < classCount; j++) {
      const v = outputs[i * classCount + j] as number;
      sum += v;
      max = Math.max(max, v);
      if (v < 0) nonNegative = false;
    }
    if (nonNegative && Math.abs(sum - 1) < 1e-3) {
      for (let j = 0; j < classCount; j++)
        out[i * classCount + j] = (outputs[i * classCount + j] as number) / sum;
      continue;
    }
    let total = 0;
    for (let j = 0; j < classCount; j++) {
      total += out[i * classCount + j] = Math.exp((outputs[i * classCount + j] as number) - max);
    }
    for (let j = 0; j < classCount; j++)
      out[i * classCount + j] = (out[i * classCount + j] as number) / total;
  }
  return out;
}

/** Predictions for N (28, 28) u8 images, e.g. from preprocessDigit(). */
export function predictDigits(
  model: Model,
  images: Uint8Array,
  options: PredictDigitsOptions = {},
): Prediction[] {
  const outputs = tidy(() => {
    const tensor = model.predict(images, {
      batchSize: options.batchSize ?? 256,
      ...(options.normalize ? { normalize: options.normalize } : {}),
    }); // (N, K)
    return { shape: tensor.shape.slice(), values: Float32Array.from(tensor.data) };
  });
  const [count, classCount] = outputs.shape as [number, number];
  if (options.classNames && options.classNames.length !== classCount) {
    throw new Error(
      `predictDigits: the model has ${classCount} outputs but ${options.classNames.length} class names were given`,
    );
  }
  const nameOf = (k: number): string => options.classNames?.[k] ?? String(k);
  const probabilities = toProbabilities(outputs.values, classCount);
  const predictions: Prediction[] = [];
  for (let i = 0; i < count; i++) {
    const row = Array.from(probabilities.subarray(i * classCount, (i + 1) * classCount));
    const order = row.map((_, k) => k).sort((a, b) => (row[b] as number) - (row[a] as number) || a - b);
    const best = order[0] as number;
    predictions.push({
      label: best,
      name: nameOf(best),
      probabilities: row,
      top: order
        .slice(0, options.topK ?? 3)
        .map((k) => ({ label: k, name: nameOf(k), probability: row[k] as number })),
    });
  }
  return predictions;
}
