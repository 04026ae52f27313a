// Plain-loop references for the native kernel tests, written from the kernel contract
// (src/backend/kernels.ts), in float64. Letters: N batch, H/W image, C in-channels, O out-channels.
// Activations NHWC, conv kernels HWIO, row-major everywhere.
import type { Conv2DAttrs, Shape, Window2D } from '../../src/backend/kernels.js';

type Arr = ArrayLike<number>;

/** Calls visit(n, oh, ow, kh, kw, h, w) for every window tap that lands inside the input. */
function forEachTap(
  a: Window2D,
  visit: (n: number, oh: number, ow: number, kh: number, kw: number, h: number, w: number) => void,
): void {
  for (let n = 0; n < a.N; n++)
    for (let oh = 0; oh < a.OH; oh++)
      for (let ow = 0; ow < a.OW; ow++)
        for (let kh = 0; kh < a.KH; kh++)
          for (let kw = 0; kw < a.KW; kw++) {
            const h = oh * a.strideH - a.padTop + kh * a.dilationH;
            const w = ow * a.strideW - a.padLeft + kw * a.dilationW;
            if (h >= 0 && h < a.H && w >= 0 && w < a.W) visit(n, oh, ow, kh, kw, h, w);
          }
}

export function conv2d(x: Arr, w: Arr, bias: Arr | null, a: Conv2DAttrs): Float64Array {
  const y = new Float64Array(a.N * a.OH * a.OW * a.O);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[i % a.O] as number;
  forEachTap(a, (n, oh, ow, kh, kw, h, wi) => {
    const yBase = ((n * a.OH + oh) * a.OW + ow) * a.O;
    for (let c = 0; c < a.C; c++) {
      const xv = x[((n * a.H + h) * a.W + wi) * a.C + c] as number;
      for (let o = 0; o < a.O; o++)
        y[yBase + o] += xv * (w[((kh * a.KW + kw) * a.C + c) * a.O + o] as number);
    }
  });
  return y;
}

export function conv2dBackpropInput(dy: Arr, w: Arr, a: Conv2DAttrs): Float64Array {
  const dx = new Float64Array(a.N * a.H * a.W * a.C);
  forEachTap(a, (n, oh, ow, kh, kw, h, wi) => {
    const yBase = ((n * a.OH + oh) * a.OW + ow) * a.O;
    for (let c = 0; c < a.C; c++) {
      let s = 0;
      for (let o = 0; o < a.O; o++)
        s += (dy[yBase + o] as number) * (w[((kh * a.KW + kw) * a.C + c) * a.O + o] as number);
      dx[((n * a.H + h) * a.W + wi) * a.C + c] += s;
    }
  });
  return dx;
}

export function conv2dBackpropFilter(x: Arr, dy: Arr, a: Conv2DAttrs): Float64Array {
  const dw = new Float64Array(a.KH * a.KW * a.C * a.O);
  forEachTap(a, (n, oh, ow, kh, kw, h, wi) => {
    const yBase = ((n * a.OH + oh) * a.OW + ow) * a.O;
    for (let c = 0; c < a.C; c++) {
      const xv = x[((n * a.H + h) * a.W + wi) * a.C + c] as number;
      for (let o = 0; o < a.O; o++)
        dw[((kh * a.KW + kw) * a.C + c) * a.O + o] += xv * (dy[yBase + o] as number);
    }
  });
  return dw;
}

/** Max and average pooling (padding never counted), with their input gradients. */
export function pool(
  x: Arr,
  dy: Arr,
  a: Window2D,
): { max: Float64Array; avg: Float64Array; dxMax: Float64Array; dxAvg: Float64Array } {
  const outSize = a.N * a.OH * a.OW * a.C;
  const max = new Float64Array(outSize).fill(-Infinity);
  const argmax = new Int32Array(outSize).fill(-1);
  const avg = new Float64Array(outSize);
  const count = new Float64Array(outSize);
  const dxMax = new Float64Array(a.N * a.H * a.W * a.C);
  const dxAvg = new Float64Array(dxMax.length);
  forEachTap(a, (n, oh, ow, _kh, _kw, h, w) => {
    for (let c = 0; c < a.C; c++) {
      const o = ((n * a.OH + oh) * a.OW + ow) * a.C + c;
      const i = ((n * a.H + h) * a.W + w) * a.C + c;
      const v = x[i] as number;
      if (v > (max[o] as number)) {
        max[o] = v;
        argmax[o] = i;
      }
      avg[o] += v;
      count[o] += 1;
    }
  });
  for (let o = 0; o < outSize; o++) {
    avg[o] = (avg[o] as number) / (count[o] as number);
    dxMax[argmax[o] as number] += dy[o] as number;
  }
  forEachTap(a, (n, oh, ow, _kh, _kw, h, w) => {
    for (let c = 0; c < a.C; c++) {
      const o = ((n * a.OH + oh) * a.OW + ow) * a.C + c;
      dxAvg[((n * a.H + h) * a.W + w) * a.C + c] += (dy[o] as number) / (count[o] as number);
    }
  });
  return { max, avg, dxMax, dxAvg };
}

export function matmul(
  a: Arr,
  b: Arr,
  batch: number,
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
): Float64Array {
  const out = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          const av = a[p * m * k + (transposeA ? q * m + i : i * k + q)] as number;
          const bv = b[p * k * n + (transposeB ? j * k + q : q * n + j)] as number;
          s += av * bv;
        }
        out[(p * m + i) * n + j] = s;
      }
  return out;
}

export function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = (s[i + 1] as number) * (shape[i + 1] as number);
  return s;
}

export function size(shape: Shape): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Multi-index of flat offset i in `shape`. */
export function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const dim = shape[d] as number;
    idx[d] = i % dim;
    i = Math.floor(i / dim);
  }
  return idx;
}

export function broadcast(
  f: (x: number, y: number) => number,
  a: Arr,
  b: Arr,
  aShape: Shape,
  bShape: Shape,
  outShape: Shape,
): Float64Array {
  const out = new Float64Array(size(outShape));
  const r = outShape.length;
  const pad = (s: Shape) => [...new Array<number>(r - s.length).fill(1), ...s];
  const [as, bs] = [pad(aShape), pad(bShape)];
  const [ast, bst] = [strides(as), strides(bs)];
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, outShape);
    let ai = 0;
    let bi = 0;
    idx.forEach((v, d) => {
      if (as[d] !== 1) ai += v * (ast[d] as number);
      if (bs[d] !== 1) bi += v * (bst[d] as number);
    });
    out[i] = f(a[ai] as number, b[bi] as number);
  }
  return out;
}

export function reduce(
  f: (acc: number, v: number) => number,
  init: number,
  x: Arr,
  shape: Shape,
  axes: readonly number[],
): Float64Array {
  const outShape = shape.filter((_, d) => !axes.includes(d));
  const out = new Float64Array(size(outShape)).fill(init);
  const ost = strides(outShape);
  for (let i = 0; i < size(shape); i++) {
    const idx = unravel(i, shape).filter((_, d) => !axes.includes(d));
    const o = idx.reduce((p, v, d) => p + v * (ost[d] as number), 0);
    out[o] = f(out[o] as number, x[i] as number);
  }
  return out;
}
