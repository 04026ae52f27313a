// Shared planning for the reductions (Sum, Max): out has x's shape with `axes` removed.
// Contiguous axes (the common cases: leading, trailing, one middle axis) reduce in place as a
// [outer, R, inner] view; any other set is first transposed (into float64 scratch) so the reduced
// axes trail, then reduced as [outSize, R, 1].
import type { FloatStorage, Shape } from '../kernels.js';
import { scratch } from './scratch.js';
import { transposeInto } from './transpose.js';

export interface ReduceView {
  /** The data to reduce, laid out [outer, reduce, inner]. */
  data: FloatStorage;
  outer: number;
  reduce: number;
  inner: number;
}

export function planReduce(
  kernel: string,
  x: FloatStorage,
  shape: Shape,
  axes: readonly number[],
): ReduceView {
  const rank = shape.length;
  let size = 1;
  for (const d of shape) size *= d;
  if (x.length !== size)
    throw new Error(`${kernel}: shape [${shape.join(',')}] needs ${size} elements, found ${x.length}`);
  if (axes.length === 0) throw new Error(`${kernel}: axes must be non-empty`);
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i] as number;
    if (!Number.isInteger(a) || a < 0 || a >= rank || (i > 0 && a <= (axes[i - 1] as number))) {
      throw new Error(`${kernel}: axes [${axes.join(',')}] must be sorted, unique and within rank ${rank}`);
    }
  }
  const first = axes[0] as number;
  const last = axes[axes.length - 1] as number;
  const product = (from: number, to: number): number => {
    let p = 1;
    for (let d = from; d < to; d++) p *= shape[d] as number;
    return p;
  };
  const reduce = axes.reduce((p, a) => p * (shape[a] as number), 1);
  if (last - first + 1 === axes.length) {
    return { data: x, outer: product(0, first), reduce, inner: product(last + 1, rank) };
  }
  const kept: number[] = [];
  for (let d = 0; d < rank; d++) if (!axes.includes(d)) kept.push(d);
  const moved = scratch('reduce.transposed', size).subarray(0, size);
  transposeInto(x, shape, [...kept, ...axes], moved);
  return { data: moved, outer: size / reduce, reduce, inner: 1 };
}
