// Pad: paddings[d] = [before, after] cells added on axis d, holding `value`. Fills out with value,
// then copies x's rows (contiguous along the last axis) into place with an odometer.
import type { FloatStorage, Shape } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';

export function pad(
  alloc: Allocator,
  x: FloatStorage,
  attrs: { shape: Shape; paddings: readonly (readonly [number, number])[]; value: number },
): FloatStorage {
  const { shape, paddings, value } = attrs;
  const rank = shape.length;
  if (paddings.length !== rank) throw new Error(`Pad: ${paddings.length} paddings for rank ${rank}`);
  const outShape = shape.map((d, i) => {
    const [before, after] = paddings[i] as readonly [number, number];
    if (!(before >= 0 && after >= 0))
      throw new Error(`Pad: axis ${i}: paddings must be non-negative, found [${before}, ${after}]`);
    return d + before + after;
  });
  const outStrides = new Array<number>(rank);
  let total = 1;
  for (let d = rank - 1; d >= 0; d--) {
    outStrides[d] = total;
    total *= outShape[d] as number;
  }
  let size = 1;
  for (const d of shape) size *= d;
  if (x.length !== size)
    throw new Error(`Pad: shape [${shape.join(',')}] needs ${size} elements, found ${x.length}`);
  const out = allocLike(alloc, x, total);
  out.fill(value);
  if (size === 0) return out;
  if (rank === 0) {
    out[0] = x[0] as number;
    return out;
  }
  const run = shape[rank - 1] as number;
  let base = 0;
  for (let d = 0; d < rank; d++)
    base += (paddings[d] as readonly [number, number])[0] * (outStrides[d] as number);
  const index = new Array<number>(rank).fill(0);
  for (let src = 0; src < size; src += run) {
    for (let j = 0; j < run; j++) out[base + j] = x[src + j] as number;
    for (let d = rank - 2; d >= 0; d--) {
      const i = (index[d] as number) + 1;
      if (i < (shape[d] as number)) {
        index[d] = i;
        base += outStrides[d] as number;
        break;
      }
      index[d] = 0;
      base -= (i - 1) * (outStrides[d] as number);
    }
  }
  return out;
}
