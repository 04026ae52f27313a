// Deliberately naive float64 reference implementations, straight from each kernel's definition in
// src/backend/kernels.ts: multi-index loops, no blocking, no tricks, independent of the js
// backend's code (GELU's normal CDF, for instance, is integrated numerically here).
import type { Conv2DAttrs, Shape, Window2D } from '../../src/backend/kernels.js';

type Vec = Float64Array;

export function sizeOf(shape: Shape): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Row-major multi-index of flat index i. */
export function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d] as number;
    idx[d] = i % n;
    i = Math.floor(i / n);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: Shape): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * (shape[d] as number) + (idx[d] as number);
  return i;
}

export function map(x: Vec, f: (v: number, i: number) => number): Vec {
  return Float64Array.from(x, f);
}

// ---- elementwise ----

/** Standard normal CDF by Simpson's rule on the density from 0 to x (error ~1e-13 here). */
export function normalCdf(x: number): number {
  const steps = 2000;
  const h = x / steps;
  const pdf = (t: number): number => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
  let s = pdf(0) + pdf(x);
  for (let i = 1; i < steps; i++) s += (i % 2 === 1 ? 4 : 2) * pdf(i * h);
  return 0.5 + (s * h) / 3;
}

/** GELU's tanh approximation, from its definition. */
export function geluTanh(x: number): number {
  const u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3);
  return 0.5 * x * (1 + Math.tanh(u));
}

/** d/dx geluTanh, written with sech^2 = 1 / cosh^2. */
export function geluTanhDerivative(x: number): number {
  const c = Math.sqrt(2 / Math.PI);
  const u = c * (x + 0.044715 * x ** 3);
  const sech2 = 1 / Math.cosh(u) ** 2;
  return 0.5 * (1 + Math.tanh(u)) + 0.5 * x * sech2 * c * (1 + 3 * 0.044715 * x * x);
}

export function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

// ---- broadcasting ----

export function broadcast(
  a: Vec,
  aShape: Shape,
  b: Vec,
  bShape: Shape,
  outShape: Shape,
  f: (x: number, y: number) => number,
): Vec {
  const out = new Float64Array(sizeOf(outShape));
  const pick = (idx: number[], shape: Shape): number => {
    const offset = outShape.length - shape.length;
    return ravel(
      shape.map((d, k) => (d === 1 ? 0 : (idx[offset + k] as number))),
      shape,
    );
  };
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, outShape);
    out[i] = f(a[pick(idx, aShape)] as number, b[pick(idx, bShape)] as number);
  }
  return out;
}

// ---- reductions ----

export function reduce(
  x: Vec,
  shape: Shape,
  axes: readonly number[],
  init: number,
  f: (acc: number, v: number) => number,
): Vec {
  const outShape = shape.filter((_, d) => !axes.includes(d));
  const out = new Float64Array(sizeOf(outShape)).fill(init);
  for (let i = 0; i < x.length; i++) {
    const idx = unravel(i, shape).filter((_, d) => !axes.includes(d));
    const o = ravel(idx, outShape);
    out[o] = f(out[o] as number, x[i] as number);
  }
  return out;
}

export function argMax(x: Vec, shape: Shape, axis: number): Vec {
  const outShape = shape.filter((_, d) => d !== axis);
  const out = new Float64Array(sizeOf(outShape));
  for (let o = 0; o < out.length; o++) {
    const idx = unravel(o, outShape);
    let best = 0;
    let bestValue = -Infinity;
    for (let r = 0; r < (shape[axis] as number); r++) {
      const full = [...idx.slice(0, axis), r, ...idx.slice(axis)];
      const v = x[ravel(full, shape)] as number;
      if (v > bestValue) {
        bestValue = v;
        best = r;
      }
    }
    out[o] = best;
  }
  return out;
}

// ---- layout ----

