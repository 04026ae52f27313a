// The matrix product behind MatMul and the convolutions: C (=|+=) A . B [+ bias] [relu], f32x4 SIMD.
//
// Goto/BLIS structure: B is packed once per call (pack_b) into NR-column micro-panels holding all
// k rows; A is packed per MC x KC block into MR-row micro-panels; a 4x8 register-tiled micro-kernel
// multiplies one A micro-panel by one B micro-panel, keeping the 4x8 tile of C in 8 f32x4
// accumulators. Per k step it loads 2 vectors of B and 4 broadcast scalars of A for 16 f32x4
// operations (8 mul + 8 add; WebAssembly SIMD has no FMA outside relaxed SIMD, which Node 20 lacks).
// NOTE: V8 gives wasm 15 usable xmm registers on x64: 8 accumulators + 2 B + 1 A + temporaries
// fit; a 6x8 tile (12 accumulators) spilled and measured slower.
// NOTE: every element of C is summed over the same KC blocks in the same order (the blocking
// depends on k only), so any split of rows or columns across threads gives bit-identical results.
#include "kernels.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

void pack_b(i32 k, i32 n, const float *B, i32 rs, i32 cs, float *Bp) {
  for (i32 j0 = 0; j0 < n; j0 += NR) {
    const i32 nr = MIN(NR, n - j0);
    float *dst = Bp + (j0 / NR) * k * NR;
    if (nr == NR && cs == 1) {
      // Row-major B: each row of the panel is two contiguous vectors.
      for (i32 p = 0; p < k; p++) {
        const float *src = B + p * rs + j0;
        wasm_v128_store(dst + p * NR, wasm_v128_load(src));
        wasm_v128_store(dst + p * NR + 4, wasm_v128_load(src + 4));
      }
    } else {
      for (i32 p = 0; p < k; p++) {
        const float *src = B + p * rs + j0 * cs;
        i32 j = 0;
        for (; j < nr; j++) dst[p * NR + j] = src[j * cs];
        for (; j < NR; j++) dst[p * NR + j] = 0.0f;
      }
    }
  }
}

/** Ap[(i / MR) * kc * MR + p * MR + i % MR] = A(i, p) = A[i * ars + p * acs], zero past mc. */
static void pack_a(i32 mc, i32 kc, const float *A, i32 ars, i32 acs, float *Ap) {
  for (i32 i0 = 0; i0 < mc; i0 += MR) {
    const i32 mr = MIN(MR, mc - i0);
    float *dst = Ap + i0 * kc;
    if (mr == MR && acs == 1) {
      // Row-major A: 4x4 blocks transposed in registers.
      const float *r0 = A + i0 * ars, *r1 = r0 + ars, *r2 = r1 + ars, *r3 = r2 + ars;
      i32 p = 0;
      for (; p + 4 <= kc; p += 4) {
        v128_t a = wasm_v128_load(r0 + p), b = wasm_v128_load(r1 + p);
        v128_t c = wasm_v128_load(r2 + p), d = wasm_v128_load(r3 + p);
        v128_t ab0 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), ab1 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
        v128_t cd0 = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), cd1 = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);
        wasm_v128_store(dst + p * MR, wasm_i64x2_shuffle(ab0, cd0, 0, 2));
        wasm_v128_store(dst + p * MR + 4, wasm_i64x2_shuffle(ab0, cd0, 1, 3));
        wasm_v128_store(dst + p * MR + 8, wasm_i64x2_shuffle(ab1, cd1, 0, 2));
        wasm_v128_store(dst + p * MR + 12, wasm_i64x2_shuffle(ab1, cd1, 1, 3));
      }
      for (; p < kc; p++) {
        dst[p * MR] = r0[p];
        dst[p * MR + 1] = r1[p];
        dst[p * MR + 2] = r2[p];
        dst[p * MR + 3] = r3[p];
      }
    } else if (mr == MR && ars == 1) {
      // Column-major A (a transposed operand): each k step is one contiguous vector.
      for (i32 p = 0; p < kc; p++) wasm_v128_store(dst + p * MR, wasm_v128_load(A + i0 + p * acs));
    } else {
      for (i32 p = 0; p < kc; p++) {
        i32 r = 0;
        for (; r < mr; r++) dst[p * MR + r] = A[(i0 + r) * ars + p * acs];
        for (; r < MR; r++) dst[p * MR + r] = 0.0f;
      }
    }
  }
}

