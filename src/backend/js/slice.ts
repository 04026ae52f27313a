// Slice: out[i] = x[begin + i] for i < size, per axis. Any dtype. Walks out's rows (the last axis
// is one contiguous run in x) with an odometer over the other axes.
import type { Shape, Storage } from '../kernels.js';
import { allocSame, type Allocator } from './alloc.js';

export function slice(
  alloc: Allocator,
  x: Storage,
  attrs: { shape: Shape; begin: readonly number[]; size: readonly number[] },
): Storage {
  const { shape, begin, size } = attrs;
  const rank = shape.length;
  if (begin.length !== rank || size.length !== rank) {
    throw new Error(`Slice: begin [${begin.join(',')}] and size [${size.join(',')}] must have rank ${rank}`);
  }
  let total = 1;
  const strides = new Array<number>(rank);
  let stride = 1;
  for (let d = rank - 1; d >= 0; d--) {
    const b = begin[d] as number;
    const s = size[d] as number;
    if (!(b >= 0 && s >= 0 && b + s <= (shape[d] as number))) {
      throw new Error(
        `Slice: axis ${d}: begin ${b} + size ${s} exceeds extent ${shape[d]} of [${shape.join(',')}]`,
      );
    }
    strides[d] = stride;
    stride *= shape[d] as number;
    total *= s;
  }
  const out = allocSame(alloc, x, total);
  if (total === 0) return out;
  if (rank === 0) {
    out[0] = x[0] as number;
    return out;
  }
  const run = size[rank - 1] as number;
  let base = 0;
  for (let d = 0; d < rank; d++) base += (begin[d] as number) * (strides[d] as number);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < total; o += run) {
    if (run >= 64) out.set(x.subarray(base, base + run), o);
    else for (let j = 0; j < run; j++) out[o + j] = x[base + j] as number;
    for (let d = rank - 2; d >= 0; d--) {
      const i = (index[d] as number) + 1;
      if (i < (size[d] as number)) {
        index[d] = i;
        base += strides[d] as number;
        break;
      }
      index[d] = 0;
      base -= (i - 1) * (strides[d] as number);
    }
  }
  return out;
}
