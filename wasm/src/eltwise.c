// Elementwise kernels over ranges [task * per_task, ...) of their outputs (threads split by range),
// and the broadcasting binary kernels. Results equal the js backend's bit for bit: float32 +, -, *,
// / and max/min are correctly rounded in both (js computes in float64 and rounds once, which for
// these operations gives the same float32).
#include "kernels.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/** y = max(x, 0); NaN stays NaN (as the js backend's (v + |v|) / 2). */
EXPORT(relu_task) void relu_task(const float *x, float *y, i32 length, i32 per_task, i32 task) {
  const i32 i0 = task * per_task, i1 = MIN(length, i0 + per_task);
  const v128_t zero = wasm_f32x4_splat(0.0f);
  i32 i = i0;
  for (; i + 4 <= i1; i += 4) wasm_v128_store(y + i, wasm_f32x4_max(wasm_v128_load(x + i), zero));
  for (; i < i1; i++) y[i] = __builtin_wasm_max_f32(x[i], 0.0f);
}

/** dx = dy * (x > 0 ? 1 : 0): a multiply by the mask, so a non-finite dy where x <= 0 gives NaN (as js). */
EXPORT(relu_grad_task)
void relu_grad_task(const float *dy, const float *x, float *dx, i32 length, i32 per_task, i32 task) {
  const i32 i0 = task * per_task, i1 = MIN(length, i0 + per_task);
  const v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  i32 i = i0;
  for (; i + 4 <= i1; i += 4) {
    const v128_t mask = wasm_v128_and(wasm_f32x4_gt(wasm_v128_load(x + i), zero), one);
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), mask));
  }
  for (; i < i1; i++) dx[i] = dy[i] * (x[i] > 0.0f ? 1.0f : 0.0f);
}

// ---- binary, broadcasting ----

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAXIMUM, OP_MINIMUM, OP_EQUAL, OP_GREATER };

INLINE v128_t op4(i32 op, v128_t a, v128_t b) {
  switch (op) {
    case OP_ADD: return wasm_f32x4_add(a, b);
    case OP_SUB: return wasm_f32x4_sub(a, b);
    case OP_MUL: return wasm_f32x4_mul(a, b);
    case OP_DIV: return wasm_f32x4_div(a, b);
    case OP_MAXIMUM: return wasm_f32x4_max(a, b);
    case OP_MINIMUM: return wasm_f32x4_min(a, b);
    case OP_EQUAL: return wasm_v128_and(wasm_f32x4_eq(a, b), wasm_f32x4_splat(1.0f));
    default: return wasm_v128_and(wasm_f32x4_gt(a, b), wasm_f32x4_splat(1.0f));
  }
}

INLINE float op1(i32 op, float a, float b) {
  switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_MAXIMUM: return __builtin_wasm_max_f32(a, b);
    case OP_MINIMUM: return __builtin_wasm_min_f32(a, b);
    case OP_EQUAL: return a == b ? 1.0f : 0.0f;
    default: return a > b ? 1.0f : 0.0f;
  }
}

/** out[0..len) = a[t * as] op b[t * bs], steps 0 (broadcast) or 1. One loop per op and step pair. */
#define RUN(OP)                                                                                         \
  static void run_##OP(const float *a, i32 as, const float *b, i32 bs, float *out, i32 len) {           \
    i32 t = 0;                                                                                          \
    if (as && bs) {                                                                                     \
      for (; t + 4 <= len; t += 4) wasm_v128_store(out + t, op4(OP, wasm_v128_load(a + t), wasm_v128_load(b + t))); \
    } else if (as) {                                                                                    \
      const v128_t bv = wasm_f32x4_splat(b[0]);                                                         \
      for (; t + 4 <= len; t += 4) wasm_v128_store(out + t, op4(OP, wasm_v128_load(a + t), bv));       \
    } else if (bs) {                                                                                    \
      const v128_t av = wasm_f32x4_splat(a[0]);                                                         \
      for (; t + 4 <= len; t += 4) wasm_v128_store(out + t, op4(OP, av, wasm_v128_load(b + t)));       \
    }                                                                                                   \
    for (; t < len; t++) out[t] = op1(OP, a[t * as], b[t * bs]);                                        \
  }
RUN(OP_ADD)
RUN(OP_SUB)
RUN(OP_MUL)
RUN(OP_DIV)
RUN(OP_MAXIMUM)
RUN(OP_MINIMUM)
RUN(OP_EQUAL)
RUN(OP_GREATER)

typedef void (*Run)(const float *, i32, const float *, i32, float *, i32);
static const Run runs[] = {run_OP_ADD,     run_OP_SUB,     run_OP_MUL,   run_OP_DIV,
                           run_OP_MAXIMUM, run_OP_MINIMUM, run_OP_EQUAL, run_OP_GREATER};

/**
 * out = a op b over the broadcast plan of the js backend (src/backend/js/binary.ts): `rank` merged
 * output dims at plan[0..rank), a's strides at plan[rank..2 rank), b's at plan[2 rank..3 rank); the
 * last dim is the contiguous run (steps 0 or 1). Rows [task * rows_per_task, ...) of the runs.
 */
EXPORT(binary_task)
void binary_task(i32 op, const float *a, const float *b, float *out, const i32 *plan, i32 rank, i32 rows_per_task,
                 i32 task) {
  const i32 *dims = plan, *astr = plan + rank, *bstr = plan + 2 * rank;
  const i32 len = dims[rank - 1];
  i32 rows = 1;
  for (i32 d = 0; d < rank - 1; d++) rows *= dims[d];
  const i32 row0 = task * rows_per_task, row1 = MIN(rows, row0 + rows_per_task);
  const Run run = runs[op];
  for (i32 row = row0; row < row1; row++) {
    // The row's offsets in a and b from its index over the outer dims.
    i32 ai = 0, bi = 0, rest = row;
    for (i32 d = rank - 2; d >= 0; d--) {
      const i32 index = rest % dims[d];
      rest /= dims[d];
      ai += index * astr[d];
      bi += index * bstr[d];
    }
    run(a + ai, astr[rank - 1], b + bi, bstr[rank - 1], out + row * len, len);
  }
}

// ---- reductions ----

/**
 * Sum over the middle axis of x viewed as [outer, reduce, inner], in float64 (as the js backend).
 * acc: `inner` doubles of scratch.
 */
EXPORT(sum_axis) void sum_axis(const float *x, i32 outer, i32 reduce, i32 inner, float *out, double *acc) {
  for (i32 o = 0; o < outer; o++) {
    const float *src = x + o * reduce * inner;
    if (inner == 1) {
      double s = 0.0;
      for (i32 r = 0; r < reduce; r++) s += (double)src[r];
      out[o] = (float)s;
      continue;
    }
    for (i32 j = 0; j < inner; j++) acc[j] = 0.0;
    for (i32 r = 0; r < reduce; r++, src += inner) {
      i32 j = 0;
      for (; j + 4 <= inner; j += 4) {
        const v128_t v = wasm_v128_load(src + j);
        wasm_v128_store(acc + j, wasm_f64x2_add(wasm_v128_load(acc + j), wasm_f64x2_promote_low_f32x4(v)));
        wasm_v128_store(acc + j + 2, wasm_f64x2_add(wasm_v128_load(acc + j + 2),
                                                    wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(v, v, 1, 0))));
      }
      for (; j < inner; j++) acc[j] += (double)src[j];
    }
    for (i32 j = 0; j < inner; j++) out[o * inner + j] = (float)acc[j];
  }
}
