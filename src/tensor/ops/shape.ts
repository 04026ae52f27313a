// Shape ops: reshape (a view, no copy), transpose, concat, slice, pad.
import type { Shape } from '../../backend/kernels.js';
import { kernels } from '../dispatch.js';
import { Tensor, fromKernel, shapeSize } from '../tensor.js';
import { floatData } from './float-data.js';

/** Same values in a new shape; one dimension may be -1 (inferred). Shares storage. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const target = [...shape];
  const inferred = target.indexOf(-1);
  if (inferred >= 0) {
    const known = target.reduce((p, d, i) => (i === inferred ? p : p * d), 1);
    target[inferred] = known === 0 ? 0 : x.size / known;
  }
  if (shapeSize(target) !== x.size || target.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(
      `reshape: cannot view [${x.shape.join(', ')}] (${x.size} values) as [${shape.join(', ')}]`,
    );
  }
  if (target.length === x.shape.length && target.every((d, i) => d === x.shape[i])) return x;
  return fromKernel(
    x.data,
    target,
    { op: 'reshape', inputs: [x], backward: (dy) => [reshape(dy, x.shape)] },
    false,
  );
}

/** Keeps the first axis, flattens the rest: [N, ...] -> [N, prod(...)]. */
export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.shape[0] ?? 1, -1]);
}

export function expandDims(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ?? [...x.shape.keys()].reverse();
  if (p.length !== x.rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new Error(`transpose: perm [${p.join(', ')}] is not a permutation of ${x.rank} axes`);
  }
  const inverse = new Array<number>(p.length);
  p.forEach((axis, i) => (inverse[axis] = i));
  const storage = kernels().Transpose(x.data, { shape: x.shape, perm: p });
  return fromKernel(
    storage,
    p.map((axis) => x.shape[axis] as number),
    { op: 'transpose', inputs: [x], backward: (dy) => [transpose(dy, inverse)] },
  );
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const first = xs[0];
  if (!first) throw new Error('concat: needs at least one tensor');
  const a = axis < 0 ? axis + first.rank : axis;
  const shape = [...first.shape];
  shape[a] = 0;
  for (const x of xs) {
    if (x.rank !== first.rank || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(
        `concat: shapes [${first.shape.join(', ')}] and [${x.shape.join(', ')}] differ outside axis ${a}`,
      );
    }
    shape[a] += x.shape[a] as number;
  }
  const storage = kernels().Concat(
    xs.map((x) => x.data),
    { shapes: xs.map((x) => x.shape), axis: a },
  );
  return fromKernel(storage, shape, {
    op: 'concat',
    inputs: xs,
    backward: (dy, needed) => {
      let offset = 0;
      return xs.map((x, i) => {
        const begin = x.shape.map((_, d) => (d === a ? offset : 0));
        offset += x.shape[a] as number;
        return needed[i] ? slice(dy, begin, x.shape) : null;
      });
    },
  });
}

/** The block starting at `begin` of extent `size` (-1: to the end). */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const extent = size.map((s, d) => (s === -1 ? (x.shape[d] as number) - (begin[d] as number) : s));
  extent.forEach((s, d) => {
    const b = begin[d] as number;
    if (b < 0 || s < 0 || b + s > (x.shape[d] as number)) {
      throw new Error(
        `slice: begin [${begin.join(', ')}] size [${size.join(', ')}] is outside [${x.shape.join(', ')}]`,
      );
    }
  });
  const storage = kernels().Slice(x.data, { shape: x.shape, begin, size: extent });
  return fromKernel(storage, extent, {
    op: 'slice',
    inputs: [x],
    backward: (dy) => [
      pad(
        dy,
        x.shape.map(
          (d, i) => [begin[i] as number, d - (begin[i] as number) - (extent[i] as number)] as const,
        ),
      ),
    ],
  });
}

export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], value = 0): Tensor {
  if (paddings.length !== x.rank) {
    throw new Error(`pad: ${paddings.length} paddings given for a tensor of rank ${x.rank}`);
  }
  const storage = kernels().Pad(floatData(x, 'pad'), { shape: x.shape, paddings, value });
  const shape = x.shape.map((d, i) => d + (paddings[i]?.[0] ?? 0) + (paddings[i]?.[1] ?? 0));
  return fromKernel(storage, shape, {
    op: 'pad',
    inputs: [x],
    backward: (dy) => [
      slice(
        dy,
        paddings.map((p) => p[0]),
        x.shape,
      ),
    ],
  });
}
