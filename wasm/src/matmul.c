// MatMul: `batch` independent products out_t[m, n] = a_t[m, k] . b_t[k, n] (a_t read transposed from
// [k, m] when trans_a, b_t from [n, k] when trans_b), split into tasks of row_block x col_block
// output blocks. Each task packs its block's columns of b_t into its thread's scratch, unless the
// same thread packed exactly those for an earlier task of the same job (the scratch header says).
#include "kernels.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/** Bytes of one thread's scratch for matmul_task. */
EXPORT(matmul_scratch_bytes) i32 matmul_scratch_bytes(i32 k, i32 col_block) {
  return 64 + 4 * (packed_b_size(k, col_block) + PACK_A_FLOATS);
}

EXPORT(matmul_task)
void matmul_task(const float *a, const float *b, float *out, i32 m, i32 k, i32 n, i32 trans_a, i32 trans_b,
                 i32 row_block, i32 col_block, i32 job, char *scratch, i32 scratch_stride, i32 task, i32 thread) {
  const i32 row_blocks = (m + row_block - 1) / row_block, col_blocks = (n + col_block - 1) / col_block;
  const i32 t = task / (row_blocks * col_blocks), rest = task % (row_blocks * col_blocks);
  const i32 i0 = (rest / col_blocks) * row_block, j0 = (rest % col_blocks) * col_block;
  const i32 rows = MIN(row_block, m - i0), cols = MIN(col_block, n - j0);
  const float *at = a + t * m * k, *bt = b + t * k * n;
  const i32 ars = trans_a ? 1 : k, acs = trans_a ? m : 1;
  const i32 brs = trans_b ? 1 : n, bcs = trans_b ? k : 1;
  i32 *header = (i32 *)(scratch + thread * scratch_stride);
  float *bp = (float *)(header + 16), *ap = bp + packed_b_size(k, col_block);
  if (header[0] != job || header[1] != t || header[2] != j0) {
    pack_b(k, cols, bt + j0 * bcs, brs, bcs, bp);
    header[0] = job;
    header[1] = t;
    header[2] = j0;
  }
  gemm_packed(rows, cols, k, at + i0 * ars, ars, acs, bp, out + t * m * n + i0 * n + j0, n, 0, 0, 0, ap);
}

/** pack_b, for the JS side (convolution weights are packed once per call, before the tasks). */
EXPORT(pack_b_export) void pack_b_export(i32 k, i32 n, const float *B, i32 rs, i32 cs, float *Bp) {
  pack_b(k, n, B, rs, cs, Bp);
}

EXPORT(packed_b_floats) i32 packed_b_floats(i32 k, i32 n) { return packed_b_size(k, n); }

/** Floats of the A-packing buffer gemm_packed takes. */
EXPORT(pack_a_floats) i32 pack_a_floats(void) { return PACK_A_FLOATS; }
