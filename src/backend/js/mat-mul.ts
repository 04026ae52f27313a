// MatMul: batch independent products. a is [batch, m, k] ([batch, k, m] when transposeA), b is
// [batch, k, n] ([batch, n, k] when transposeB), out [batch, m, n]; all row-major.
import type { FloatStorage, MatMulAttrs } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { gemm, rowMajor } from './gemm.js';

export function matMul(alloc: Allocator, a: FloatStorage, b: FloatStorage, attrs: MatMulAttrs): FloatStorage {
  const { batch, m, k, n, transposeA, transposeB } = attrs;
  if (a.length !== batch * m * k || b.length !== batch * k * n) {
    throw new Error(
      `MatMul: expected a of ${batch * m * k} and b of ${batch * k * n} elements for batch ${batch}, ` +
        `m ${m}, k ${k}, n ${n}; found ${a.length} and ${b.length}`,
    );
  }
  const out = allocLike(alloc, a, batch * m * n);
  for (let t = 0; t < batch; t++) {
    const av = rowMajor(a, t * m * k, transposeA ? m : k, transposeA);
    const bv = rowMajor(b, t * k * n, transposeB ? k : n, transposeB);
    gemm(m, n, k, av, bv, out, t * m * n, n, false);
  }
  return out;
}
