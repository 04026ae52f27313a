// SoftmaxGrad: y = softmax output, per row dx = y * (dy - sum(dy * y)).
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkRows } from './softmax-check.js';

export function softmaxGrad(
  alloc: Allocator,
  dy: FloatStorage,
  y: FloatStorage,
  attrs: { outer: number; size: number },
): FloatStorage {
  checkRows('SoftmaxGrad', attrs, dy, y);
  const { outer, size } = attrs;
  const dx = allocLike(alloc, dy, outer * size);
  for (let row = 0; row < outer * size; row += size) {
    let dot = 0;
    for (let j = 0; j < size; j++) dot += (dy[row + j] as number) * (y[row + j] as number);
    for (let j = 0; j < size; j++) dx[row + j] = (y[row + j] as number) * ((dy[row + j] as number) - dot);
  }
  return dx;
}
