// LogSoftmaxGrad: y = log-softmax output, per row dx = dy - exp(y) * sum(dy).
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkRows } from './softmax-check.js';

export function logSoftmaxGrad(
  alloc: Allocator,
  dy: FloatStorage,
  y: FloatStorage,
  attrs: { outer: number; size: number },
): FloatStorage {
  checkRows('LogSoftmaxGrad', attrs, dy, y);
  const { outer, size } = attrs;
  const dx = allocLike(alloc, dy, outer * size);
  for (let row = 0; row < outer * size; row += size) {
    let total = 0;
    for (let j = 0; j < size; j++) total += dy[row + j] as number;
    for (let j = 0; j < size; j++)
      dx[row + j] = (dy[row + j] as number) - Math.exp(y[row + j] as number) * total;
  }
  return dx;
}
