// Concat along `axis`: shapes agree on every other axis. Any dtype; all inputs share x[0]'s dtype.
// Viewed as [outer, inner_i]: each output row is the inputs' rows side by side.
import type { Shape, Storage } from '../kernels.js';
import { allocSame, type Allocator } from './alloc.js';

export function concat(
  alloc: Allocator,
  xs: readonly Storage[],
  attrs: { shapes: readonly Shape[]; axis: number },
): Storage {
  const { shapes, axis } = attrs;
  const first = xs[0];
  const firstShape = shapes[0];
  if (!first || !firstShape || xs.length !== shapes.length) {
    throw new Error(
      `Concat: expected one shape per input and at least one input, found ${xs.length} inputs, ${shapes.length} shapes`,
    );
  }
  const rank = firstShape.length;
  if (!(axis >= 0 && axis < rank)) throw new Error(`Concat: axis ${axis} is outside rank ${rank}`);
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= firstShape[d] as number;
  const rows: number[] = [];
  let rowLength = 0;
  shapes.forEach((shape, i) => {
    let inner = 1;
    for (let d = 0; d < rank; d++) {
      if (d !== axis && shape[d] !== firstShape[d]) {
        throw new Error(
          `Concat: input ${i} has shape [${shape.join(',')}], which differs from [${firstShape.join(',')}] off axis ${axis}`,
        );
      }
      if (d >= axis) inner *= shape[d] as number;
    }
    if ((xs[i] as Storage).length !== outer * inner) {
      throw new Error(
        `Concat: input ${i} has ${(xs[i] as Storage).length} elements, shape [${shape.join(',')}] needs ${outer * inner}`,
      );
    }
    rows.push(inner);
    rowLength += inner;
  });
  const out = allocSame(alloc, first, outer * rowLength);
  let column = 0;
  xs.forEach((x, i) => {
    const inner = rows[i] as number;
    for (let o = 0; o < outer; o++) {
      const src = o * inner;
      const dst = o * rowLength + column;
      if (inner >= 64) out.set(x.subarray(src, src + inner), dst);
      else for (let j = 0; j < inner; j++) out[dst + j] = x[src + j] as number;
    }
    column += inner;
  });
  return out;
}
