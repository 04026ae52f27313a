// LayerNormGrad, per row with g = dy * gamma and xhat = (x - mean) invStd:
//   dx = invStd / size * (size * g - sum g - xhat * sum(g * xhat));
// dgamma = sum over rows of dy * xhat, dbeta = sum over rows of dy (float64 accumulators).
import type { FloatStorage, NormAttrs } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkNorm } from './norm-check.js';
import { scratch } from './scratch.js';

export function layerNormGrad(
  alloc: Allocator,
  dy: FloatStorage,
  x: FloatStorage,
  gamma: FloatStorage,
  mean: FloatStorage,
  invStd: FloatStorage,
  attrs: NormAttrs,
): { dx: FloatStorage; dgamma: FloatStorage; dbeta: FloatStorage } {
  checkNorm('LayerNormGrad', attrs, [dy, x], [gamma], [mean, invStd]);
  const { outer, size } = attrs;
  const acc = scratch('layerNorm.acc', 2 * size);
  acc.fill(0, 0, 2 * size);
  const dx = allocLike(alloc, dy, outer * size);
  for (let r = 0, row = 0; r < outer; r++, row += size) {
    const m = mean[r] as number;
    const inv = invStd[r] as number;
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < size; j++) {
      const d = dy[row + j] as number;
      const xhat = ((x[row + j] as number) - m) * inv;
      const g = d * (gamma[j] as number);
      sumG += g;
      sumGX += g * xhat;
      acc[j] = (acc[j] as number) + d * xhat;
      acc[size + j] = (acc[size + j] as number) + d;
    }
    for (let j = 0; j < size; j++) {
      const xhat = ((x[row + j] as number) - m) * inv;
      const g = (dy[row + j] as number) * (gamma[j] as number);
      dx[row + j] = (inv / size) * (size * g - sumG - xhat * sumGX);
    }
  }
  const dgamma = allocLike(alloc, dy, size);
  const dbeta = allocLike(alloc, dy, size);
  for (let j = 0; j < size; j++) {
    dgamma[j] = acc[j] as number;
    dbeta[j] = acc[size + j] as number;
  }
  return { dx, dgamma, dbeta };
}
