// Elementwise kernels on wasm (wasm/src/eltwise.c): Relu, ReluGrad, and the broadcasting binary
// kernels over the js backend's broadcast plan (src/backend/js/binary.ts). Results equal js's bit
// for bit (see eltwise.c).
import type { BroadcastAttrs } from '../kernels.js';
import { planBroadcast } from '../js/binary.js';
import { FLOPS_PER_ELEMENT, perTask, withFrame, type WasmContext } from './context.js';

/** Operation codes of binary_task (the enum in eltwise.c). */
export const BINARY_OPS = {
  Add: 0,
  Sub: 1,
  Mul: 2,
  Div: 3,
  Maximum: 4,
  Minimum: 5,
  Equal: 6,
  Greater: 7,
} as const;
export type BinaryKernel = keyof typeof BINARY_OPS;

function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

export function relu(ctx: WasmContext, x: Float32Array): Float32Array {
  const y = ctx.alloc('float32', x.length);
  if (y.length === 0) return y;
  withFrame(ctx, (f) => {
    const per = perTask(x.length, ctx.threads.threads, 16384, 4);
    const args = [f.input(x), f.output(y), x.length, per];
    ctx.threads.run(
      'relu_task',
      args,
      Math.ceil(x.length / per),
      x.length * FLOPS_PER_ELEMENT >= ctx.minParallelFlops,
    );
  });
  return y;
}

/** Returns null for mismatched lengths (the js kernel throws the error). */
export function reluGrad(ctx: WasmContext, dy: Float32Array, x: Float32Array): Float32Array | null {
  if (dy.length !== x.length) return null;
  const dx = ctx.alloc('float32', dy.length);
  if (dx.length === 0) return dx;
  withFrame(ctx, (f) => {
    const per = perTask(dy.length, ctx.threads.threads, 16384, 4);
    const args = [f.input(dy), f.input(x), f.output(dx), dy.length, per];
    const parallel = dy.length * FLOPS_PER_ELEMENT >= ctx.minParallelFlops;
    ctx.threads.run('relu_grad_task', args, Math.ceil(dy.length / per), parallel);
  });
  return dx;
}

/** Returns null for operands that do not match their shapes (the js kernel throws the error). */
export function binary(
  ctx: WasmContext,
  kernel: BinaryKernel,
  a: Float32Array,
  b: Float32Array,
  attrs: BroadcastAttrs,
): Float32Array | null {
  if (a.length !== sizeOf(attrs.aShape) || b.length !== sizeOf(attrs.bShape)) return null;
  const total = sizeOf(attrs.outShape);
  const { dims, aStrides, bStrides } = planBroadcast(kernel, attrs);
  const out = ctx.alloc('float32', total);
  if (total === 0) return out;
  const rank = dims.length;
  const rows = total / (dims[rank - 1] as number);
  withFrame(ctx, (f) => {
    const per = perTask(rows, ctx.threads.threads, Math.ceil(16384 / (dims[rank - 1] as number)));
    const args = [
      BINARY_OPS[kernel],
      f.input(a),
      f.input(b),
      f.output(out),
      f.int32s([...dims, ...aStrides, ...bStrides]),
      rank,
      per,
    ];
    ctx.threads.run(
      'binary_task',
      args,
      Math.ceil(rows / per),
      total * FLOPS_PER_ELEMENT >= ctx.minParallelFlops,
    );
  });
  return out;
}
