// LogSoftmax over the last axis of an [outer, size] view: y = x - max - log(sum(exp(x - max))).
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkRows } from './softmax-check.js';

export function logSoftmax(
  alloc: Allocator,
  x: FloatStorage,
  attrs: { outer: number; size: number },
): FloatStorage {
  checkRows('LogSoftmax', attrs, x);
  const { outer, size } = attrs;
  const y = allocLike(alloc, x, outer * size);
  for (let row = 0; row < outer * size; row += size) {
    let m = -Infinity;
    for (let j = 0; j < size; j++) m = Math.max(m, x[row + j] as number);
    let s = 0;
    for (let j = 0; j < size; j++) s += Math.exp((x[row + j] as number) - m);
    const shift = m + Math.log(s);
    for (let j = 0; j < size; j++) y[row + j] = (x[row + j] as number) - shift;
  }
  return y;
}
