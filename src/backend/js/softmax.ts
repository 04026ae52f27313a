// Softmax over the last axis of an [outer, size] view: y = exp(x - max) / sum(exp(x - max)).
// NOTE: subtracting the row max keeps exp from overflowing for large logits.
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkRows } from './softmax-check.js';

export function softmax(
  alloc: Allocator,
  x: FloatStorage,
  attrs: { outer: number; size: number },
): FloatStorage {
  checkRows('Softmax', attrs, x);
  const { outer, size } = attrs;
  const y = allocLike(alloc, x, outer * size);
  for (let row = 0; row < outer * size; row += size) {
    let m = -Infinity;
    for (let j = 0; j < size; j++) m = Math.max(m, x[row + j] as number);
    let s = 0;
    for (let j = 0; j < size; j++) {
      const e = Math.exp((x[row + j] as number) - m);
      y[row + j] = e;
      s += e;
    }
    // NOTE: rescale from the float64 exponentials again: y may be float32.
    const inv = 1 / s;
    for (let j = 0; j < size; j++) y[row + j] = Math.exp((x[row + j] as number) - m) * inv;
  }
  return y;
}
