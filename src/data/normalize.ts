// Input normalisation of u8 pixels into float32: the one type, and the one arithmetic every batch
// uses (fit, evaluate, predict, the feature cache, the DataLoader). Pure.
//
// A model's input is x = pixel / 255 in [0, 1]; standardisation maps it to (x - mean) / std.
// NOTE: the arithmetic is float32 step by step, exactly what the Normalization layer computes with
// tensor ops (x rounded to f32, then an f32 subtraction of f32(mean) and an f32 division by
// f32(std)), so a batch standardised here is bit-identical to the layer applied to x / 255 on every
// backend (test/data/batch.test.ts checks js and native). That is what lets a batch fold in a
// model's leading Normalization layer without changing a bit.

import { MNIST_MEAN, MNIST_STD } from './registry.js';

/** Standardisation of x = pixel / 255: (x - mean) / std. Absent: the values are x itself. */
export interface InputNormalization {
  readonly mean: number;
  readonly std: number;
}

/** Standardisation with the given training-set statistics (MNIST's by default: 0.1307, 0.3081). */
export function standardize(mean: number = MNIST_MEAN, std: number = MNIST_STD): InputNormalization {
  checkNormalization({ mean, std }, 'standardize');
  return { mean, std };
}

/** Throws unless `n` has a finite mean and a positive, finite standard deviation. */
export function checkNormalization(n: InputNormalization, what: string): void {
  if (!Number.isFinite(n.mean) || !(n.std > 0 && Number.isFinite(n.std))) {
    throw new RangeError(
      `${what}: expected a finite mean and a positive standard deviation, found mean ${n.mean}, std ${n.std}`,
    );
  }
}

/**
 * The value a pixel level in [0, 255] becomes (a u8 pixel, or a warped level that is not a whole
 * number): f32(level / 255), standardised in float32 when `normalization` is given.
 */
export function normalizedLevel(level: number, normalization?: InputNormalization): number {
  const x = Math.fround(level / 255);
  if (!normalization) return x;
  return Math.fround(Math.fround(x - Math.fround(normalization.mean)) / Math.fround(normalization.std));
}

let cachedTable: { mean: number; std: number; values: Float32Array } | undefined;

/** (256) normalizedLevel of every u8 pixel: a batch is a lookup per pixel instead of arithmetic. */
export function levelTable(normalization?: InputNormalization): Float32Array {
  const mean = normalization?.mean ?? NaN; // NaN: no standardisation (never equal to a cached mean)
  const std = normalization?.std ?? NaN;
  const c = cachedTable;
  if (c && Object.is(c.mean, mean) && Object.is(c.std, std)) return c.values;
  const values = new Float32Array(256);
  for (let p = 0; p < 256; p++) values[p] = normalizedLevel(p, normalization);
  cachedTable = { mean, std, values };
  return values;
}

/** Mean and standard deviation of all pixels scaled to [0, 1] (e.g. of a training set). */
export function pixelStatistics(images: Uint8Array): InputNormalization {
  const histogram = new Float64Array(256);
  for (const pixel of images) histogram[pixel] += 1;
  let sum = 0;
  let sumOfSquares = 0;
  histogram.forEach((count, pixel) => {
    const value = pixel / 255;
    sum += count * value;
    sumOfSquares += count * value * value;
  });
  const mean = sum / images.length;
  return { mean, std: Math.sqrt(Math.max(0, sumOfSquares / images.length - mean * mean)) };
}

/** Normalises u8 images (N, 28, 28) into float32 (N, 28, 28, 1) NHWC, as every batch does. */
export function normalizeImages(images: Uint8Array, normalization?: InputNormalization): Float32Array {
  const table = levelTable(normalization);
  const out = new Float32Array(images.length);
  for (let i = 0; i < out.length; i++) out[i] = table[images[i] as number] as number;
  return out;
}
