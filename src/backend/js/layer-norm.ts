// LayerNorm: x [outer, size], statistics per row (mean, biased variance, invStd =
// 1 / sqrt(var + eps)); y = gamma[j] * (x - mean) * invStd + beta[j]. mean, invStd are [outer].
import type { FloatStorage, NormAttrs } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkNorm } from './norm-check.js';

export function layerNorm(
  alloc: Allocator,
  x: FloatStorage,
  gamma: FloatStorage,
  beta: FloatStorage,
  attrs: NormAttrs,
): { y: FloatStorage; mean: FloatStorage; invStd: FloatStorage } {
  checkNorm('LayerNorm', attrs, [x], [gamma, beta]);
  const { outer, size, epsilon } = attrs;
  const y = allocLike(alloc, x, outer * size);
  const mean = allocLike(alloc, x, outer);
  const invStd = allocLike(alloc, x, outer);
  for (let r = 0, row = 0; r < outer; r++, row += size) {
    let s = 0;
    for (let j = 0; j < size; j++) s += x[row + j] as number;
    const m = s / size;
    let ss = 0;
    for (let j = 0; j < size; j++) {
      const d = (x[row + j] as number) - m;
      ss += d * d;
    }
    const inv = 1 / Math.sqrt(ss / size + epsilon);
    mean[r] = m;
    invStd[r] = inv;
    for (let j = 0; j < size; j++)
      y[row + j] = (gamma[j] as number) * ((x[row + j] as number) - m) * inv + (beta[j] as number);
  }
  return { y, mean, invStd };
}
