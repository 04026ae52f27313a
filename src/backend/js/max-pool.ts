// MaxPool over NHWC: y (N,OH,OW,C) is the max of each window's valid (unpadded) cells; the
// workspace (Int32Array, same length as y) holds the flat index into x of each max, for
// MaxPoolGrad. The first maximum in (kh, kw) order wins ties. A window with no valid cell (only
// possible with padding >= the kernel) gives 0 and index -1.
import type { FloatStorage, Storage, Window2D } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkLength, checkWindow } from './im2col.js';

export function maxPool(
  alloc: Allocator,
  x: FloatStorage,
  attrs: Window2D,
): { y: FloatStorage; workspace: Storage } {
  const { N, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft, dilationH, dilationW } = attrs;
  checkWindow('MaxPool', attrs);
  checkLength('MaxPool', 'x', x, N * H * W * C);
  const y = allocLike(alloc, x, N * OH * OW * C);
  const argmax = alloc('int32', N * OH * OW * C);
  // Per output pixel: the row of C argmax indices is updated tap by tap (contiguous reads of C
  // floats), then the maxima are read back through it.
  // NOTE: the update is branch-free, index += (v > best) * (src - index): a data-dependent branch
  // mispredicts on real activations. Exact for every value (infinities included); NaN never wins.
  for (let n = 0, dst = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, dst += C) {
        let first = true;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * strideH - padTop + kh * dilationH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * strideW - padLeft + kw * dilationW;
            if (iw < 0 || iw >= W) continue;
            const src = ((n * H + ih) * W + iw) * C;
            if (first) {
              for (let c = 0; c < C; c++) argmax[dst + c] = src + c;
              first = false;
              continue;
            }
            for (let c = 0; c < C; c++) {
              const best = argmax[dst + c] as number;
              argmax[dst + c] = best + +((x[src + c] as number) > (x[best] as number)) * (src + c - best);
            }
          }
        }
        if (first) {
          argmax.fill(-1, dst, dst + C);
          y.fill(0, dst, dst + C);
        } else for (let c = 0; c < C; c++) y[dst + c] = x[argmax[dst + c] as number] as number;
      }
    }
  }
  return { y, workspace: argmax };
}
