// Reductions over axes: sum, mean, max (differentiable) and argMax.
import { kernels } from '../dispatch.js';
import { Tensor, fromKernel } from '../tensor.js';
import { fill } from './creation.js';
import { equal, mul } from './elementwise.js';
import { floatData } from './float-data.js';
import { reshape } from './shape.js';

/** Sorted, unique, non-negative axes; undefined means every axis. */
export function normalizeAxes(
  axes: number | readonly number[] | undefined,
  rank: number,
  op: string,
): number[] {
  const list = axes === undefined ? [...Array(rank).keys()] : typeof axes === 'number' ? [axes] : [...axes];
  const normalized = list.map((a) => {
    const axis = a < 0 ? a + rank : a;
    if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
      throw new Error(`${op}: axis ${a} is out of range for a tensor of rank ${rank}`);
    }
    return axis;
  });
  return [...new Set(normalized)].sort((p, q) => p - q);
}

function reducedShapes(x: Tensor, axes: readonly number[]): { out: number[]; kept: number[] } {
  const out: number[] = [];
  const kept: number[] = [];
  x.shape.forEach((d, i) => {
    if (axes.includes(i)) kept.push(1);
    else {
      out.push(d);
      kept.push(d);
    }
  });
  return { out, kept };
}

export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const list = normalizeAxes(axes, x.rank, 'sum');
  if (list.length === 0) return x;
  const { out, kept } = reducedShapes(x, list);
  const storage = kernels().Sum(floatData(x, 'sum'), { shape: x.shape, axes: list });
  const result = fromKernel(storage, out, {
    op: 'sum',
    inputs: [x],
    backward: (dy) => [mul(reshape(dy, kept), fill(x.shape, 1, x.dtype))],
  });
  return keepDims ? reshape(result, kept) : result;
}

export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const list = normalizeAxes(axes, x.rank, 'mean');
  let count = 1;
  for (const a of list) count *= x.shape[a] as number;
  return mul(sum(x, list, keepDims), 1 / count);
}

/** Largest value over axes; the gradient goes to every position holding it. */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const list = normalizeAxes(axes, x.rank, 'max');
  if (list.length === 0) return x;
  const { out, kept } = reducedShapes(x, list);
  const storage = kernels().Max(floatData(x, 'max'), { shape: x.shape, axes: list });
  const result: Tensor = fromKernel(storage, out, {
    op: 'max',
    inputs: [x],
    backward: (dy) => [mul(reshape(dy, kept), equal(x, reshape(result, kept)))],
  });
  return keepDims ? reshape(result, kept) : result;
}

/** Index of the largest value along `axis` (int32; first index on ties). */
export function argMax(x: Tensor, axis = -1): Tensor {
  const [a] = normalizeAxes(axis, x.rank, 'argMax') as [number];
  const storage = kernels().ArgMax(floatData(x, 'argMax'), { shape: x.shape, axis: a });
  return fromKernel(
    storage,
    x.shape.filter((_, i) => i !== a),
  );
}

/**
 * A one-element int32 tensor: 1 when every value of every tensor is finite, else 0 (the AllFinite
 * kernel; a training step's guard, see runIf in src/tensor/capture.ts). Not differentiable.
 */
export function allFinite(tensors: readonly Tensor[]): Tensor {
  const storages = tensors.map((t) => floatData(t, 'allFinite'));
  return fromKernel(kernels().AllFinite(storages), [1]);
}
