// BatchNormInference: y = gamma * (x - mean) / sqrt(variance + eps) + beta, per column of
// x [outer, size], with stored (moving) statistics.
import type { FloatStorage, NormAttrs } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkNorm } from './norm-check.js';
import { scratch } from './scratch.js';

export function batchNormInference(
  alloc: Allocator,
  x: FloatStorage,
  gamma: FloatStorage,
  beta: FloatStorage,
  mean: FloatStorage,
  variance: FloatStorage,
  attrs: NormAttrs,
): FloatStorage {
  checkNorm('BatchNormInference', attrs, [x], [gamma, beta, mean, variance]);
  const { outer, size, epsilon } = attrs;
  // Per column: y = x * scale + shift.
  const affine = scratch('batchNorm.sums', 2 * size);
  for (let j = 0; j < size; j++) {
    const scale = (gamma[j] as number) / Math.sqrt((variance[j] as number) + epsilon);
    affine[j] = scale;
    affine[size + j] = (beta[j] as number) - (mean[j] as number) * scale;
  }
  const y = allocLike(alloc, x, outer * size);
  for (let r = 0, i = 0; r < outer; r++) {
    for (let j = 0; j < size; j++, i++)
      y[i] = (x[i] as number) * (affine[j] as number) + (affine[size + j] as number);
  }
  return y;
}
