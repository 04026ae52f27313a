// BatchNorm, training: x [outer, size] (NHWC flattened: outer = N*H*W, size = C). Per column:
// mean, biased variance, invStd = 1 / sqrt(var + eps); y = gamma * (x - mean) * invStd + beta.
// Statistics accumulate in float64 row by row (contiguous reads), variance in a second pass.
import type { FloatStorage, NormAttrs } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkNorm } from './norm-check.js';
import { scratch } from './scratch.js';

export function batchNorm(
  alloc: Allocator,
  x: FloatStorage,
  gamma: FloatStorage,
  beta: FloatStorage,
  attrs: NormAttrs,
): { y: FloatStorage; mean: FloatStorage; invStd: FloatStorage } {
  checkNorm('BatchNorm', attrs, [x], [gamma, beta]);
  const { outer, size, epsilon } = attrs;
  const sums = scratch('batchNorm.sums', 2 * size);
  sums.fill(0, 0, 2 * size);
  for (let r = 0, i = 0; r < outer; r++)
    for (let j = 0; j < size; j++, i++) sums[j] = (sums[j] as number) + (x[i] as number);
  for (let j = 0; j < size; j++) sums[j] = (sums[j] as number) / outer;
  for (let r = 0, i = 0; r < outer; r++) {
    for (let j = 0; j < size; j++, i++) {
      const d = (x[i] as number) - (sums[j] as number);
      sums[size + j] = (sums[size + j] as number) + d * d;
    }
  }
  const mean = allocLike(alloc, x, size);
  const invStd = allocLike(alloc, x, size);
  for (let j = 0; j < size; j++) {
    mean[j] = sums[j] as number;
    const inv = 1 / Math.sqrt((sums[size + j] as number) / outer + epsilon);
    sums[size + j] = inv;
    invStd[j] = inv;
  }
  const y = allocLike(alloc, x, outer * size);
  for (let r = 0, i = 0; r < outer; r++) {
    for (let j = 0; j < size; j++, i++) {
      y[i] =
        (gamma[j] as number) * ((x[i] as number) - (sums[j] as number)) * (sums[size + j] as number) +
        (beta[j] as number);
    }
  }
  return { y, mean, invStd };
}
