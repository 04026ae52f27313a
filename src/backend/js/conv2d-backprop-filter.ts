// Conv2DBackpropFilter: dw (KH,KW,C,O) from x (N,H,W,C) and dy (N,OH,OW,O).
// dw[K, O] = patches^T[K, M] . dy[M, O], summed over chunks of patch rows into a float64
// accumulator (M is large: 15,488 for the cnn recipe's conv2 at batch 128).
import type { Conv2DAttrs, FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { gemm, rowMajor } from './gemm.js';
import { checkLength, checkWindow, chunkRows, im2col, isPointwise } from './im2col.js';
import { scratch } from './scratch.js';

export function conv2dBackpropFilter(
  alloc: Allocator,
  x: FloatStorage,
  dy: FloatStorage,
  attrs: Conv2DAttrs,
): FloatStorage {
  const { N, H, W, C, KH, KW, OH, OW, O } = attrs;
  checkWindow('Conv2DBackpropFilter', attrs);
  checkLength('Conv2DBackpropFilter', 'x', x, N * H * W * C);
  checkLength('Conv2DBackpropFilter', 'dy', dy, N * OH * OW * O);
  const M = N * OH * OW;
  const K = KH * KW * C;
  const dw = allocLike(alloc, x, K * O);
  if (isPointwise(attrs)) {
    gemm(K, O, M, rowMajor(x, 0, K, true), rowMajor(dy, 0, O), dw, 0, O, false);
    return dw;
  }
  const acc = scratch('conv.dw', K * O);
  const rows = chunkRows(attrs);
  const cols = scratch('conv.cols', rows * K);
  if (M === 0) acc.fill(0, 0, K * O);
  for (let r0 = 0; r0 < M; r0 += rows) {
    const count = Math.min(rows, M - r0);
    im2col(x, attrs, r0, count, cols);
    // patches^T: element (kidx, r) of the [K, count] view is cols[r * K + kidx].
    gemm(K, O, count, rowMajor(cols, 0, K, true), rowMajor(dy, r0 * O, O), acc, 0, O, r0 > 0);
  }
  for (let i = 0; i < K * O; i++) dw[i] = acc[i] as number;
  return dw;
}
