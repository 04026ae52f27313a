// Conv2D: y (N,OH,OW,O) = x (N,H,W,C) conv w (KH,KW,C,O) [+ bias (O)].
// As a matmul over output pixels: y[M, O] = patches[M, K] . w[K, O], M = N*OH*OW, K = KH*KW*C.
// Patches are built (im2col) a chunk of rows at a time into float64 scratch, so the whole patch
// matrix (17 MB for the cnn recipe's conv2 at batch 128) never exists. 1x1 stride-1 unpadded convs
// skip im2col: x is already [M, C].
import type { Conv2DAttrs, FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { gemm, rowMajor } from './gemm.js';
import { checkLength, checkWindow, chunkRows, im2col, isPointwise } from './im2col.js';
import { scratch } from './scratch.js';

export function conv2d(
  alloc: Allocator,
  x: FloatStorage,
  w: FloatStorage,
  bias: FloatStorage | null,
  attrs: Conv2DAttrs,
): FloatStorage {
  checkConv2D(x, w, bias, attrs);
  const y = allocLike(alloc, x, attrs.N * attrs.OH * attrs.OW * attrs.O);
  conv2dRows(x, w, bias, attrs, y, 0, attrs.N * attrs.OH * attrs.OW);
  return y;
}

/** Throws unless the window geometry and the lengths of x, w and bias agree with `attrs`. */
export function checkConv2D(
  x: FloatStorage,
  w: FloatStorage,
  bias: FloatStorage | null,
  attrs: Conv2DAttrs,
): void {
  const { N, H, W, C, KH, KW, O } = attrs;
  checkWindow('Conv2D', attrs);
  checkLength('Conv2D', 'x', x, N * H * W * C);
  checkLength('Conv2D', 'w', w, KH * KW * C * O);
  if (bias) checkLength('Conv2D', 'bias', bias, O);
}

/**
 * Rows [rowStart, rowEnd) of y viewed as [M, O] (output pixels row-major over N, OH, OW). Each row
 * is computed the same way whatever the range, so threads splitting M get bit-identical results.
 */
export function conv2dRows(
  x: FloatStorage,
  w: FloatStorage,
  bias: FloatStorage | null,
  attrs: Conv2DAttrs,
  y: FloatStorage,
  rowStart: number,
  rowEnd: number,
): void {
  const { KH, KW, C, O } = attrs;
  const K = KH * KW * C;
  const wView = rowMajor(w, 0, O);
  if (isPointwise(attrs)) {
    gemm(rowEnd - rowStart, O, K, rowMajor(x, rowStart * K, K), wView, y, rowStart * O, O, false);
  } else {
    const rows = chunkRows(attrs);
    const cols = scratch('conv.cols', rows * K);
    for (let r0 = rowStart; r0 < rowEnd; r0 += rows) {
      const count = Math.min(rows, rowEnd - r0);
      im2col(x, attrs, r0, count, cols);
      gemm(count, O, K, rowMajor(cols, 0, K), wView, y, r0 * O, O, false);
    }
  }
  if (bias) {
    for (let r = rowStart, i = rowStart * O; r < rowEnd; r++)
      for (let o = 0; o < O; o++, i++) y[i] = (y[i] as number) + (bias[o] as number);
  }
}
