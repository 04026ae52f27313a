// MatMul: batch independent products. a is [batch, m, k] ([batch, k, m] when transposeA), b is
// [batch, k, n] ([batch, n, k] when transposeB), out [batch, m, n]; all row-major.
import type { FloatStorage, MatMulAttrs } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { gemm, rowMajor } from './gemm.js';

export function matMul(alloc: Allocator, a: FloatStorage, b: FloatStorage, attrs: MatMulAttrs): FloatStorage {
  checkMatMul(a, b, attrs);
  const { batch, m, n } = attrs;
  const out = allocLike(alloc, a, batch * m * n);
  for (let t = 0; t < batch; t++) matMulBlock(a, b, attrs, out, t, 0, m, 0, n);
  return out;
}

/** Throws unless a and b have the lengths `attrs` implies. */
export function checkMatMul(a: FloatStorage, b: FloatStorage, attrs: MatMulAttrs): void {
  const { batch, m, k, n } = attrs;
  if (a.length !== batch * m * k || b.length !== batch * k * n) {
    throw new Error(
      `MatMul: expected a of ${batch * m * k} and b of ${batch * k * n} elements for batch ${batch}, ` +
        `m ${m}, k ${k}, n ${n}; found ${a.length} and ${b.length}`,
    );
  }
}

/**
 * The block out[t, i0..i1, j0..j1] of product t. Each element is summed the same way whatever the
 * block, so threads splitting rows or columns get bit-identical results.
 */
export function matMulBlock(
  a: FloatStorage,
  b: FloatStorage,
  attrs: MatMulAttrs,
  out: FloatStorage,
  t: number,
  i0: number,
  i1: number,
  j0: number,
  j1: number,
): void {
  const { m, k, n, transposeA, transposeB } = attrs;
  const av = rowMajor(a, t * m * k, transposeA ? m : k, transposeA);
  const bv = rowMajor(b, t * k * n, transposeB ? k : n, transposeB);
  av.offset += i0 * av.rowStride;
  bv.offset += j0 * bv.colStride;
  gemm(i1 - i0, j1 - j0, k, av, bv, out, t * m * n + i0 * n + j0, n, false);
}
