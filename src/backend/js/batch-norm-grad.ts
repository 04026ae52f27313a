// BatchNormGrad (training statistics), per column j over the outer rows, xhat = (x - mean) invStd:
//   dbeta = sum dy,  dgamma = sum dy * xhat,
//   dx = gamma * invStd / outer * (outer * dy - dbeta - xhat * dgamma).
import type { FloatStorage, NormAttrs } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkNorm } from './norm-check.js';
import { scratch } from './scratch.js';

export function batchNormGrad(
  alloc: Allocator,
  dy: FloatStorage,
  x: FloatStorage,
  gamma: FloatStorage,
  mean: FloatStorage,
  invStd: FloatStorage,
  attrs: NormAttrs,
): { dx: FloatStorage; dgamma: FloatStorage; dbeta: FloatStorage } {
  checkNorm('BatchNormGrad', attrs, [dy, x], [gamma, mean, invStd]);
  const { outer, size } = attrs;
  const sums = scratch('batchNorm.sums', 2 * size);
  sums.fill(0, 0, 2 * size);
  for (let r = 0, i = 0; r < outer; r++) {
    for (let j = 0; j < size; j++, i++) {
      const g = dy[i] as number;
      sums[j] = (sums[j] as number) + g;
      sums[size + j] =
        (sums[size + j] as number) + g * ((x[i] as number) - (mean[j] as number)) * (invStd[j] as number);
    }
  }
  const dgamma = allocLike(alloc, dy, size);
  const dbeta = allocLike(alloc, dy, size);
  for (let j = 0; j < size; j++) {
    dbeta[j] = sums[j] as number;
    dgamma[j] = sums[size + j] as number;
  }
  const dx = allocLike(alloc, dy, outer * size);
  for (let r = 0, i = 0; r < outer; r++) {
    for (let j = 0; j < size; j++, i++) {
      const inv = invStd[j] as number;
      const xhat = ((x[i] as number) - (mean[j] as number)) * inv;
      dx[i] =
        (((gamma[j] as number) * inv) / outer) *
        (outer * (dy[i] as number) - (sums[j] as number) - xhat * (sums[size + j] as number));
    }
  }
  return { dx, dgamma, dbeta };
}
