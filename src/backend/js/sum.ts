// Sum over `axes`: out has x's shape with the axes removed. Sums run in float64.
import type { FloatStorage, Shape } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { planReduce } from './reduce-plan.js';
import { scratch } from './scratch.js';

export function sum(
  alloc: Allocator,
  x: FloatStorage,
  attrs: { shape: Shape; axes: readonly number[] },
): FloatStorage {
  const { data, outer, reduce, inner } = planReduce('Sum', x, attrs.shape, attrs.axes);
  const out = allocLike(alloc, x, outer * inner);
  if (inner === 1) {
    // Trailing axes: one contiguous run per output.
    for (let o = 0, src = 0; o < outer; o++) {
      let s = 0;
      for (let r = 0; r < reduce; r++, src++) s += data[src] as number;
      out[o] = s;
    }
    return out;
  }
  // Leading or middle axes: accumulate whole rows of `inner` (contiguous reads and writes).
  const acc = scratch('sum.acc', inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0, 0, inner);
    let src = o * reduce * inner;
    for (let r = 0; r < reduce; r++, src += inner) {
      for (let j = 0; j < inner; j++) acc[j] = (acc[j] as number) + (data[src + j] as number);
    }
    const dst = o * inner;
    for (let j = 0; j < inner; j++) out[dst + j] = acc[j] as number;
  }
  return out;
}
