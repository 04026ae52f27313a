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
  checkConv2DBackpropInput(dy, w, attrs);
  const dx = allocLike(alloc, dy, attrs.N * attrs.H * attrs.W * attrs.C);
  conv2dBackpropInputImages(dy, w, attrs, dx, 0, attrs.N);
  return dx;
}

/** Throws unless the window geometry and the lengths of dy and w agree with `attrs`. */
export function checkConv2DBackpropInput(dy: FloatStorage, w: FloatStorage, attrs: Conv2DAttrs): void {
  const { N, C, KH, KW, OH, OW, O } = attrs;
  checkWindow('Conv2DBackpropInput', attrs);
  checkLength('Conv2DBackpropInput', 'dy', dy, N * OH * OW * O);
  checkLength('Conv2DBackpropInput', 'w', w, KH * KW * C * O);
}

/**
 * dx of images [n0, n1). Patch rows of one image only add into that image, so threads splitting N
 * write disjoint parts of dx, each element summed in the same order as one thread does.
 */
export function conv2dBackpropInputImages(
  dy: FloatStorage,
  w: FloatStorage,
  attrs: Conv2DAttrs,
  dx: FloatStorage,
  n0: number,
  n1: number,
): void {
  const { H, W, C, KH, KW, OH, OW, O } = attrs;
  const K = KH * KW * C;
  const rowStart = n0 * OH * OW;
  const rowEnd = n1 * OH * OW;
  // w^T: element (o, kidx) of the [O, K] view is w[kidx * O + o].
  const wT = rowMajor(w, 0, O, true);
  if (isPointwise(attrs)) {
    gemm(rowEnd - rowStart, K, O, rowMajor(dy, rowStart * O, O), wT, dx, rowStart * K, K, false);
    return;
  }
  dx.fill(0, n0 * H * W * C, n1 * H * W * C);
  const rows = chunkRows(attrs);
  const dcols = scratch('conv.cols', rows * K);
  for (let r0 = rowStart; r0 < rowEnd; r0 += rows) {
    const count = Math.min(rows, rowEnd - r0);
    gemm(count, K, O, rowMajor(dy, r0 * O, O), wT, dcols, 0, K, false);
    col2im(dcols, attrs, r0, count, dx);
  }
}
