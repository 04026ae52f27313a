// im2col / col2im over NHWC for the convolutions (helpers, not kernels).
// A conv output pixel r = (n, oh, ow) (row-major over N, OH, OW) owns one patch row of
// K = KH * KW * C values ordered (kh, kw, c), the same order as the HWIO kernel's first three
// axes, so y[r, :] = patch(r) . w viewed as [K, O]. In NHWC each (kh, kw) tap is a run of C
// contiguous floats, so a patch row is KH * KW copies of C floats (zeros where padding).
import type { Conv2DAttrs, FloatStorage, Window2D } from '../kernels.js';

/** Patch rows per chunk: the chunk (rows x K float64) stays near 512 KB, inside L2. */
export function chunkRows(attrs: Window2D): number {
  const k = attrs.KH * attrs.KW * attrs.C;
  return Math.max(16, Math.floor(65536 / Math.max(k, 1) / 4) * 4);
}

/** True when the conv is a plain matmul over pixels: 1x1 kernel, stride 1, no padding. */
export function isPointwise(attrs: Conv2DAttrs): boolean {
  return (
    attrs.KH === 1 &&
    attrs.KW === 1 &&
    attrs.strideH === 1 &&
    attrs.strideW === 1 &&
    attrs.padTop === 0 &&
    attrs.padBottom === 0 &&
    attrs.padLeft === 0 &&
    attrs.padRight === 0 &&
    attrs.OH === attrs.H &&
    attrs.OW === attrs.W
  );
}

/** cols[(r - rowStart) * K + (kh * KW + kw) * C + c] = x[n, ih, iw, c] (0 outside the image). */
export function im2col(
  x: FloatStorage,
  a: Window2D,
  rowStart: number,
  rowCount: number,
  cols: Float64Array,
): void {
  const { H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft, dilationH, dilationW } = a;
  const pixels = OH * OW;
  let o = 0;
  for (let r = rowStart; r < rowStart + rowCount; r++) {
    const n = Math.floor(r / pixels);
    const rest = r - n * pixels;
    const oh = Math.floor(rest / OW);
    const ow = rest - oh * OW;
    const ih0 = oh * strideH - padTop;
    const iw0 = ow * strideW - padLeft;
    for (let kh = 0; kh < KH; kh++) {
      const ih = ih0 + kh * dilationH;
      if (ih < 0 || ih >= H) {
        cols.fill(0, o, o + KW * C);
        o += KW * C;
        continue;
      }
      const rowBase = (n * H + ih) * W;
      for (let kw = 0; kw < KW; kw++) {
        const iw = iw0 + kw * dilationW;
        if (iw < 0 || iw >= W) {
          cols.fill(0, o, o + C);
        } else {
          const src = (rowBase + iw) * C;
          for (let c = 0; c < C; c++) cols[o + c] = x[src + c] as number;
        }
        o += C;
      }
    }
  }
}

/**
 * Columns [k0, k1) of the patch rows only: cols[(r - rowStart) * (k1 - k0) + kidx - k0], the same
 * values im2col writes there. For threads that each take a slice of K (Conv2DBackpropFilter).
 */
export function im2colColumns(
  x: FloatStorage,
  a: Window2D,
  rowStart: number,
  rowCount: number,
  k0: number,
  k1: number,
  cols: Float64Array,
): void {
  const { H, W, C, KW, OH, OW, strideH, strideW, padTop, padLeft, dilationH, dilationW } = a;
  const pixels = OH * OW;
  // Taps (kh, kw) that hold columns of the slice; the first and last may be partial.
  const firstTap = Math.floor(k0 / C);
  const endTap = Math.ceil(k1 / C);
  let o = 0;
  for (let r = rowStart; r < rowStart + rowCount; r++) {
    const n = Math.floor(r / pixels);
    const rest = r - n * pixels;
    const oh = Math.floor(rest / OW);
    const ow = rest - oh * OW;
    for (let tap = firstTap; tap < endTap; tap++) {
      const kh = Math.floor(tap / KW);
      const kw = tap - kh * KW;
      const c0 = Math.max(k0 - tap * C, 0);
      const c1 = Math.min(k1 - tap * C, C);
      const ih = oh * strideH - padTop + kh * dilationH;
      const iw = ow * strideW - padLeft + kw * dilationW;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
        cols.fill(0, o, o + c1 - c0);
      } else {
        const src = ((n * H + ih) * W + iw) * C;
        for (let c = c0; c < c1; c++) cols[o + c - c0] = x[src + c] as number;
      }
      o += c1 - c0;
    }
  }
}

/** The adjoint of im2col: dx[n, ih, iw, c] += cols[(r - rowStart) * K + (kh * KW + kw) * C + c]. */
export function col2im(
  cols: Float64Array,
  a: Window2D,
  rowStart: number,
  rowCount: number,
  dx: FloatStorage,
): void {
  const { H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft, dilationH, dilationW } = a;
  const pixels = OH * OW;
  let o = 0;
  for (let r = rowStart; r < rowStart + rowCount; r++) {
    const n = Math.floor(r / pixels);
    const rest = r - n * pixels;
    const oh = Math.floor(rest / OW);
    const ow = rest - oh * OW;
    const ih0 = oh * strideH - padTop;
    const iw0 = ow * strideW - padLeft;
    for (let kh = 0; kh < KH; kh++) {
      const ih = ih0 + kh * dilationH;
      if (ih < 0 || ih >= H) {
        o += KW * C;
        continue;
      }
      const rowBase = (n * H + ih) * W;
      for (let kw = 0; kw < KW; kw++) {
        const iw = iw0 + kw * dilationW;
        if (iw >= 0 && iw < W) {
          const dst = (rowBase + iw) * C;
          for (let c = 0; c < C; c++) dx[dst + c] = (dx[dst + c] as number) + (cols[o + c] as number);
        }
        o += C;
      }
    }
  }
}

/** Throws unless the window geometry is consistent (the output-size formula in kernels.ts). */
export function checkWindow(kernel: string, a: Window2D): void {
  const expect = (
    input: number,
    before: number,
    after: number,
    k: number,
    stride: number,
    dilation: number,
  ): number => Math.floor((input + before + after - dilation * (k - 1) - 1) / stride) + 1;
  const oh = expect(a.H, a.padTop, a.padBottom, a.KH, a.strideH, a.dilationH);
  const ow = expect(a.W, a.padLeft, a.padRight, a.KW, a.strideW, a.dilationW);
  if (oh !== a.OH || ow !== a.OW) {
    throw new Error(
      `${kernel}: output ${a.OH}x${a.OW} does not match the window geometry (input ${a.H}x${a.W}, kernel ` +
        `${a.KH}x${a.KW}, stride ${a.strideH}x${a.strideW}, dilation ${a.dilationH}x${a.dilationW}, ` +
        `padding ${a.padTop},${a.padBottom},${a.padLeft},${a.padRight}): expected ${oh}x${ow}`,
    );
  }
}

/** Throws unless `storage` has `expected` elements. */
export function checkLength(kernel: string, what: string, storage: FloatStorage, expected: number): void {
  if (storage.length !== expected) {
    throw new Error(`${kernel}: ${what} has ${storage.length} elements, expected ${expected}`);
  }
}
