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
  const { N, H, W, C, KH, KW, OH, OW, O } = attrs;
  checkWindow('Conv2D', attrs);
  checkLength('Conv2D', 'x', x, N * H * W * C);
  checkLength('Conv2D', 'w', w, KH * KW * C * O);
  if (bias) checkLength('Conv2D', 'bias', bias, O);
  const M = N * OH * OW;
  const K = KH * KW * C;
  const y = allocLike(alloc, x, M * O);
  const wView = rowMajor(w, 0, O);
  if (isPointwise(attrs)) {
    gemm(M, O, K, rowMajor(x, 0, K), wView, y, 0, O, false);
  } else {
    const rows = chunkRows(attrs);
    const cols = scratch('conv.cols', rows * K);
    for (let r0 = 0; r0 < M; r0 += rows) {
      const count = Math.min(rows, M - r0);
      im2col(x, attrs, r0, count, cols);
      gemm(count, O, K, rowMajor(cols, 0, K), wView, y, r0 * O, O, false);
    }
  }
  if (bias) {
    for (let r = 0, i = 0; r < M; r++)
      for (let o = 0; o < O; o++, i++) y[i] = (y[i] as number) + (bias[o] as number);
  }
  return y;
}
