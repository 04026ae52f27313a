// AvgPool over NHWC: y (N,OH,OW,C) is the mean of each window's valid cells (padding is never
// counted). A window with no valid cell gives 0.
import type { FloatStorage, Window2D } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkLength, checkWindow } from './im2col.js';

export function avgPool(alloc: Allocator, x: FloatStorage, attrs: Window2D): FloatStorage {
  const { N, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft, dilationH, dilationW } = attrs;
  checkWindow('AvgPool', attrs);
  checkLength('AvgPool', 'x', x, N * H * W * C);
  const y = allocLike(alloc, x, N * OH * OW * C);
  for (let n = 0, dst = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, dst += C) {
        y.fill(0, dst, dst + C);
        let count = 0;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * strideH - padTop + kh * dilationH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * strideW - padLeft + kw * dilationW;
            if (iw < 0 || iw >= W) continue;
            count++;
            const src = ((n * H + ih) * W + iw) * C;
            for (let c = 0; c < C; c++) y[dst + c] = (y[dst + c] as number) + (x[src + c] as number);
          }
        }
        const scale = count > 0 ? 1 / count : 0;
        for (let c = 0; c < C; c++) y[dst + c] = (y[dst + c] as number) * scale;
      }
    }
  }
  return y;
}
