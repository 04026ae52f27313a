// Max over `axes`: out has x's shape with the axes removed. NaN propagates; an empty reduction
// gives -Infinity.
import type { FloatStorage, Shape } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { planReduce } from './reduce-plan.js';

export function max(
  alloc: Allocator,
  x: FloatStorage,
  attrs: { shape: Shape; axes: readonly number[] },
): FloatStorage {
  const { data, outer, reduce, inner } = planReduce('Max', x, attrs.shape, attrs.axes);
  const out = allocLike(alloc, x, outer * inner);
  if (inner === 1) {
    for (let o = 0, src = 0; o < outer; o++) {
      let m = -Infinity;
      for (let r = 0; r < reduce; r++, src++) {
        const v = data[src] as number;
        if (v > m || v !== v) m = v;
      }
      out[o] = m;
    }
    return out;
  }
  for (let o = 0; o < outer; o++) {
    const dst = o * inner;
    out.fill(-Infinity, dst, dst + inner);
    let src = o * reduce * inner;
    for (let r = 0; r < reduce; r++, src += inner) {
      for (let j = 0; j < inner; j++) {
        const v = data[src + j] as number;
        const m = out[dst + j] as number;
        if (v > m || v !== v) out[dst + j] = v;
      }
    }
  }
  return out;
}