export function transpose(x: Vec, shape: Shape, perm: readonly number[]): Vec {
  const outShape = perm.map((p) => shape[p] as number);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const idx = unravel(i, shape);
    out[
      ravel(
        perm.map((p) => idx[p] as number),
        outShape,
      )
    ] = x[i] as number;
  }
  return out;
}

export function concat(xs: readonly Vec[], shapes: readonly Shape[], axis: number): Vec {
  const first = shapes[0] as Shape;
  const outShape = first.map((d, k) =>
    k === axis ? shapes.reduce((s, sh) => s + (sh[axis] as number), 0) : d,
  );
  const out = new Float64Array(sizeOf(outShape));
  let start = 0;
  xs.forEach((x, t) => {
    const shape = shapes[t] as Shape;
    for (let i = 0; i < x.length; i++) {
      const idx = unravel(i, shape);
      idx[axis] = (idx[axis] as number) + start;
      out[ravel(idx, outShape)] = x[i] as number;
    }
    start += shape[axis] as number;
  });
  return out;
}

export function slice(x: Vec, shape: Shape, begin: readonly number[], size: readonly number[]): Vec {
  const out = new Float64Array(sizeOf(size));
  for (let o = 0; o < out.length; o++) {
    const idx = unravel(o, size).map((v, d) => v + (begin[d] as number));
    out[o] = x[ravel(idx, shape)] as number;
  }
  return out;
}

export function pad(
  x: Vec,
  shape: Shape,
  paddings: readonly (readonly [number, number])[],
  value: number,
): Vec {
  const outShape = shape.map(
    (d, k) =>
      d + (paddings[k] as readonly [number, number])[0] + (paddings[k] as readonly [number, number])[1],
  );
  const out = new Float64Array(sizeOf(outShape)).fill(value);
  for (let i = 0; i < x.length; i++) {
    const idx = unravel(i, shape).map((v, d) => v + (paddings[d] as readonly [number, number])[0]);
    out[ravel(idx, outShape)] = x[i] as number;
  }
  return out;
}

// ---- linear algebra ----

export function matMul(
  a: Vec,
  b: Vec,
  batch: number,
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
): Vec {
  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = a[t * m * k + (tA ? p * m + i : i * k + p)] as number;
          const bv = b[t * k * n + (tB ? j * k + p : p * n + j)] as number;
          s += av * bv;
        }
        out[(t * m + i) * n + j] = s;
      }
    }
  }
  return out;
}

// ---- convolution and pooling: direct sums over the window definition ----

/** Visits every (output pixel, tap) pair whose input cell lies inside the image. */
function forEachTap(
  a: Window2D,
  visit: (n: number, oh: number, ow: number, ih: number, iw: number, kh: number, kw: number) => void,
): void {
  for (let n = 0; n < a.N; n++)
    for (let oh = 0; oh < a.OH; oh++)
      for (let ow = 0; ow < a.OW; ow++)
        for (let kh = 0; kh < a.KH; kh++)
          for (let kw = 0; kw < a.KW; kw++) {
            const ih = oh * a.strideH - a.padTop + kh * a.dilationH;
            const iw = ow * a.strideW - a.padLeft + kw * a.dilationW;
            if (ih >= 0 && ih < a.H && iw >= 0 && iw < a.W) visit(n, oh, ow, ih, iw, kh, kw);
          }
}

export function conv2d(x: Vec, w: Vec, bias: Vec | null, a: Conv2DAttrs): Vec {
  const { C, O } = a;
  const y = new Float64Array(a.N * a.OH * a.OW * O);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[i % O] as number;
  forEachTap(a, (n, oh, ow, ih, iw, kh, kw) => {
    for (let c = 0; c < C; c++)
      for (let o = 0; o < O; o++) {
        const yi = ((n * a.OH + oh) * a.OW + ow) * O + o;
        y[yi] =
          (y[yi] as number) +
          (x[((n * a.H + ih) * a.W + iw) * C + c] as number) *
            (w[((kh * a.KW + kw) * C + c) * O + o] as number);
      }
  });
  return y;
}

