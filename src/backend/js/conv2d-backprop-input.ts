// Conv2DBackpropInput: dx (N,H,W,C) from dy (N,OH,OW,O) and w (KH,KW,C,O).
// Patch gradients dpatches[M, K] = dy[M, O] . w^T[O, K], then col2im scatters (adds) each patch
// row back to the input pixels it came from; chunked like Conv2D.
import type { Conv2DAttrs, FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { gemm, rowMajor } from './gemm.js';
import { checkLength, checkWindow, chunkRows, col2im, isPointwise } from './im2col.js';
import { scratch } from './scratch.js';

export function conv2dBackpropInput(
  alloc: Allocator,
  dy: FloatStorage,
  w: FloatStorage,
  attrs: Conv2DAttrs,
): FloatStorage {
  const { N, H, W, C, KH, KW, OH, OW, O } = attrs;
  checkWindow('Conv2DBackpropInput', attrs);
  checkLength('Conv2DBackpropInput', 'dy', dy, N * OH * OW * O);
  checkLength('Conv2DBackpropInput', 'w', w, KH * KW * C * O);
  const M = N * OH * OW;
  const K = KH * KW * C;
  const dx = allocLike(alloc, dy, N * H * W * C);
  // w^T: element (o, kidx) of the [O, K] view is w[kidx * O + o].
  const wT = rowMajor(w, 0, O, true);
  if (isPointwise(attrs)) {
    gemm(M, K, O, rowMajor(dy, 0, O), wT, dx, 0, K, false);
    return dx;
  }
  dx.fill(0);
  const rows = chunkRows(attrs);
  const dcols = scratch('conv.cols', rows * K);
  for (let r0 = 0; r0 < M; r0 += rows) {
    const count = Math.min(rows, M - r0);
    gemm(count, K, O, rowMajor(dy, r0 * O, O), wT, dcols, 0, K, false);
    col2im(dcols, attrs, r0, count, dx);
  }
  return dx;
}
