// Making tensors: from values, filled, random (seeded), and from existing storage.
import type { DType, Shape, Storage } from '../../backend/kernels.js';
import { allocate } from '../dispatch.js';
import { Tensor, shapeSize } from '../tensor.js';

export type NestedNumbers = number | readonly NestedNumbers[];

/** A uniform random source in [0, 1); any seeded generator with nextFloat() fits. */
export interface RandomSource {
  nextFloat(): number;
}

/** A tensor holding `values` (flat or nested arrays, or a typed array) in `shape`. */
export function tensor(
  values: NestedNumbers | Float32Array | Float64Array | Int32Array | Uint8Array,
  shape?: Shape,
  dtype: DType = 'float32',
): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (ArrayBuffer.isView(values)) {
    flat = values as ArrayLike<number>;
    inferred = [flat.length];
  } else {
    inferred = inferShape(values);
    flat = typeof values === 'number' ? [values] : ((values as unknown[]).flat(Infinity as 1) as number[]);
  }
  const finalShape = shape ?? inferred;
  if (shapeSize(finalShape) !== flat.length) {
    throw new Error(`tensor(): ${flat.length} values do not fill shape [${finalShape.join(', ')}]`);
  }
  const storage = allocate(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) storage[i] = flat[i] as number;
  return new Tensor(storage, [...finalShape]);
}

function inferShape(values: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = values;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedNumbers;
  }
  return shape;
}

export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  return fill([], value, dtype);
}

export function fill(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  const storage = allocate(dtype, shapeSize(shape));
  storage.fill(value);
  return new Tensor(storage, [...shape]);
}

export function zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
  return fill(shape, 0, dtype);
}

export function ones(shape: Shape, dtype: DType = 'float32'): Tensor {
  return fill(shape, 1, dtype);
}

export function zerosLike(t: Tensor): Tensor {
  return fill(t.shape, 0, t.dtype);
}

export function onesLike(t: Tensor): Tensor {
  return fill(t.shape, 1, t.dtype);
}

/** Uniform values in [low, high). */
export function randomUniform(
  shape: Shape,
  random: RandomSource,
  low = 0,
  high = 1,
  dtype: 'float32' | 'float64' = 'float32',
): Tensor {
  const storage = allocate(dtype, shapeSize(shape));
  const span = high - low;
  for (let i = 0; i < storage.length; i++) storage[i] = low + span * random.nextFloat();
  return new Tensor(storage, [...shape]);
}

/** Normal values (Box-Muller), optionally truncated to two standard deviations as Keras does. */
export function randomNormal(
  shape: Shape,
  random: RandomSource,
  mean = 0,
  stddev = 1,
  options: { truncated?: boolean; dtype?: 'float32' | 'float64' } = {},
): Tensor {
  const storage = allocate(options.dtype ?? 'float32', shapeSize(shape));
  for (let i = 0; i < storage.length; i++) {
    let z: number;
    do {
      const u = 1 - random.nextFloat(); // (0, 1]: log(u) is finite
      const v = random.nextFloat();
      z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    } while (options.truncated && Math.abs(z) > 2);
    storage[i] = mean + stddev * z;
  }
  return new Tensor(storage, [...shape]);
}

/** Wraps existing backend storage (zero-copy). The storage must come from the active backend. */
export function fromStorage(storage: Storage, shape: Shape): Tensor {
  return new Tensor(storage, [...shape]);
}

/** A copy of `t` in another dtype. */
export function cast(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  const storage = allocate(dtype, t.size);
  const source = t.data;
  if (dtype === 'int32') for (let i = 0; i < source.length; i++) storage[i] = Math.trunc(source[i] as number);
  else storage.set(source);
  return new Tensor(storage, t.shape);
}

/** A copy of `t` with its own storage. */
export function clone(t: Tensor): Tensor {
  const storage = allocate(t.dtype, t.size);
  storage.set(t.data as ArrayLike<number>);
  return new Tensor(storage, t.shape);
}