export function conv2dBackpropInput(dy: Vec, w: Vec, a: Conv2DAttrs): Vec {
  const { C, O } = a;
  const dx = new Float64Array(a.N * a.H * a.W * C);
  forEachTap(a, (n, oh, ow, ih, iw, kh, kw) => {
    for (let c = 0; c < C; c++)
      for (let o = 0; o < O; o++) {
        const xi = ((n * a.H + ih) * a.W + iw) * C + c;
        dx[xi] =
          (dx[xi] as number) +
          (dy[((n * a.OH + oh) * a.OW + ow) * O + o] as number) *
            (w[((kh * a.KW + kw) * C + c) * O + o] as number);
      }
  });
  return dx;
}

/** Column sums of x viewed as [rows, cols]: the bias gradient (O) of dy (N*OH*OW, O). */
export function sumRows(x: Vec, rows: number, cols: number): Vec {
  const out = new Float64Array(cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c] = (out[c] as number) + (x[r * cols + c] as number);
  return out;
}

export function conv2dBackpropFilter(x: Vec, dy: Vec, a: Conv2DAttrs): Vec {
  const { C, O } = a;
  const dw = new Float64Array(a.KH * a.KW * C * O);
  forEachTap(a, (n, oh, ow, ih, iw, kh, kw) => {
    for (let c = 0; c < C; c++)
      for (let o = 0; o < O; o++) {
        const wi = ((kh * a.KW + kw) * C + c) * O + o;
        dw[wi] =
          (dw[wi] as number) +
          (x[((n * a.H + ih) * a.W + iw) * C + c] as number) *
            (dy[((n * a.OH + oh) * a.OW + ow) * O + o] as number);
      }
  });
  return dw;
}

/** Per output cell: the flat x index of the first maximum over the window's valid cells. */
function maxPoolArgmax(x: Vec, a: Window2D): number[] {
  const best = new Array<number>(a.N * a.OH * a.OW * a.C).fill(-1);
  forEachTap(a, (n, oh, ow, ih, iw) => {
    for (let c = 0; c < a.C; c++) {
      const o = ((n * a.OH + oh) * a.OW + ow) * a.C + c;
      const xi = ((n * a.H + ih) * a.W + iw) * a.C + c;
      const current = best[o] as number;
      if (current < 0 || (x[xi] as number) > (x[current] as number)) best[o] = xi;
    }
  });
  return best;
}

export function maxPool(x: Vec, a: Window2D): Vec {
  return Float64Array.from(maxPoolArgmax(x, a), (xi) => (xi < 0 ? 0 : (x[xi] as number)));
}

export function maxPoolGrad(dy: Vec, x: Vec, a: Window2D): Vec {
  const dx = new Float64Array(x.length);
  maxPoolArgmax(x, a).forEach((xi, o) => {
    if (xi >= 0) dx[xi] = (dx[xi] as number) + (dy[o] as number);
  });
  return dx;
}

function windowCounts(a: Window2D): number[] {
  const counts = new Array<number>(a.N * a.OH * a.OW).fill(0);
  forEachTap(a, (n, oh, ow) => {
    const o = (n * a.OH + oh) * a.OW + ow;
    counts[o] = (counts[o] as number) + 1;
  });
  return counts;
}

export function avgPool(x: Vec, a: Window2D): Vec {
  const y = new Float64Array(a.N * a.OH * a.OW * a.C);
  const counts = windowCounts(a);
  forEachTap(a, (n, oh, ow, ih, iw) => {
    const p = (n * a.OH + oh) * a.OW + ow;
    for (let c = 0; c < a.C; c++) {
      y[p * a.C + c] =
        (y[p * a.C + c] as number) +
        (x[((n * a.H + ih) * a.W + iw) * a.C + c] as number) / (counts[p] as number);
    }
  });
  return y;
}

