// Convolutions over NHWC activations and HWIO kernels, as matrix products over output pixels
// (im2col): y[M, O] = patches[M, K] . w[K, O]. A patch row holds, for each tap (kh, kw), the C
// channels of the input pixel under it (zeros over padding): the order of w's first three axes.
// Patches are built a chunk of rows at a time into the thread's scratch, so the whole patch matrix
// (17 MB for the cnn recipe's conv2 at batch 128) never exists. 1x1 stride-1 unpadded convolutions
// ("pointwise") skip im2col: x is already [M, C].
//
// Split across threads: forward by output rows, backprop-input by images (each image's dx is its
// own), backprop-filter by rows of M into per-task partial sums that conv_filter_reduce adds in task
// order (so the result does not depend on which thread ran which task).
#include "kernels.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static i32 is_pointwise(const Geometry *g) {
  return g->KH == 1 && g->KW == 1 && g->strideH == 1 && g->strideW == 1 && g->padTop == 0 && g->padBottom == 0 &&
         g->padLeft == 0 && g->padRight == 0 && g->OH == g->H && g->OW == g->W;
}

/** Patch rows per chunk: a chunk (rows x K floats) of about 64 KB, whole micro-panels. */
EXPORT(conv_chunk_rows) i32 conv_chunk_rows(i32 K) { return MAX(MR, (16384 / MAX(K, 1)) / MR * MR); }

INLINE void copy_floats(float *dst, const float *src, i32 n) {
  i32 i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

INLINE void add_floats(float *dst, const float *src, i32 n) {
  i32 i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i), wasm_v128_load(src + i)));
  for (; i < n; i++) dst[i] = dst[i] + src[i];
}

INLINE void zero_floats(float *dst, i32 n) {
  i32 i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_splat(0.0f));
  for (; i < n; i++) dst[i] = 0.0f;
}

/** Floats of one task's partial sums in conv2d_backprop_filter_task: dw (K*O, rounded up to 4), then O doubles. */
EXPORT(conv2d_filter_partial_floats) i32 conv2d_filter_partial_floats(i32 K, i32 O) { return ((K * O + 3) & ~3) + 2 * O; }

/** cols[(r - r0) * K + (kh * KW + kw) * C + c] = x[n, ih, iw, c] for patch rows [r0, r0 + count). */
static void im2col(const float *x, const Geometry *g, i32 r0, i32 count, float *cols) {
  const i32 C = g->C, pixels = g->OH * g->OW;
  float *o = cols;
  for (i32 r = r0; r < r0 + count; r++) {
    const i32 n = r / pixels, rest = r - n * pixels;
    const i32 oh = rest / g->OW, ow = rest - oh * g->OW;
    const i32 ih0 = oh * g->strideH - g->padTop, iw0 = ow * g->strideW - g->padLeft;
    for (i32 kh = 0; kh < g->KH; kh++) {
      const i32 ih = ih0 + kh * g->dilationH;
      if (ih < 0 || ih >= g->H) {
        zero_floats(o, g->KW * C);
        o += g->KW * C;
        continue;
      }
      const float *row = x + (n * g->H + ih) * g->W * C;
      if (g->dilationW == 1 && iw0 >= 0 && iw0 + g->KW <= g->W) {
        // The whole kernel row inside the image: KW * C contiguous floats.
        copy_floats(o, row + iw0 * C, g->KW * C);
        o += g->KW * C;
        continue;
      }
      for (i32 kw = 0; kw < g->KW; kw++) {
        const i32 iw = iw0 + kw * g->dilationW;
        if (iw < 0 || iw >= g->W) zero_floats(o, C);
        else copy_floats(o, row + iw * C, C);
        o += C;
      }
    }
  }
}

/** The adjoint of im2col: dx[n, ih, iw, c] += cols[(r - r0) * K + (kh * KW + kw) * C + c]. */
static void col2im(const float *cols, const Geometry *g, i32 r0, i32 count, float *dx) {
  const i32 C = g->C, pixels = g->OH * g->OW;
  const float *o = cols;
  for (i32 r = r0; r < r0 + count; r++) {
    const i32 n = r / pixels, rest = r - n * pixels;
    const i32 oh = rest / g->OW, ow = rest - oh * g->OW;
    const i32 ih0 = oh * g->strideH - g->padTop, iw0 = ow * g->strideW - g->padLeft;
    for (i32 kh = 0; kh < g->KH; kh++) {
      const i32 ih = ih0 + kh * g->dilationH;
      if (ih < 0 || ih >= g->H) {
        o += g->KW * C;
        continue;
      }
      float *row = dx + (n * g->H + ih) * g->W * C;
      for (i32 kw = 0; kw < g->KW; kw++) {
        const i32 iw = iw0 + kw * g->dilationW;
        if (iw >= 0 && iw < g->W) add_floats(row + iw * C, o, C);
        o += C;
      }
    }
  }
}

/**
 * Conv2D (optionally + bias, + relu) rows [task * rows_per_task, ...) of y viewed as [M, O].
 * wp: w packed by pack_b(K, O, w, O, 1). Thread scratch: chunk x K floats of patches, then the
 * A-packing buffer.
 */