/** One output row of a tile: v (+= C when accumulate) (+ bias) (relu), stored to c. */
INLINE void store_row(float *c, v128_t v0, v128_t v1, i32 accumulate, const float *bias, i32 relu) {
  if (accumulate) {
    v0 = wasm_f32x4_add(wasm_v128_load(c), v0);
    v1 = wasm_f32x4_add(wasm_v128_load(c + 4), v1);
  }
  if (bias) {
    v0 = wasm_f32x4_add(v0, wasm_v128_load(bias));
    v1 = wasm_f32x4_add(v1, wasm_v128_load(bias + 4));
  }
  if (relu) {
    v0 = wasm_f32x4_max(v0, wasm_f32x4_splat(0.0f));
    v1 = wasm_f32x4_max(v1, wasm_f32x4_splat(0.0f));
  }
  wasm_v128_store(c, v0);
  wasm_v128_store(c + 4, v1);
}

/** The MR x NR tile of C at c from kc steps of packed a and b; mr x nr of it are real. */
static void micro_kernel(i32 kc, const float *a, const float *b, float *c, i32 ldc, i32 mr, i32 nr,
                         i32 accumulate, const float *bias, i32 relu) {
  v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (i32 p = 0; p < kc; p++) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    v128_t a0 = wasm_v128_load32_splat(a);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
    a0 = wasm_v128_load32_splat(a + 1);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a0, b0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a0, b1));
    a0 = wasm_v128_load32_splat(a + 2);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a0, b0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a0, b1));
    a0 = wasm_v128_load32_splat(a + 3);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a0, b0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a0, b1));
    a += MR;
    b += NR;
  }
  if (mr == MR && nr == NR) {
    store_row(c, c00, c01, accumulate, bias, relu);
    store_row(c + ldc, c10, c11, accumulate, bias, relu);
    store_row(c + 2 * ldc, c20, c21, accumulate, bias, relu);
    store_row(c + 3 * ldc, c30, c31, accumulate, bias, relu);
    return;
  }
  // An edge tile: the same arithmetic per element, scalar.
  float t[MR * NR];
  wasm_v128_store(t, c00);
  wasm_v128_store(t + 4, c01);
  wasm_v128_store(t + 8, c10);
  wasm_v128_store(t + 12, c11);
  wasm_v128_store(t + 16, c20);
  wasm_v128_store(t + 20, c21);
  wasm_v128_store(t + 24, c30);
  wasm_v128_store(t + 28, c31);
  for (i32 r = 0; r < mr; r++) {
    for (i32 j = 0; j < nr; j++) {
      float v = t[r * NR + j];
      if (accumulate) v = c[r * ldc + j] + v;
      if (bias) v = v + bias[j];
      if (relu) v = __builtin_wasm_max_f32(v, 0.0f);
      c[r * ldc + j] = v;
    }
  }
}

void gemm_packed(i32 m, i32 n, i32 k, const float *A, i32 ars, i32 acs, const float *Bp, float *C, i32 ldc,
                 i32 accumulate, const float *bias, i32 relu, float *Ap) {
  if (m <= 0 || n <= 0) return;
  if (k == 0) {
    for (i32 i = 0; i < m; i++) {
      for (i32 j = 0; j < n; j++) {
        float v = accumulate ? C[i * ldc + j] : 0.0f;
        if (bias) v = v + bias[j];
        if (relu) v = __builtin_wasm_max_f32(v, 0.0f);
        C[i * ldc + j] = v;
      }
    }
    return;
  }
  const i32 blocks = (k + KC_MAX - 1) / KC_MAX;
  const i32 kc_step = (k + blocks - 1) / blocks;
  for (i32 pc = 0; pc < k; pc += kc_step) {
    const i32 kc = MIN(kc_step, k - pc);
    const i32 last = pc + kc >= k;
    const i32 acc = accumulate || pc > 0;
    for (i32 ic = 0; ic < m; ic += MC) {
      const i32 mc = MIN(MC, m - ic);
      pack_a(mc, kc, A + ic * ars + pc * acs, ars, acs, Ap);
      for (i32 jr = 0; jr < n; jr += NR) {
        const float *bp = Bp + (jr / NR) * k * NR + pc * NR;
        const float *bias_j = last && bias ? bias + jr : 0;
        for (i32 ir = 0; ir < mc; ir += MR) {
          micro_kernel(kc, Ap + ir * kc, bp, C + (ic + ir) * ldc + jr, ldc, MIN(MR, mc - ir), MIN(NR, n - jr), acc,
                       bias_j, last && relu);
        }
      }
    }
  }
}
