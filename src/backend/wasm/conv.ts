// The convolution kernels on wasm (wasm/src/conv.c): Conv2D, FusedConv2D (bias and ReLU applied
// in the product's epilogue), Conv2DBackpropInput, Conv2DBackpropFilter and its Bias variant.
// float32 only: the callers route float64 to the js kernels. Shapes are checked by the js
// backend's own checks, so errors read the same on both backends.
import type { Conv2DAttrs, FusedConv2DAttrs } from '../kernels.js';
import { checkConv2D } from '../js/conv2d.js';
import { checkConv2DBackpropFilter } from '../js/conv2d-backprop-filter.js';
import { checkConv2DBackpropInput } from '../js/conv2d-backprop-input.js';
import {
  FLOPS_PER_ELEMENT,
  geometry,
  lines,
  perTask,
  roundUp,
  withFrame,
  type WasmContext,
} from './context.js';

/** Multiply-adds x2 of a convolution (forward, backprop-input and backprop-filter alike). */
export function convFlops(a: Conv2DAttrs): number {
  return 2 * a.N * a.OH * a.OW * a.O * a.KH * a.KW * a.C;
}

/** Bytes of one thread's scratch for the conv tasks: a chunk of patch rows, packed dy, A packing. */
function convScratchBytes(ctx: WasmContext, K: number, O: number): number {
  const chunk = ctx.exports.conv_chunk_rows(K);
  return lines(4 * (chunk * K + ctx.exports.packed_b_floats(chunk, O) + ctx.exports.pack_a_floats()));
}

/** y (N,OH,OW,O) = x conv w [+ bias], then ReLU when `relu`. */
export function conv2d(
  ctx: WasmContext,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  attrs: Conv2DAttrs | FusedConv2DAttrs,
  relu: boolean,
): Float32Array {
  checkConv2D(x, w, bias, attrs);
  const { N, OH, OW, KH, KW, C, O } = attrs;
  const M = N * OH * OW;
  const K = KH * KW * C;
  const y = ctx.alloc('float32', M * O);
  if (M * O === 0) return y;
  const e = ctx.exports;
  withFrame(ctx, (f) => {
    const wp = f.scratch(4 * e.packed_b_floats(K, O));
    e.pack_b_export(K, O, f.input(w), O, 1, wp);
    const stride = convScratchBytes(ctx, K, O);
    const rows = perTask(M, ctx.threads.threads, e.conv_chunk_rows(K), e.conv_chunk_rows(K));
    const args = [
      f.input(x),
      wp,
      bias ? f.input(bias) : 0,
      f.output(y),
      f.int32s(geometry(attrs)),
      relu ? 1 : 0,
      rows,
      f.scratch(stride * ctx.threads.threads),
      stride,
    ];
    ctx.threads.run('conv2d_task', args, Math.ceil(M / rows), convFlops(attrs) >= ctx.minParallelFlops);
  });
  return y;
}

/** dx (N,H,W,C) from dy (N,OH,OW,O) and w. */
export function conv2dBackpropInput(
  ctx: WasmContext,
  dy: Float32Array,
  w: Float32Array,
  attrs: Conv2DAttrs,
): Float32Array {
  checkConv2DBackpropInput(dy, w, attrs);
  const { N, H, W, C, KH, KW, O } = attrs;
  const K = KH * KW * C;
  const dx = ctx.alloc('float32', N * H * W * C);
  if (dx.length === 0) return dx;
  const e = ctx.exports;
  withFrame(ctx, (f) => {
    // w^T [O, K]: element (o, kidx) is w[kidx * O + o].
    const wtp = f.scratch(4 * e.packed_b_floats(O, K));
    e.pack_b_export(O, K, f.input(w), 1, O, wtp);
    const stride = convScratchBytes(ctx, K, O);
    const images = perTask(N, ctx.threads.threads, 1);
    const args = [
      f.input(dy),
      wtp,
      f.output(dx),
      f.int32s(geometry(attrs)),
      images,
      f.scratch(stride * ctx.threads.threads),
      stride,
    ];
    const work = convFlops(attrs) + dx.length * FLOPS_PER_ELEMENT;
    ctx.threads.run('conv2d_backprop_input_task', args, Math.ceil(N / images), work >= ctx.minParallelFlops);
  });
  return dx;
}

/**
 * Patch rows per Conv2DBackpropFilter task: fixed by the geometry alone (not the thread count),
 * since the partial sums are added in task order: any thread count gives the same dw.
 */
function filterRowsPerTask(ctx: WasmContext, M: number, K: number): number {
  const chunk = ctx.exports.conv_chunk_rows(K);
  return Math.max(4 * chunk, roundUp(Math.ceil(M / 16), chunk));
}

/** dw (KH,KW,C,O) from x and dy, and with `withBias` dbias (O) = dy summed over N, OH, OW. */
export function conv2dBackpropFilter(
  ctx: WasmContext,
  x: Float32Array,
  dy: Float32Array,
  attrs: Conv2DAttrs,
  withBias: boolean,
): { dw: Float32Array; dbias: Float32Array | null } {
  checkConv2DBackpropFilter(x, dy, attrs);
  const { N, OH, OW, KH, KW, C, O } = attrs;
  const M = N * OH * OW;
  const K = KH * KW * C;
  const dw = ctx.alloc('float32', K * O);
  const dbias = withBias ? ctx.alloc('float32', O) : null;
  const e = ctx.exports;
  withFrame(ctx, (f) => {
    const rows = filterRowsPerTask(ctx, M, K);
    const tasks = Math.max(1, Math.ceil(M / rows));
    const partialFloats = e.conv2d_filter_partial_floats(K, O);
    const partial = f.scratch(4 * partialFloats * tasks);
    const stride = convScratchBytes(ctx, K, O);
    const args = [
      f.input(x),
      f.input(dy),
      partial,
      f.int32s(geometry(attrs)),
      withBias ? 1 : 0,
      rows,
      f.scratch(stride * ctx.threads.threads),
      stride,
    ];
    ctx.threads.run('conv2d_backprop_filter_task', args, tasks, convFlops(attrs) >= ctx.minParallelFlops);
    e.conv2d_filter_reduce(partial, tasks, K, O, withBias ? 1 : 0, f.output(dw), dbias ? f.output(dbias) : 0);
  });
  return { dw, dbias };
}
