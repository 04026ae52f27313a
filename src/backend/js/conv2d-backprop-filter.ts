// Conv2DBackpropFilter: dw (KH,KW,C,O) from x (N,H,W,C) and dy (N,OH,OW,O).
// dw[K, O] = patches^T[K, M] . dy[M, O], summed over chunks of patch rows into a float64
// accumulator (M is large: 15,488 for the cnn recipe's conv2 at batch 128).
import type { Conv2DAttrs, FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { gemm } from './gemm.js';
import { checkLength, checkWindow, chunkRows, im2col, im2colColumns, isPointwise } from './im2col.js';
import { scratch } from './scratch.js';

export function conv2dBackpropFilter(
  alloc: Allocator,
  x: FloatStorage,
  dy: FloatStorage,
  attrs: Conv2DAttrs,
): FloatStorage {
  checkConv2DBackpropFilter(x, dy, attrs);
  const K = attrs.KH * attrs.KW * attrs.C;
  const dw = allocLike(alloc, x, K * attrs.O);
  conv2dBackpropFilterBlock(x, dy, attrs, dw, 0, K, 0, attrs.O);
  return dw;
}

/** Throws unless the window geometry and the lengths of x and dy agree with `attrs`. */
export function checkConv2DBackpropFilter(x: FloatStorage, dy: FloatStorage, attrs: Conv2DAttrs): void {
  const { N, H, W, C, OH, OW, O } = attrs;
  checkWindow('Conv2DBackpropFilter', attrs);
  checkLength('Conv2DBackpropFilter', 'x', x, N * H * W * C);
  checkLength('Conv2DBackpropFilter', 'dy', dy, N * OH * OW * O);
}

/**
 * The block dw[k0..k1, o0..o1] of dw viewed as [K, O]. Every block element is summed over the same
 * chunks of M in the same order whatever the block, so threads splitting K or O get bit-identical
 * results. A slice of K builds only its patch columns; a slice of O builds whole patch rows (so
 * split O into few blocks).
 */
export function conv2dBackpropFilterBlock(
  x: FloatStorage,
  dy: FloatStorage,
  attrs: Conv2DAttrs,
  dw: FloatStorage,
  k0: number,
  k1: number,
  o0: number,
  o1: number,
): void {
  const { N, KH, KW, C, OH, OW, O } = attrs;
  const M = N * OH * OW;
  const K = KH * KW * C;
  const kb = k1 - k0;
  const ob = o1 - o0;
  // patches^T: element (kidx, r) of the [K, M] view is patches[r * K + kidx]; rows from k0.
  const dyView = { data: dy, offset: o0, rowStride: O, colStride: 1 };
  if (isPointwise(attrs)) {
    gemm(kb, ob, M, { data: x, offset: k0, rowStride: 1, colStride: K }, dyView, dw, k0 * O + o0, O, false);
    return;
  }
  const acc = scratch('conv.dw', kb * ob);
  const rows = chunkRows(attrs);
  const cols = scratch('conv.cols', rows * kb);
  // Patch columns [k0, k1) of each chunk, read transposed: element (kidx - k0, r) is cols[r * kb + kidx - k0].
  const patchesT = { data: cols, offset: 0, rowStride: 1, colStride: kb };
  if (M === 0) acc.fill(0, 0, kb * ob);
  for (let r0 = 0; r0 < M; r0 += rows) {
    const count = Math.min(rows, M - r0);
    if (kb === K) im2col(x, attrs, r0, count, cols);
    else im2colColumns(x, attrs, r0, count, k0, k1, cols);
    gemm(kb, ob, count, patchesT, { ...dyView, offset: r0 * O + o0 }, acc, 0, ob, r0 > 0);
  }
  for (let i = 0; i < kb; i++) {
    for (let j = 0, src = i * ob, dst = (k0 + i) * O + o0; j < ob; j++) dw[dst + j] = acc[src + j] as number;
  }
}
