// ArgMax along one axis: out (int32) has x's shape with `axis` removed; the first index wins ties.
// A NaN counts as the largest value (its first occurrence is returned), like numpy.
import type { FloatStorage, Shape } from '../kernels.js';
import type { Allocator } from './alloc.js';

export function argMax(alloc: Allocator, x: FloatStorage, attrs: { shape: Shape; axis: number }): Int32Array {
  const { shape, axis } = attrs;
  if (!(Number.isInteger(axis) && axis >= 0 && axis < shape.length)) {
    throw new Error(`ArgMax: axis ${axis} is outside rank ${shape.length}`);
  }
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d] as number;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d] as number;
  const reduce = shape[axis] as number;
  if (x.length !== outer * reduce * inner) {
    throw new Error(
      `ArgMax: shape [${shape.join(',')}] needs ${outer * reduce * inner} elements, found ${x.length}`,
    );
  }
  const out = alloc('int32', outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let src = o * reduce * inner + j;
      let best = 0;
      let m = x[src] as number;
      for (let r = 1; r < reduce && m === m; r++) {
        src += inner;
        const v = x[src] as number;
        if (v > m || v !== v) {
          m = v;
          best = r;
        }
      }
      out[o * inner + j] = best;
    }
  }
  return out;
}
