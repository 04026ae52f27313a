// Broadcasting binary kernels (numpy rules; shapes right-aligned). out has a's dtype.
//
// The broadcast is planned once per call: a's and b's strides over outShape (0 on broadcast
// axes), adjacent axes merged where both operands walk them contiguously, so the work becomes
// `rows` runs of `len` elements with a step of 0 or 1 per operand. Each op is one run function
// with its own loop (called once per run, never per element).
import type { BroadcastAttrs, FloatStorage, Shape } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';

type Run = (
  a: FloatStorage,
  ai: number,
  as: number,
  b: FloatStorage,
  bi: number,
  bs: number,
  out: FloatStorage,
  oi: number,
  len: number,
) => void;

export interface Plan {
  /** Merged output dims; the last one is the run. */
  dims: number[];
  aStrides: number[];
  bStrides: number[];
}

function sizeOf(shape: Shape): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** Strides of `shape` read as `outShape` (right-aligned, 0 where broadcast). */
function broadcastStrides(kernel: string, shape: Shape, outShape: Shape): number[] {
  const rank = outShape.length;
  if (shape.length > rank) {
    throw new Error(
      `${kernel}: operand shape [${shape.join(',')}] has more axes than the output [${outShape.join(',')}]`,
    );
  }
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d] as number;
    const outSize = outShape[rank - shape.length + d] as number;
    if (size !== outSize && size !== 1) {
      throw new Error(
        `${kernel}: shape [${shape.join(',')}] does not broadcast to [${outShape.join(',')}] (axis ${d}: ${size} vs ${outSize})`,
      );
    }
    strides[rank - shape.length + d] = size === 1 ? 0 : stride;
    stride *= size;
  }
  return strides;
}