export function avgPoolGrad(dy: Vec, a: Window2D): Vec {
  const dx = new Float64Array(a.N * a.H * a.W * a.C);
  const counts = windowCounts(a);
  forEachTap(a, (n, oh, ow, ih, iw) => {
    const p = (n * a.OH + oh) * a.OW + ow;
    for (let c = 0; c < a.C; c++) {
      const xi = ((n * a.H + ih) * a.W + iw) * a.C + c;
      dx[xi] = (dx[xi] as number) + (dy[p * a.C + c] as number) / (counts[p] as number);
    }
  });
  return dx;
}

// ---- softmax family, rows of `size` ----

function rows(x: Vec, size: number): Vec[] {
  const out: Vec[] = [];
  for (let r = 0; r < x.length; r += size) out.push(x.slice(r, r + size));
  return out;
}

function joinRows(parts: Vec[]): Vec {
  const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function logSoftmaxRow(x: Vec): Vec {
  const m = Math.max(...x);
  const lse = m + Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
  return map(x, (v) => v - lse);
}

export function softmax(x: Vec, size: number): Vec {
  return joinRows(rows(x, size).map((r) => map(logSoftmaxRow(r), Math.exp)));
}

export function logSoftmax(x: Vec, size: number): Vec {
  return joinRows(rows(x, size).map(logSoftmaxRow));
}

export function softmaxGrad(dy: Vec, y: Vec, size: number): Vec {
  const out = new Float64Array(dy.length);
  for (let r = 0; r < dy.length; r += size) {
    let dot = 0;
    for (let j = 0; j < size; j++) dot += (dy[r + j] as number) * (y[r + j] as number);
    for (let j = 0; j < size; j++) out[r + j] = (y[r + j] as number) * ((dy[r + j] as number) - dot);
  }
  return out;
}

export function logSoftmaxGrad(dy: Vec, y: Vec, size: number): Vec {
  const out = new Float64Array(dy.length);
  for (let r = 0; r < dy.length; r += size) {
    let total = 0;
    for (let j = 0; j < size; j++) total += dy[r + j] as number;
    for (let j = 0; j < size; j++) out[r + j] = (dy[r + j] as number) - Math.exp(y[r + j] as number) * total;
  }
  return out;
}

export function smoothedTargets(labels: readonly number[], classes: number, smoothing: number): Vec {
  const t = new Float64Array(labels.length * classes);
  labels.forEach((label, i) => {
    for (let j = 0; j < classes; j++)
      t[i * classes + j] = (j === label ? 1 - smoothing : 0) + smoothing / classes;
  });
  return t;
}

export function softmaxCrossEntropy(
  logits: Vec,
  labels: readonly number[],
  classes: number,
  smoothing: number,
): [Vec, Vec] {
  const t = smoothedTargets(labels, classes, smoothing);
  const logp = logSoftmax(logits, classes);
  let loss = 0;
  for (let i = 0; i < logp.length; i++) loss -= (t[i] as number) * (logp[i] as number);
  return [Float64Array.of(loss / labels.length), map(logp, Math.exp)];
}

export function softmaxCrossEntropyGrad(
  probs: Vec,
  labels: readonly number[],
  dloss: number,
  classes: number,
  smoothing: number,
): Vec {
  const t = smoothedTargets(labels, classes, smoothing);
  return map(probs, (p, i) => ((p - (t[i] as number)) * dloss) / labels.length);
}

// ---- normalisation over [outer, size] ----

/** Mean and biased variance of each of `groups` groups, element i belonging to group(i). */
function moments(x: Vec, groups: number, group: (i: number) => number): { mean: Vec; variance: Vec } {
  const mean = new Float64Array(groups);
  const count = new Float64Array(groups);
  x.forEach((v, i) => {
    mean[group(i)] += v;
    count[group(i)] += 1;
  });
  for (let g = 0; g < groups; g++) mean[g] = (mean[g] as number) / (count[g] as number);
  const variance = new Float64Array(groups);
  x.forEach((v, i) => {
    variance[group(i)] += (v - (mean[group(i)] as number)) ** 2;
  });
  for (let g = 0; g < groups; g++) variance[g] = (variance[g] as number) / (count[g] as number);
  return { mean, variance };
}

export function batchNorm(x: Vec, gamma: Vec, beta: Vec, size: number, eps: number): [Vec, Vec, Vec] {
  const { mean, variance } = moments(x, size, (i) => i % size);
  const invStd = map(variance, (v) => 1 / Math.sqrt(v + eps));
  const y = map(
    x,
    (v, i) =>
      (gamma[i % size] as number) * (v - (mean[i % size] as number)) * (invStd[i % size] as number) +
      (beta[i % size] as number),
  );
  return [y, mean, invStd];
}

export function layerNorm(x: Vec, gamma: Vec, beta: Vec, size: number, eps: number): [Vec, Vec, Vec] {
  const outer = x.length / size;
  const { mean, variance } = moments(x, outer, (i) => Math.floor(i / size));
  const invStd = map(variance, (v) => 1 / Math.sqrt(v + eps));
  const row = (i: number): number => Math.floor(i / size);
  const y = map(
    x,
    (v, i) =>
      (gamma[i % size] as number) * (v - (mean[row(i)] as number)) * (invStd[row(i)] as number) +
      (beta[i % size] as number),
  );
  return [y, mean, invStd];
}

/**
 * The gradient of y = gamma * (x - mean) * invStd + beta where mean and invStd are the statistics
 * of x's group (column for batch norm, row for layer norm), with the statistics given: written
 * as the textbook sum over the group, dx_i = invStd/n * (n g_i - sum g - xhat_i sum g xhat), g = dy * gamma.
 */
export function normGrad(
  dy: Vec,
  x: Vec,
  gamma: Vec,
  mean: Vec,
  invStd: Vec,
  size: number,
  perColumn: boolean,
): [Vec, Vec, Vec] {
  const outer = x.length / size;
  const group = (i: number): number => (perColumn ? i % size : Math.floor(i / size));
  const groups = perColumn ? size : outer;
  const n = perColumn ? outer : size;
  const xhat = map(x, (v, i) => (v - (mean[group(i)] as number)) * (invStd[group(i)] as number));
  const g = map(dy, (v, i) => v * (gamma[i % size] as number));
  const sumG = new Float64Array(groups);
  const sumGX = new Float64Array(groups);
  g.forEach((v, i) => {
    sumG[group(i)] += v;
    sumGX[group(i)] += v * (xhat[i] as number);
  });
  const dx = map(
    g,
    (v, i) =>
      ((invStd[group(i)] as number) / n) *
      (n * v - (sumG[group(i)] as number) - (xhat[i] as number) * (sumGX[group(i)] as number)),
  );
  const dgamma = new Float64Array(size);
  const dbeta = new Float64Array(size);
  dy.forEach((v, i) => {
    dgamma[i % size] += v * (xhat[i] as number);
    dbeta[i % size] += v;
  });
  return [dx, dgamma, dbeta];
}

// ---- gather ----

export function gather(table: Vec, indices: readonly number[], width: number): Vec {
  const out = new Float64Array(indices.length * width);
  indices.forEach((row, i) => {
    for (let j = 0; j < width; j++) out[i * width + j] = table[row * width + j] as number;
  });
  return out;
}

export function gatherGrad(dy: Vec, indices: readonly number[], rows: number, width: number): Vec {
  const out = new Float64Array(rows * width);
  indices.forEach((row, i) => {
    for (let j = 0; j < width; j++) out[row * width + j] += dy[i * width + j] as number;
  });
  return out;
}
