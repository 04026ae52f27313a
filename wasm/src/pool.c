// Max pooling over NHWC with the argmax workspace, and its gradient; split across threads by images.
// As the js backend: y is the max of each window's valid (unpadded) cells, the workspace holds the
// flat index into x of each max, the first maximum in (kh, kw) order wins ties, NaN never wins
// (v > best is false), and a window with no valid cell gives 0 and index -1.
#include "kernels.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
/** Cells of the largest window max_pool_task takes (the caller runs larger ones on js). */
#define MAX_WINDOW 64

EXPORT(max_pool_task)
void max_pool_task(const float *x, float *y, i32 *argmax, const Geometry *g, i32 images_per_task, i32 task) {
  const i32 C = g->C;
  const i32 n0 = task * images_per_task, n1 = MIN(g->N, n0 + images_per_task);
  i32 taps[MAX_WINDOW];
  for (i32 n = n0; n < n1; n++) {
    for (i32 oh = 0; oh < g->OH; oh++) {
      for (i32 ow = 0; ow < g->OW; ow++) {
        const i32 dst = ((n * g->OH + oh) * g->OW + ow) * C;
        // The window's valid cells (flat index of their channel 0), in (kh, kw) order.
        i32 count = 0;
        for (i32 kh = 0; kh < g->KH; kh++) {
          const i32 ih = oh * g->strideH - g->padTop + kh * g->dilationH;
          if (ih < 0 || ih >= g->H) continue;
          for (i32 kw = 0; kw < g->KW; kw++) {
            const i32 iw = ow * g->strideW - g->padLeft + kw * g->dilationW;
            if (iw < 0 || iw >= g->W || count == MAX_WINDOW) continue;
            taps[count++] = ((n * g->H + ih) * g->W + iw) * C;
          }
        }
        if (count == 0) {
          for (i32 c = 0; c < C; c++) {
            y[dst + c] = 0.0f;
            argmax[dst + c] = -1;
          }
          continue;
        }
        i32 c = 0;
        // Four channels at a time: the running max and its index, replaced where v > best.
        for (; c + 4 <= C; c += 4) {
          v128_t best = wasm_v128_load(x + taps[0] + c);
          v128_t index = wasm_i32x4_add(wasm_i32x4_splat(taps[0] + c), wasm_i32x4_make(0, 1, 2, 3));
          for (i32 t = 1; t < count; t++) {
            const v128_t v = wasm_v128_load(x + taps[t] + c);
            const v128_t wins = wasm_f32x4_gt(v, best);
            best = wasm_v128_bitselect(v, best, wins);
            index = wasm_v128_bitselect(wasm_i32x4_add(wasm_i32x4_splat(taps[t] + c), wasm_i32x4_make(0, 1, 2, 3)),
                                        index, wins);
          }
          wasm_v128_store(y + dst + c, best);
          wasm_v128_store(argmax + dst + c, index);
        }
        for (; c < C; c++) {
          float best = x[taps[0] + c];
          i32 index = taps[0] + c;
          for (i32 t = 1; t < count; t++) {
            if (x[taps[t] + c] > best) {
              best = x[taps[t] + c];
              index = taps[t] + c;
            }
          }
          y[dst + c] = best;
          argmax[dst + c] = index;
        }
      }
    }
  }
}

/** dx of images [n0, n1): zero, then each dy added at its window's argmax (inside the same image). */
EXPORT(max_pool_grad_task)
void max_pool_grad_task(const float *dy, const i32 *argmax, float *dx, const Geometry *g, i32 images_per_task,
                        i32 task) {
  const i32 n0 = task * images_per_task, n1 = MIN(g->N, n0 + images_per_task);
  const i32 in_image = g->H * g->W * g->C, out_image = g->OH * g->OW * g->C;
  float *d = dx + n0 * in_image;
  const i32 count = (n1 - n0) * in_image;
  i32 i = 0;
  for (; i + 4 <= count; i += 4) wasm_v128_store(d + i, wasm_f32x4_splat(0.0f));
  for (; i < count; i++) d[i] = 0.0f;
  for (i32 j = n0 * out_image, end = n1 * out_image; j < end; j++) {
    const i32 at = argmax[j];
    if (at >= 0) dx[at] += dy[j];
  }
}