/** The broadcast as runs: merged output dims (the last is the run) and each operand's strides. */
export function planBroadcast(kernel: string, attrs: BroadcastAttrs): Plan {
  const { aShape, bShape, outShape } = attrs;
  const aStrides = broadcastStrides(kernel, aShape, outShape);
  const bStrides = broadcastStrides(kernel, bShape, outShape);
  const dims: number[] = [];
  const as: number[] = [];
  const bs: number[] = [];
  for (let d = 0; d < outShape.length; d++) {
    const size = outShape[d] as number;
    if (size === 1) continue;
    const sa = aStrides[d] as number;
    const sb = bStrides[d] as number;
    const last = dims.length - 1;
    // Merge into the previous axis when each operand continues it contiguously (or both broadcast).
    if (last >= 0 && (as[last] as number) === sa * size && (bs[last] as number) === sb * size) {
      dims[last] = (dims[last] as number) * size;
      as[last] = sa;
      bs[last] = sb;
    } else {
      dims.push(size);
      as.push(sa);
      bs.push(sb);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    as.push(0);
    bs.push(0);
  }
  return { dims, aStrides: as, bStrides: bs };
}

function broadcastBinary(
  kernel: string,
  run: Run,
  alloc: Allocator,
  a: FloatStorage,
  b: FloatStorage,
  attrs: BroadcastAttrs,
): FloatStorage {
  if (a.length !== sizeOf(attrs.aShape) || b.length !== sizeOf(attrs.bShape)) {
    throw new Error(
      `${kernel}: a has ${a.length} elements for shape [${attrs.aShape.join(',')}], ` +
        `b has ${b.length} for [${attrs.bShape.join(',')}]`,
    );
  }
  const total = sizeOf(attrs.outShape);
  const out = allocLike(alloc, a, total);
  if (total === 0) return out;
  const { dims, aStrides, bStrides } = planBroadcast(kernel, attrs);
  const rank = dims.length;
  const len = dims[rank - 1] as number;
  const aStep = aStrides[rank - 1] as number;
  const bStep = bStrides[rank - 1] as number;
  const rows = total / len;
  // Odometer over the outer axes; ai/bi follow it incrementally.
  const index = new Array<number>(rank).fill(0);
  let ai = 0;
  let bi = 0;
  for (let row = 0, oi = 0; row < rows; row++, oi += len) {
    run(a, ai, aStep, b, bi, bStep, out, oi, len);
    for (let d = rank - 2; d >= 0; d--) {
      const i = (index[d] as number) + 1;
      if (i < (dims[d] as number)) {
        index[d] = i;
        ai += aStrides[d] as number;
        bi += bStrides[d] as number;
        break;
      }
      index[d] = 0;
      ai -= (i - 1) * (aStrides[d] as number);
      bi -= (i - 1) * (bStrides[d] as number);
    }
  }
  return out;
}

const addRun: Run = (a, ai, as, b, bi, bs, out, oi, len) => {
  for (let t = 0; t < len; t++) out[oi + t] = (a[ai + t * as] as number) + (b[bi + t * bs] as number);
};
const subRun: Run = (a, ai, as, b, bi, bs, out, oi, len) => {
  for (let t = 0; t < len; t++) out[oi + t] = (a[ai + t * as] as number) - (b[bi + t * bs] as number);
};
const mulRun: Run = (a, ai, as, b, bi, bs, out, oi, len) => {
  for (let t = 0; t < len; t++) out[oi + t] = (a[ai + t * as] as number) * (b[bi + t * bs] as number);
};
const divRun: Run = (a, ai, as, b, bi, bs, out, oi, len) => {
  for (let t = 0; t < len; t++) out[oi + t] = (a[ai + t * as] as number) / (b[bi + t * bs] as number);
};
const powRun: Run = (a, ai, as, b, bi, bs, out, oi, len) => {
  for (let t = 0; t < len; t++) out[oi + t] = Math.pow(a[ai + t * as] as number, b[bi + t * bs] as number);
};
const maximumRun: Run = (a, ai, as, b, bi, bs, out, oi, len) => {
  // NOTE: NaN propagates (Math.max semantics), as in numpy's maximum.
  for (let t = 0; t < len; t++) out[oi + t] = Math.max(a[ai + t * as] as number, b[bi + t * bs] as number);
};
const minimumRun: Run = (a, ai, as, b, bi, bs, out, oi, len) => {
  for (let t = 0; t < len; t++) out[oi + t] = Math.min(a[ai + t * as] as number, b[bi + t * bs] as number);
};
const equalRun: Run = (a, ai, as, b, bi, bs, out, oi, len) => {
  for (let t = 0; t < len; t++)
    out[oi + t] = (a[ai + t * as] as number) === (b[bi + t * bs] as number) ? 1 : 0;
};
const greaterRun: Run = (a, ai, as, b, bi, bs, out, oi, len) => {
  for (let t = 0; t < len; t++) out[oi + t] = (a[ai + t * as] as number) > (b[bi + t * bs] as number) ? 1 : 0;
};

export function add(alloc: Allocator, a: FloatStorage, b: FloatStorage, attrs: BroadcastAttrs): FloatStorage {
  return broadcastBinary('Add', addRun, alloc, a, b, attrs);
}
export function sub(alloc: Allocator, a: FloatStorage, b: FloatStorage, attrs: BroadcastAttrs): FloatStorage {
  return broadcastBinary('Sub', subRun, alloc, a, b, attrs);
}
export function mul(alloc: Allocator, a: FloatStorage, b: FloatStorage, attrs: BroadcastAttrs): FloatStorage {
  return broadcastBinary('Mul', mulRun, alloc, a, b, attrs);
}
export function div(alloc: Allocator, a: FloatStorage, b: FloatStorage, attrs: BroadcastAttrs): FloatStorage {
  return broadcastBinary('Div', divRun, alloc, a, b, attrs);
}
export function pow(alloc: Allocator, a: FloatStorage, b: FloatStorage, attrs: BroadcastAttrs): FloatStorage {
  return broadcastBinary('Pow', powRun, alloc, a, b, attrs);
}
export function maximum(
  alloc: Allocator,
  a: FloatStorage,
  b: FloatStorage,
  attrs: BroadcastAttrs,
): FloatStorage {
  return broadcastBinary('Maximum', maximumRun, alloc, a, b, attrs);
}
export function minimum(
  alloc: Allocator,
  a: FloatStorage,
  b: FloatStorage,
  attrs: BroadcastAttrs,
): FloatStorage {
  return broadcastBinary('Minimum', minimumRun, alloc, a, b, attrs);
}
export function equal(
  alloc: Allocator,
  a: FloatStorage,
  b: FloatStorage,
  attrs: BroadcastAttrs,
): FloatStorage {
  return broadcastBinary('Equal', equalRun, alloc, a, b, attrs);
}
export function greater(
  alloc: Allocator,
  a: FloatStorage,
  b: FloatStorage,
  attrs: BroadcastAttrs,
): FloatStorage {
  return broadcastBinary('Greater', greaterRun, alloc, a, b, attrs);
}
