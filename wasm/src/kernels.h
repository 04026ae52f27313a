// Shared declarations of the WebAssembly kernels (wasm32, SIMD128, no libc).
//
// Constraints every file here keeps:
// - No static mutable data and no malloc: every buffer (inputs, outputs, scratch) is linear memory
//   the JS side allocated and passes as a pointer, so one module instance per thread can share one
//   memory (src/backend/wasm/).
// - Exports take plain i32/f32 scalars. A kernel split across threads is exported as a task
//   function whose last two parameters are (task, thread): `task` picks the part of the output it
//   writes, `thread` picks its scratch (scratch + thread * scratch_stride). Which thread runs which
//   task never changes a result: every output element is computed by the same code in the same
//   order whatever the split.
// - float32 only; the JS side runs float64 on the js kernels.
// Letters: N batch, H/W image, C input channels, O output channels, K = KH*KW*C patch length,
// M = N*OH*OW output pixels.
#ifndef MNIST_LAB_KERNELS_H
#define MNIST_LAB_KERNELS_H

#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

typedef int32_t i32;

// ---- gemm (gemm.c) ----

// Register tile of the micro-kernel: MR rows x NR columns of C in 8 f32x4 accumulators.
#define MR 4
#define NR 8
// Depth of one packed block (k is split into equal blocks no deeper than this) and rows of A per
// packed block: an A block (MC x KC floats, 128 KB) stays in L2, a B micro-panel (KC x NR, 16 KB) in L1.
#define KC_MAX 512
#define MC 64

/** Floats pack_b writes for a k x n matrix: ceil(n / NR) panels of k x NR. */
INLINE i32 packed_b_size(i32 k, i32 n) { return ((n + NR - 1) / NR) * k * NR; }
/** Floats of the A-packing scratch gemm_packed needs. */
#define PACK_A_FLOATS (MC * KC_MAX)

/** Bp[(j / NR) * k * NR + p * NR + j % NR] = B(p, j) = B[p * rs + j * cs], zero past n. */
void pack_b(i32 k, i32 n, const float *B, i32 rs, i32 cs, float *Bp);

/**
 * C (m x n, leading dimension ldc) = A (m x k; element (i, p) = A[i * ars + p * acs]) . B, with B
 * packed by pack_b; C += when `accumulate`. Then, when bias is non-null, C += bias (per column),
 * and when relu, C = max(C, 0). Ap: PACK_A_FLOATS of scratch.
 */
void gemm_packed(i32 m, i32 n, i32 k, const float *A, i32 ars, i32 acs, const float *Bp, float *C, i32 ldc,
                 i32 accumulate, const float *bias, i32 relu, float *Ap);

// ---- convolution geometry (conv.c) ----

/** The Window2D/Conv2DAttrs fields, in this order, as 17 int32 in linear memory. */
typedef struct {
  i32 N, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH,
      dilationW, O;
} Geometry;

#endif
