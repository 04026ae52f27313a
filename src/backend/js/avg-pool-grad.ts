// AvgPoolGrad: dx (N,H,W,C) gets dy / count added to every valid cell of each window (count =
// the window's valid cells, as in AvgPool).
import type { FloatStorage, Window2D } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkLength, checkWindow } from './im2col.js';

export function avgPoolGrad(alloc: Allocator, dy: FloatStorage, attrs: Window2D): FloatStorage {
  const { N, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft, dilationH, dilationW } = attrs;
  checkWindow('AvgPoolGrad', attrs);
  checkLength('AvgPoolGrad', 'dy', dy, N * OH * OW * C);
  const dx = allocLike(alloc, dy, N * H * W * C);
  dx.fill(0);
  for (let n = 0, src = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * strideH - padTop;
      let khFirst = 0;
      while (khFirst < KH && ih0 + khFirst * dilationH < 0) khFirst++;
      let khEnd = KH;
      while (khEnd > khFirst && ih0 + (khEnd - 1) * dilationH >= H) khEnd--;
      for (let ow = 0; ow < OW; ow++, src += C) {
        const iw0 = ow * strideW - padLeft;
        let kwFirst = 0;
        while (kwFirst < KW && iw0 + kwFirst * dilationW < 0) kwFirst++;
        let kwEnd = KW;
        while (kwEnd > kwFirst && iw0 + (kwEnd - 1) * dilationW >= W) kwEnd--;
        const count = (khEnd - khFirst) * (kwEnd - kwFirst);
        if (count === 0) continue;
        const scale = 1 / count;
        for (let kh = khFirst; kh < khEnd; kh++) {
          const ih = ih0 + kh * dilationH;
          for (let kw = kwFirst; kw < kwEnd; kw++) {
            const dst = ((n * H + ih) * W + iw0 + kw * dilationW) * C;
            for (let c = 0; c < C; c++)
              dx[dst + c] = (dx[dst + c] as number) + (dy[src + c] as number) * scale;
          }
        }
      }
    }
  }
  return dx;
}