EXPORT(conv2d_task)
void conv2d_task(const float *x, const float *wp, const float *bias, float *y, const Geometry *g, i32 relu,
                 i32 rows_per_task, char *scratch, i32 scratch_stride, i32 task, i32 thread) {
  const i32 M = g->N * g->OH * g->OW, K = g->KH * g->KW * g->C, O = g->O;
  const i32 r0 = task * rows_per_task, r1 = MIN(M, r0 + rows_per_task);
  float *mine = (float *)(scratch + thread * scratch_stride);
  if (is_pointwise(g)) {
    gemm_packed(r1 - r0, O, K, x + r0 * K, K, 1, wp, y + r0 * O, O, 0, bias, relu, mine);
    return;
  }
  const i32 chunk = conv_chunk_rows(K);
  float *cols = mine, *Ap = mine + chunk * K;
  for (i32 r = r0; r < r1; r += chunk) {
    const i32 count = MIN(chunk, r1 - r);
    im2col(x, g, r, count, cols);
    gemm_packed(count, O, K, cols, K, 1, wp, y + r * O, O, 0, bias, relu, Ap);
  }
}

/**
 * Conv2DBackpropInput for images [task * images_per_task, ...): dpatches[M, K] = dy[M, O] . w^T,
 * scattered back (col2im) into dx. wtp: w^T packed by pack_b(O, K, w, 1, O). Scratch as conv2d_task.
 */
EXPORT(conv2d_backprop_input_task)
void conv2d_backprop_input_task(const float *dy, const float *wtp, float *dx, const Geometry *g,
                                i32 images_per_task, char *scratch, i32 scratch_stride, i32 task, i32 thread) {
  const i32 K = g->KH * g->KW * g->C, O = g->O, pixels = g->OH * g->OW;
  const i32 n0 = task * images_per_task, n1 = MIN(g->N, n0 + images_per_task);
  const i32 r0 = n0 * pixels, r1 = n1 * pixels;
  float *mine = (float *)(scratch + thread * scratch_stride);
  if (is_pointwise(g)) {
    gemm_packed(r1 - r0, K, O, dy + r0 * O, O, 1, wtp, dx + r0 * K, K, 0, 0, 0, mine);
    return;
  }
  zero_floats(dx + n0 * g->H * g->W * g->C, (n1 - n0) * g->H * g->W * g->C);
  const i32 chunk = conv_chunk_rows(K);
  float *dcols = mine, *Ap = mine + chunk * K;
  for (i32 r = r0; r < r1; r += chunk) {
    const i32 count = MIN(chunk, r1 - r);
    gemm_packed(count, K, O, dy + r * O, O, 1, wtp, dcols, K, 0, 0, 0, Ap);
    col2im(dcols, g, r, count, dx);
  }
}

/**
 * Conv2DBackpropFilter over patch rows [task * rows_per_task, ...): the partial sums
 * dw_t[K, O] = patches^T . dy of those rows, at partial + task * conv2d_filter_partial_floats(K, O),
 * followed (with_bias) by dbias_t[O] = column sums of dy as O doubles (16-byte aligned). Thread scratch: chunk x K floats of
 * patches, chunk x O (rounded up to NR) of packed dy, then the A-packing buffer.
 */
EXPORT(conv2d_backprop_filter_task)
void conv2d_backprop_filter_task(const float *x, const float *dy, float *partial, const Geometry *g, i32 with_bias,
                                 i32 rows_per_task, char *scratch, i32 scratch_stride, i32 task, i32 thread) {
  const i32 M = g->N * g->OH * g->OW, K = g->KH * g->KW * g->C, O = g->O;
  const i32 r0 = task * rows_per_task, r1 = MIN(M, r0 + rows_per_task);
  float *dw = partial + task * conv2d_filter_partial_floats(K, O);
  float *mine = (float *)(scratch + thread * scratch_stride);
  const i32 chunk = conv_chunk_rows(K);
  float *cols = mine, *dyp = mine + chunk * K, *Ap = dyp + packed_b_size(chunk, O);
  const i32 pointwise = is_pointwise(g);
  for (i32 r = r0; r < r1; r += chunk) {
    const i32 count = MIN(chunk, r1 - r);
    const float *patches = cols;
    if (pointwise) patches = x + r * K;
    else im2col(x, g, r, count, cols);
    pack_b(count, O, dy + r * O, O, 1, dyp);
    // patches^T: element (kidx, row) is patches[row * K + kidx].
    gemm_packed(K, O, count, patches, 1, K, dyp, dw, O, r > r0, 0, 0, Ap);
  }
  if (r1 <= r0) zero_floats(dw, K * O);
  if (!with_bias) return;
  // dbias_t in float64 (M is large; the js backend sums in float64 too), two columns per f64x2.
  double *db = (double *)(dw + K * O);
  for (i32 o = 0; o < O; o++) db[o] = 0.0;
  for (i32 r = r0; r < r1; r++) {
    const float *row = dy + r * O;
    i32 o = 0;
    for (; o + 4 <= O; o += 4) {
      const v128_t v = wasm_v128_load(row + o);
      wasm_v128_store(db + o, wasm_f64x2_add(wasm_v128_load(db + o), wasm_f64x2_promote_low_f32x4(v)));
      wasm_v128_store(db + o + 2, wasm_f64x2_add(wasm_v128_load(db + o + 2),
                                                 wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(v, v, 1, 0))));
    }
    for (; o < O; o++) db[o] += (double)row[o];
  }
}

/** dw (K*O) and, with_bias, dbias (O) = the sum of the `tasks` partials in task order. */
EXPORT(conv2d_filter_reduce)
void conv2d_filter_reduce(const float *partial, i32 tasks, i32 K, i32 O, i32 with_bias, float *dw, float *dbias) {
  const i32 stride = conv2d_filter_partial_floats(K, O);
  copy_floats(dw, partial, K * O);
  for (i32 t = 1; t < tasks; t++) add_floats(dw, partial + t * stride, K * O);
  if (!with_bias) return;
  for (i32 o = 0; o < O; o++) {
    double s = 0.0;
    for (i32 t = 0; t < tasks; t++) s += ((const double *)(partial + t * stride + K * O))[o];
    dbias[o] = (float)s;
  }
}
