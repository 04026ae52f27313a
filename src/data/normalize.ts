// Per-batch normalisation of uint8 pixels into float32. Pure.
//
// Both normalisations are affine in the raw pixel value p in [0, 255]:
//   scale:       p / 255                      -> [0, 1]
//   standardize: (p / 255 - mean) / std       -> zero mean, unit variance for the given statistics

import { MNIST_MEAN, MNIST_STD } from './registry.js';

export type Normalization = { kind: 'scale' } | { kind: 'standardize'; mean: number; std: number };

/** Pixels scaled to [0, 1]: the loader's default. */
export const SCALE_TO_UNIT: Normalization = { kind: 'scale' };

/** Standardisation with the given training-set statistics (MNIST's by default: 0.1307, 0.3081). */
export function standardize(mean: number = MNIST_MEAN, std: number = MNIST_STD): Normalization {
  if (!(std > 0)) throw new RangeError(`standardize: expected a positive standard deviation, found ${std}`);
  return { kind: 'standardize', mean, std };
}

/** The affine map value = raw * multiply + add for a normalisation. */
export function normalizationCoefficients(normalization: Normalization): { multiply: number; add: number } {
  if (normalization.kind === 'scale') return { multiply: 1 / 255, add: 0 };
  return { multiply: 1 / (255 * normalization.std), add: -normalization.mean / normalization.std };
}

/** Mean and standard deviation of all pixels scaled to [0, 1] (e.g. of a training set). */
export function pixelStatistics(images: Uint8Array): { mean: number; std: number } {
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

/** Normalises uint8 images (N, 28, 28) into float32 (N, 28, 28, 1) NHWC. */
export function normalizeImages(
  images: Uint8Array,
  normalization: Normalization = SCALE_TO_UNIT,
): Float32Array {
  const { multiply, add } = normalizationCoefficients(normalization);
  const table = new Float32Array(256);
  for (let p = 0; p < 256; p++) table[p] = p * multiply + add;
  const out = new Float32Array(images.length);
  for (let i = 0; i < out.length; i++) out[i] = table[images[i]];
  return out;
}
