// The kernel conformance cases: backend-agnostic, deterministic. Each case builds its inputs from a
// seeded generator (values rounded to float32, so float32 and float64 runs see the same numbers),
// uploads them through backend.alloc, runs one kernel (a few run a helper kernel first, e.g.
// MaxPool before MaxPoolGrad) and returns every output. `reference()` gives the naive float64
// answer from test/conformance/reference.ts on the same inputs.
//
// Used by js.test.ts (js vs reference, float32 and float64) and native.test.ts (native vs js).
import type {
  Backend,
  BroadcastAttrs,
  Conv2DAttrs,
  DType,
  FloatStorage,
  KernelName,
  Kernels,
  Shape,
  Storage,
  Window2D,
} from '../../src/backend/kernels.js';
import { Random } from '../../src/util/random.js';
import { Prng } from './prng.js';
import * as ref from './reference.js';

export type FloatDType = Extract<DType, 'float32' | 'float64'>;

export interface ConformanceCase {
  name: string;
  kernel: KernelName;
  /** Runs on `backend` with float32 inputs; returns every output (MaxPool's workspace excluded). */
  run(backend: Backend): Storage[];
  /** The same with float inputs of `dtype` (float64: js backend only). */
  runAs(backend: Backend, dtype: FloatDType): Storage[];
  /** The naive float64 reference outputs, in run's order. */
  reference(): Float64Array[];
}

type Vec = Float64Array;

/** Seed from the case name: every case has its own stream, stable when cases are added. */
function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

function upload(backend: Backend, dtype: FloatDType, data: Vec): FloatStorage {
  const out =
    dtype === 'float32' ? backend.alloc('float32', data.length) : backend.alloc('float64', data.length);
  out.set(data);
  return out;
}

function int32(backend: Backend, values: readonly number[]): Int32Array {
  const out = backend.alloc('int32', values.length);
  out.set(values);
  return out;
}

/** An optimizer's float64 schedule buffer: [lr] or [lr, step]. */
function schedule(backend: Backend, ...values: number[]): Float64Array {
  const out = backend.alloc('float64', values.length);
  out.set(values);
  return out;
}

function dtypeOf(x: FloatStorage): FloatDType {
  return x instanceof Float64Array ? 'float64' : 'float32';
}

const cases: ConformanceCase[] = [];

/**
 * Registers a case: `inputs` draws the float inputs from the case's generator; `exec` runs the
 * kernel on them (uploaded); `expect` computes the reference from the same inputs.
 */
function defineCase(
  kernel: KernelName,
  name: string,
  inputs: (rng: Prng) => Vec[],
  exec: (k: Kernels, xs: FloatStorage[], backend: Backend) => Storage[],
  expect: (xs: Vec[]) => Vec[],
): void {
  const make = (): Vec[] => inputs(new Prng(seedOf(`${kernel}: ${name}`)));
  const runAs = (backend: Backend, dtype: FloatDType): Storage[] =>
    exec(
      backend.kernels,
      make().map((x) => upload(backend, dtype, x)),
      backend,
    );
  cases.push({
    name,
    kernel,
    runAs,
    run: (backend) => runAs(backend, 'float32'),
    reference: () => expect(make()),
  });
}

// ---------------------------------------------------------------- elementwise unary

const unaryShape = 257; // odd: no loop unrolling hides a tail bug
const unaryKernels: [KernelName & keyof Kernels, (v: number) => number, [number, number]][] = [
  ['Neg', (v) => -v, [-3, 3]],
  ['Exp', Math.exp, [-10, 10]],
  ['Log', Math.log, [1e-3, 50]],
  ['Sqrt', Math.sqrt, [0, 50]],
  ['Abs', Math.abs, [-3, 3]],
  ['Relu', (v) => Math.max(v, 0), [-3, 3]],
  ['Sigmoid', ref.sigmoid, [-30, 30]],
  ['Tanh', Math.tanh, [-5, 5]],
  ['Gelu', (v) => v * ref.normalCdf(v), [-5, 5]],
  ['GeluTanh', ref.geluTanh, [-6, 6]],
];
for (const [kernel, f, [lo, hi]] of unaryKernels) {
  defineCase(
    kernel,
    `${unaryShape} values in [${lo}, ${hi})`,
    (rng) => [rng.uniform(unaryShape, lo, hi)],
    (k, [x]) => [(k[kernel] as (x: FloatStorage) => FloatStorage)(x!)],
    ([x]) => [ref.map(x!, f)],
  );
}
defineCase(
  'LeakyRelu',
  'alpha 0.2',
  (rng) => [rng.uniform(unaryShape, -3, 3)],
  (k, [x]) => [k.LeakyRelu(x!, { alpha: 0.2 })],
  ([x]) => [ref.map(x!, (v) => (v < 0 ? 0.2 * v : v))],
);

// ---------------------------------------------------------------- unary gradients

const gradKernels: [KernelName, (dy: number, v: number) => number, [number, number]][] = [
  ['ReluGrad', (dy, x) => (x > 0 ? dy : 0), [-3, 3]],
  ['SigmoidGrad', (dy, y) => dy * y * (1 - y), [0, 1]],
  ['TanhGrad', (dy, y) => dy * (1 - y * y), [-1, 1]],
  [
    'GeluGrad',
    (dy, x) => dy * (ref.normalCdf(x) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI)),
    [-5, 5],
  ],
  ['GeluTanhGrad', (dy, x) => dy * ref.geluTanhDerivative(x), [-6, 6]],
];
for (const [kernel, f, [lo, hi]] of gradKernels) {
  defineCase(
    kernel,
    `${unaryShape} values`,
    (rng) => [rng.uniform(unaryShape), rng.uniform(unaryShape, lo, hi)],
    (k, [dy, v]) => [(k[kernel] as (dy: FloatStorage, v: FloatStorage) => FloatStorage)(dy!, v!)],
    ([dy, v]) => [ref.map(dy!, (g, i) => f(g, v![i] as number))],
  );
}
defineCase(
  'LeakyReluGrad',
  'alpha 0.1',
  (rng) => [rng.uniform(unaryShape), rng.uniform(unaryShape, -3, 3)],
  (k, [dy, x]) => [k.LeakyReluGrad(dy!, x!, { alpha: 0.1 })],
  ([dy, x]) => [ref.map(dy!, (g, i) => ((x![i] as number) < 0 ? 0.1 * g : g))],
);

// ---------------------------------------------------------------- broadcasting binary

type BinaryKernel = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow' | 'Maximum' | 'Minimum' | 'Equal' | 'Greater';
const binaryOps: Record<BinaryKernel, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Pow: (a, b) => Math.pow(a, b),
  Maximum: (a, b) => Math.max(a, b),
  Minimum: (a, b) => Math.min(a, b),
  Equal: (a, b) => (a === b ? 1 : 0),
  Greater: (a, b) => (a > b ? 1 : 0),
};
const broadcastShapes: Record<string, [Shape, Shape]> = {
  'same shape': [
    [3, 4, 5],
    [3, 4, 5],
  ],
  'scalar b': [[3, 4, 5], []],
  'scalar a': [[], [6, 7]],
  'row b': [[6, 7], [7]],
  'column b': [
    [6, 7],
    [6, 1],
  ],
  'middle axis b': [
    [2, 3, 5],
    [2, 1, 5],
  ],
  'outer product': [
    [5, 1],
    [1, 6],
  ],
  'rank 1 into rank 4': [[2, 3, 4, 5], [5]],
  'both broadcast in the middle': [
    [2, 1, 4, 1],
    [1, 3, 1, 5],
  ],
};
function broadcastShape(a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, d) => {
    const x = a[a.length - rank + d] ?? 1;
    const y = b[b.length - rank + d] ?? 1;
    return Math.max(x, y);
  });
}
function defineBinary(
  kernel: BinaryKernel,
  label: string,
  aShape: Shape,
  bShape: Shape,
  draw: (rng: Prng, n: number) => Vec,
): void {
  const attrs: BroadcastAttrs = { aShape, bShape, outShape: broadcastShape(aShape, bShape) };
  defineCase(
    kernel,
    `${label} [${aShape.join(',')}] with [${bShape.join(',')}]`,
    (rng) => [draw(rng, ref.sizeOf(aShape)), draw(rng, ref.sizeOf(bShape))],
    (k, [a, b]) => [k[kernel](a!, b!, attrs)],
    ([a, b]) => [ref.broadcast(a!, aShape, b!, bShape, attrs.outShape, binaryOps[kernel])],
  );
}
const signed = (rng: Prng, n: number): Vec => rng.uniform(n, -2, 2);
const positive = (rng: Prng, n: number): Vec => rng.uniform(n, 0.5, 2);
/** Small integers: Equal and Greater need ties. */
const ties = (rng: Prng, n: number): Vec => Float64Array.from(rng.integers(n, 3));
for (const [label, [a, b]] of Object.entries(broadcastShapes)) defineBinary('Add', label, a, b, signed);
for (const label of ['same shape', 'column b', 'scalar a', 'middle axis b']) {
  const [a, b] = broadcastShapes[label] as [Shape, Shape];
  defineBinary('Sub', label, a, b, signed);
  defineBinary('Mul', label, a, b, signed);
  defineBinary('Div', label, a, b, positive);
  defineBinary('Maximum', label, a, b, signed);
  defineBinary('Minimum', label, a, b, signed);
  defineBinary('Equal', label, a, b, ties);
  defineBinary('Greater', label, a, b, ties);
}
for (const label of ['same shape', 'scalar b', 'row b', 'outer product']) {
  const [a, b] = broadcastShapes[label] as [Shape, Shape];
  defineBinary('Pow', label, a, b, positive);
}

// ---------------------------------------------------------------- reductions

const reduceShapes: [Shape, number[][]][] = [
  [
    [4, 5, 6],
    [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2]],
  ],
  [
    [3, 4, 5, 6],
    [[1, 3], [0, 2, 3], [3]],
  ],
  [
    [129, 10],
    [[0], [1]],
  ],
];
for (const [shape, axesList] of reduceShapes) {
  for (const axes of axesList) {
    const attrs = { shape, axes };
    const label = `[${shape.join(',')}] over [${axes.join(',')}]`;
    defineCase(
      'Sum',
      label,
      (rng) => [rng.uniform(ref.sizeOf(shape))],
      (k, [x]) => [k.Sum(x!, attrs)],
      ([x]) => [ref.reduce(x!, shape, axes, 0, (s, v) => s + v)],
    );
    defineCase(
      'Max',
      label,
      (rng) => [rng.uniform(ref.sizeOf(shape))],
      (k, [x]) => [k.Max(x!, attrs)],
      ([x]) => [ref.reduce(x!, shape, axes, -Infinity, Math.max)],
    );
  }
}
for (const [shape, axis, draw] of [
  [[4, 5, 6], 0, signed],
  [[4, 5, 6], 1, signed],
  [[4, 5, 6], 2, signed],
  [[7, 10], 1, ties],
] as [Shape, number, (rng: Prng, n: number) => Vec][]) {
  defineCase(
    'ArgMax',
    `[${shape.join(',')}] axis ${axis}${draw === ties ? ' with ties' : ''}`,
    (rng) => [draw(rng, ref.sizeOf(shape))],
    (k, [x]) => [k.ArgMax(x!, { shape, axis })],
    ([x]) => [ref.argMax(x!, shape, axis)],
  );
}

// ---------------------------------------------------------------- layout

for (const [shape, perm] of [
  [
    [2, 3, 4],
    [2, 0, 1],
  ],
  [
    [2, 3, 4],
    [0, 2, 1],
  ],
  [
    [2, 3, 4],
    [1, 0, 2],
  ],
  [
    [37, 45],
    [1, 0],
  ],
  [
    [2, 5, 6, 3],
    [0, 3, 1, 2],
  ],
  [
    [2, 3, 5, 7],
    [3, 2, 1, 0],
  ],
  [
    [3, 1, 4],
    [1, 2, 0],
  ],
  [
    [2, 3],
    [0, 1],
  ],
] as [Shape, number[]][]) {
  const attrs = { shape, perm };
  defineCase(
    'Transpose',
    `[${shape.join(',')}] perm [${perm.join(',')}]`,
    (rng) => [rng.uniform(ref.sizeOf(shape))],
    (k, [x]) => [k.Transpose(x!, attrs)],
    ([x]) => [ref.transpose(x!, shape, perm)],
  );
}
{
  // int32 moves through the layout kernels too (labels, indices).
  const shape = [3, 4, 5];
  const perm = [2, 0, 1];
  const values = (): number[] => new Prng(7).integers(60, 1000);
  cases.push({
    name: 'int32 [3,4,5] perm [2,0,1]',
    kernel: 'Transpose',
    runAs: (backend) => [backend.kernels.Transpose(int32(backend, values()), { shape, perm })],
    run: (backend) => [backend.kernels.Transpose(int32(backend, values()), { shape, perm })],
    reference: () => [ref.transpose(Float64Array.from(values()), shape, perm)],
  });
}

for (const [shapes, axis] of [
  [
    [
      [2, 3],
      [4, 3],
    ],
    0,
  ],
  [
    [
      [2, 3, 4],
      [2, 1, 4],
      [2, 5, 4],
    ],
    1,
  ],
  [
    [
      [3, 2, 7],
      [3, 2, 70],
    ],
    2,
  ],
] as [Shape[], number][]) {
  defineCase(
    'Concat',
    `${shapes.map((s) => `[${s.join(',')}]`).join(' ')} axis ${axis}`,
    (rng) => shapes.map((s) => rng.uniform(ref.sizeOf(s))),
    (k, xs) => [k.Concat(xs, { shapes, axis })],
    (xs) => [ref.concat(xs, shapes, axis)],
  );
}

for (const [shape, begin, size] of [
  [
    [5, 6, 7],
    [1, 2, 3],
    [3, 2, 4],
  ],
  [
    [5, 6, 7],
    [0, 0, 0],
    [5, 6, 7],
  ],
  [
    [4, 100],
    [1, 10],
    [2, 80],
  ],
  [
    [2, 6, 6, 3],
    [0, 1, 1, 0],
    [2, 4, 4, 3],
  ],
] as [Shape, number[], number[]][]) {
  const attrs = { shape, begin, size };
  defineCase(
    'Slice',
    `[${shape.join(',')}] begin [${begin.join(',')}] size [${size.join(',')}]`,
    (rng) => [rng.uniform(ref.sizeOf(shape))],
    (k, [x]) => [k.Slice(x!, attrs)],
    ([x]) => [ref.slice(x!, shape, begin, size)],
  );
}

for (const [shape, paddings, value] of [
  [
    [2, 5, 5, 3],
    [
      [0, 0],
      [1, 1],
      [2, 1],
      [0, 0],
    ],
    0,
  ],
  [
    [3, 4],
    [
      [2, 0],
      [1, 3],
    ],
    -1.5,
  ],
  [[7], [[0, 3]], 2],
] as [Shape, [number, number][], number][]) {
  const attrs = { shape, paddings, value };
  defineCase(
    'Pad',
    `[${shape.join(',')}] paddings ${JSON.stringify(paddings)} value ${value}`,
    (rng) => [rng.uniform(ref.sizeOf(shape))],
    (k, [x]) => [k.Pad(x!, attrs)],
    ([x]) => [ref.pad(x!, shape, paddings, value)],
  );
}

// ---------------------------------------------------------------- gather

for (const [label, rows, width, indexCount] of [
  ['10 rows of 7, 23 indices with repeats', 10, 7, 23],
  ['class-token-sized table, 1 row of 64', 1, 64, 5],
  ['wide rows 3 x 300', 3, 300, 4],
] as [string, number, number, number][]) {
  const attrs = { rows, width };
  const indices = new Prng(seedOf(label)).integers(indexCount, rows);
  defineCase(
    'Gather',
    label,
    (rng) => [rng.uniform(rows * width)],
    (k, [table], backend) => [k.Gather(table!, int32(backend, indices), attrs)],
    ([table]) => [ref.gather(table!, indices, width)],
  );
  defineCase(
    'GatherGrad',
    label,
    (rng) => [rng.uniform(indexCount * width)],
    (k, [dy], backend) => [k.GatherGrad(dy!, int32(backend, indices), attrs)],
    ([dy]) => [ref.gatherGrad(dy!, indices, rows, width)],
  );
}

// ---------------------------------------------------------------- matmul

for (const [batch, m, k, n, transposeA, transposeB] of [
  [1, 5, 7, 3, false, false],
  [1, 5, 7, 3, true, false],
  [1, 5, 7, 3, false, true],
  [1, 5, 7, 3, true, true],
  [3, 4, 6, 5, false, false],
  [2, 9, 4, 6, true, true],
  [1, 33, 65, 17, false, false],
  [1, 8, 1600, 10, false, false],
  [1, 70, 400, 130, false, true],
  [1, 1, 1, 1, false, false],
  // Attention on the vit's shapes (50 tokens, head size 16), a few (batch x head) products:
  // scores = q k^T, context = p v, and the backward's p^T dy and dy v^T.
  [6, 50, 16, 50, false, true],
  [6, 50, 50, 16, false, false],
  [6, 50, 50, 16, true, false],
  [3, 17, 16, 17, true, true],
] as [number, number, number, number, boolean, boolean][]) {
  const attrs = { batch, m, k, n, transposeA, transposeB };
  defineCase(
    'MatMul',
    `batch ${batch} ${m}x${k}x${n}${transposeA ? ' transposeA' : ''}${transposeB ? ' transposeB' : ''}`,
    (rng) => [rng.uniform(batch * m * k), rng.uniform(batch * k * n)],
    (kn, [a, b]) => [kn.MatMul(a!, b!, attrs)],
    ([a, b]) => [ref.matMul(a!, b!, batch, m, k, n, transposeA, transposeB)],
  );
}

// ---------------------------------------------------------------- convolution

interface WindowOptions {
  stride?: number | [number, number];
  padding?: 'same' | 'valid' | [number, number, number, number];
  dilation?: number | [number, number];
}

/** Window geometry, 'same' padding as TensorFlow (the extra cell after). */
export function window(
  N: number,
  H: number,
  W: number,
  C: number,
  KH: number,
  KW: number,
  options: WindowOptions = {},
): Window2D {
  const [strideH, strideW] =
    typeof options.stride === 'number' ? [options.stride, options.stride] : (options.stride ?? [1, 1]);
  const [dilationH, dilationW] =
    typeof options.dilation === 'number'
      ? [options.dilation, options.dilation]
      : (options.dilation ?? [1, 1]);
  const padding = options.padding ?? 'valid';
  let pads: [number, number, number, number] = [0, 0, 0, 0];
  if (padding === 'same') {
    const total = (size: number, k: number, s: number, d: number): number =>
      Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
    const th = total(H, KH, strideH, dilationH);
    const tw = total(W, KW, strideW, dilationW);
    pads = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else if (padding !== 'valid') pads = padding;
  const [padTop, padBottom, padLeft, padRight] = pads;
  const out = (size: number, before: number, after: number, k: number, s: number, d: number): number =>
    Math.floor((size + before + after - d * (k - 1) - 1) / s) + 1;
  return {
    N,
    H,
    W,
    C,
    KH,
    KW,
    OH: out(H, padTop, padBottom, KH, strideH, dilationH),
    OW: out(W, padLeft, padRight, KW, strideW, dilationW),
    strideH,
    strideW,
    padTop,
    padBottom,
    padLeft,
    padRight,
    dilationH,
    dilationW,
  };
}

function describeWindow(a: Window2D, extra = ''): string {
  const pad = `${a.padTop},${a.padBottom},${a.padLeft},${a.padRight}`;
  return (
    `x ${a.N}x${a.H}x${a.W}x${a.C} k ${a.KH}x${a.KW}${extra} stride ${a.strideH},${a.strideW} ` +
    `pad ${pad} dilation ${a.dilationH},${a.dilationW}`
  );
}

const convs: [string, Conv2DAttrs, boolean][] = [
  ['cnn conv1', { ...window(2, 28, 28, 1, 3, 3), O: 32 }, true],
  ['cnn conv2', { ...window(2, 13, 13, 32, 3, 3), O: 64 }, true],
  ['stride 2 same', { ...window(3, 9, 7, 5, 3, 3, { stride: 2, padding: 'same' }), O: 6 }, true],
  ['dilation 2 same', { ...window(2, 8, 9, 3, 3, 3, { dilation: 2, padding: 'same' }), O: 7 }, false],
  ['5x5 same odd sizes', { ...window(2, 7, 7, 4, 5, 5, { padding: 'same' }), O: 5 }, true],
  ['1x1 pointwise', { ...window(2, 5, 5, 6, 1, 1), O: 10 }, true],
  ['1x1 stride 2', { ...window(2, 5, 6, 3, 1, 1, { stride: 2 }), O: 9 }, false],
  [
    '2x3 stride 2,1 asymmetric padding',
    { ...window(2, 6, 7, 3, 2, 3, { stride: [2, 1], padding: [1, 0, 2, 1] }), O: 4 },
    true,
  ],
  [
    'stride 2 valid, dilation 2x1',
    { ...window(1, 11, 10, 9, 3, 2, { stride: 2, dilation: [2, 1] }), O: 11 },
    false,
  ],
];
for (const [label, attrs, withBias] of convs) {
  const { N, H, W, C, KH, KW, OH, OW, O } = attrs;
  const name = `${label}: ${describeWindow(attrs, `x${C}x${O}`)}`;
  // Weights scaled like a He init so outputs stay O(1) whatever K is.
  const wScale = Math.sqrt(3 / (KH * KW * C));
  defineCase(
    'Conv2D',
    `${name}${withBias ? ' + bias' : ''}`,
    (rng) => [rng.uniform(N * H * W * C), rng.uniform(KH * KW * C * O, -wScale, wScale), rng.uniform(O)],
    (k, [x, w, b]) => [k.Conv2D(x!, w!, withBias ? b! : null, attrs)],
    ([x, w, b]) => [ref.conv2d(x!, w!, withBias ? b! : null, attrs)],
  );
  defineCase(
    'Conv2DBackpropInput',
    name,
    (rng) => [rng.uniform(N * OH * OW * O), rng.uniform(KH * KW * C * O, -wScale, wScale)],
    (k, [dy, w]) => [k.Conv2DBackpropInput(dy!, w!, attrs)],
    ([dy, w]) => [ref.conv2dBackpropInput(dy!, w!, attrs)],
  );
  const dyScale = 1 / Math.sqrt(N * OH * OW);
  defineCase(
    'Conv2DBackpropFilter',
    name,
    (rng) => [rng.uniform(N * H * W * C), rng.uniform(N * OH * OW * O, -dyScale, dyScale)],
    (k, [x, dy]) => [k.Conv2DBackpropFilter(x!, dy!, attrs)],
    ([x, dy]) => [ref.conv2dBackpropFilter(x!, dy!, attrs)],
  );
  // The fused forms: ReLU after the convolution (half the outputs clipped), and dw with dbias.
  defineCase(
    'FusedConv2D',
    `${name}${withBias ? ' + bias' : ''} + relu`,
    (rng) => [rng.uniform(N * H * W * C), rng.uniform(KH * KW * C * O, -wScale, wScale), rng.uniform(O)],
    (k, [x, w, b]) => [k.FusedConv2D(x!, w!, withBias ? b! : null, { ...attrs, activation: 'relu' })],
    ([x, w, b]) => [ref.map(ref.conv2d(x!, w!, withBias ? b! : null, attrs), (v) => Math.max(v, 0))],
  );
  defineCase(
    'Conv2DBackpropFilterBias',
    name,
    (rng) => [rng.uniform(N * H * W * C), rng.uniform(N * OH * OW * O, -dyScale, dyScale)],
    (k, [x, dy]) => {
      const { dw, dbias } = k.Conv2DBackpropFilterBias(x!, dy!, attrs);
      return [dw, dbias];
    },
    ([x, dy]) => [ref.conv2dBackpropFilter(x!, dy!, attrs), ref.sumRows(dy!, N * OH * OW, O)],
  );
}
defineCase(
  'FusedConv2D',
  'linear is Conv2D',
  (rng) => [rng.uniform(2 * 6 * 6 * 3), rng.uniform(3 * 3 * 3 * 4, -0.5, 0.5), rng.uniform(4)],
  (k, [x, w, b]) => [k.FusedConv2D(x!, w!, b!, { ...window(2, 6, 6, 3, 3, 3), O: 4, activation: 'linear' })],
  ([x, w, b]) => [ref.conv2d(x!, w!, b!, { ...window(2, 6, 6, 3, 3, 3), O: 4 })],
);

// ---------------------------------------------------------------- pooling

const pools: [string, Window2D][] = [
  ['cnn pool1 2x2', window(2, 26, 26, 32, 2, 2, { stride: 2 })],
  ['cnn pool2 2x2 odd input', window(2, 11, 11, 64, 2, 2, { stride: 2 })],
  ['3x3 stride 2 same', window(2, 9, 8, 5, 3, 3, { stride: 2, padding: 'same' })],
  ['3x3 stride 1 same', window(1, 6, 7, 3, 3, 3, { padding: 'same' })],
  ['2x2 dilation 2', window(2, 7, 7, 3, 2, 2, { dilation: 2 })],
  ['global 5x5', window(3, 5, 5, 7, 5, 5)],
];
for (const [label, attrs] of pools) {
  const { N, H, W, C, OH, OW } = attrs;
  const name = `${label}: ${describeWindow(attrs)}`;
  defineCase(
    'MaxPool',
    name,
    (rng) => [rng.uniform(N * H * W * C)],
    (k, [x]) => [k.MaxPool(x!, attrs).y],
    ([x]) => [ref.maxPool(x!, attrs)],
  );
  defineCase(
    'MaxPoolGrad',
    name,
    (rng) => [rng.uniform(N * H * W * C), rng.uniform(N * OH * OW * C)],
    (k, [x, dy]) => [k.MaxPoolGrad(dy!, x!, k.MaxPool(x!, attrs).workspace, attrs)],
    ([x, dy]) => [ref.maxPoolGrad(dy!, x!, attrs)],
  );
  defineCase(
    'AvgPool',
    name,
    (rng) => [rng.uniform(N * H * W * C)],
    (k, [x]) => [k.AvgPool(x!, attrs)],
    ([x]) => [ref.avgPool(x!, attrs)],
  );
  defineCase(
    'AvgPoolGrad',
    name,
    (rng) => [rng.uniform(N * OH * OW * C)],
    (k, [dy]) => [k.AvgPoolGrad(dy!, attrs)],
    ([dy]) => [ref.avgPoolGrad(dy!, attrs)],
  );
}

// ---------------------------------------------------------------- softmax family

for (const [label, outer, size, scale] of [
  ['7 rows of 10', 7, 10, 3],
  ['large logits', 5, 10, 1000],
  ['one wide row', 1, 300, 5],
  ['attention rows: 4 heads x 50 queries over 50 keys', 200, 50, 4],
] as [string, number, number, number][]) {
  const attrs = { outer, size };
  defineCase(
    'Softmax',
    label,
    (rng) => [rng.uniform(outer * size, -scale, scale)],
    (k, [x]) => [k.Softmax(x!, attrs)],
    ([x]) => [ref.softmax(x!, size)],
  );
  defineCase(
    'LogSoftmax',
    label,
    (rng) => [rng.uniform(outer * size, -scale, scale)],
    (k, [x]) => [k.LogSoftmax(x!, attrs)],
    ([x]) => [ref.logSoftmax(x!, size)],
  );
  // Gradients take the forward output: build a valid one from the reference forward.
  defineCase(
    'SoftmaxGrad',
    label,
    (rng) => [
      rng.uniform(outer * size),
      ref.softmax(rng.uniform(outer * size, -scale, scale), size).map(Math.fround),
    ],
    (k, [dy, y]) => [k.SoftmaxGrad(dy!, y!, attrs)],
    ([dy, y]) => [ref.softmaxGrad(dy!, y!, size)],
  );
  defineCase(
    'LogSoftmaxGrad',
    label,
    (rng) => [
      rng.uniform(outer * size),
      ref.logSoftmax(rng.uniform(outer * size, -scale, scale), size).map(Math.fround),
    ],
    (k, [dy, y]) => [k.LogSoftmaxGrad(dy!, y!, attrs)],
    ([dy, y]) => [ref.logSoftmaxGrad(dy!, y!, size)],
  );
}

for (const [label, batch, classes, smoothing, scale] of [
  ['batch 7, 10 classes', 7, 10, 0, 3],
  ['label smoothing 0.1', 7, 10, 0.1, 3],
  ['large logits, smoothing 0.2', 4, 5, 0.2, 500],
  ['batch 128', 128, 10, 0, 5],
] as [string, number, number, number, number][]) {
  const attrs = { batch, classes, labelSmoothing: smoothing };
  const labels = new Prng(seedOf(label)).integers(batch, classes);
  defineCase(
    'SoftmaxCrossEntropy',
    label,
    (rng) => [rng.uniform(batch * classes, -scale, scale)],
    (k, [x], backend) => {
      const { loss, probs } = k.SoftmaxCrossEntropy(x!, int32(backend, labels), attrs);
      return [loss, probs];
    },
    ([x]) => ref.softmaxCrossEntropy(x!, labels, classes, smoothing),
  );
  defineCase(
    'SoftmaxCrossEntropyGrad',
    `${label}, dloss 2.5`,
    (rng) => [ref.softmax(rng.uniform(batch * classes, -scale, scale), classes).map(Math.fround)],
    (k, [probs], backend) => [
      k.SoftmaxCrossEntropyGrad(
        probs!,
        int32(backend, labels),
        upload(backend, dtypeOf(probs!), Float64Array.of(2.5)),
        attrs,
      ),
    ],
    ([probs]) => [ref.softmaxCrossEntropyGrad(probs!, labels, 2.5, classes, smoothing)],
  );
}

// ---------------------------------------------------------------- normalisation

for (const [label, outer, size, offset] of [
  ['NHWC 2x3x4 pixels, 5 channels', 24, 5, 0],
  ['offset mean 3', 50, 3, 3],
] as [string, number, number, number][]) {
  const attrs = { outer, size, epsilon: 1e-3 };
  const x = (rng: Prng): Vec => rng.uniform(outer * size, offset - 1, offset + 2);
  defineCase(
    'BatchNorm',
    label,
    (rng) => [x(rng), rng.uniform(size, 0.5, 1.5), rng.uniform(size)],
    (k, [xs, gamma, beta]) => {
      const { y, mean, invStd } = k.BatchNorm(xs!, gamma!, beta!, attrs);
      return [y, mean, invStd];
    },
    ([xs, gamma, beta]) => ref.batchNorm(xs!, gamma!, beta!, size, attrs.epsilon),
  );
  defineCase(
    'BatchNormGrad',
    label,
    (rng) => {
      const xs = x(rng);
      const [, mean, invStd] = ref.batchNorm(
        xs,
        new Float64Array(size),
        new Float64Array(size),
        size,
        attrs.epsilon,
      );
      return [
        rng.uniform(outer * size),
        xs,
        rng.uniform(size, 0.5, 1.5),
        mean.map(Math.fround),
        invStd.map(Math.fround),
      ];
    },
    (k, [dy, xs, gamma, mean, invStd]) => {
      const { dx, dgamma, dbeta } = k.BatchNormGrad(dy!, xs!, gamma!, mean!, invStd!, attrs);
      return [dx, dgamma, dbeta];
    },
    ([dy, xs, gamma, mean, invStd]) => ref.normGrad(dy!, xs!, gamma!, mean!, invStd!, size, true),
  );
  defineCase(
    'BatchNormInference',
    label,
    (rng) => [
      x(rng),
      rng.uniform(size, 0.5, 1.5),
      rng.uniform(size),
      rng.uniform(size, offset - 0.5, offset + 0.5),
      rng.uniform(size, 0.2, 2),
    ],
    (k, [xs, gamma, beta, mean, variance]) => [
      k.BatchNormInference(xs!, gamma!, beta!, mean!, variance!, attrs),
    ],
    ([xs, gamma, beta, mean, variance]) => [
      ref.map(xs!, (v, i) => {
        const j = i % size;
        return (
          ((gamma![j] as number) * (v - (mean![j] as number))) /
            Math.sqrt((variance![j] as number) + attrs.epsilon) +
          (beta![j] as number)
        );
      }),
    ],
  );
}
defineCase(
  'BatchNormMovingUpdate',
  '5 channels, momentum 0.9, a variance under epsilon clamped to 0',
  (rng) => [
    rng.uniform(5, -1, 1),
    rng.uniform(5, 0.5, 2),
    rng.uniform(5, -1, 1),
    Float64Array.of(0.5, 1, 2, 40, 0.125),
  ],
  (k, [movingMean, movingVariance, batchMean, invStd]) => {
    k.BatchNormMovingUpdate(movingMean!, movingVariance!, batchMean!, invStd!, {
      size: 5,
      momentum: 0.9,
      epsilon: 1e-3,
    });
    return [movingMean!, movingVariance!];
  },
  ([movingMean, movingVariance, batchMean, invStd]) => [
    ref.map(movingMean!, (m, c) => m * 0.9 + (batchMean![c] as number) * (1 - 0.9)),
    ref.map(movingVariance!, (v, c) => {
      const s = invStd![c] as number;
      return v * 0.9 + Math.max(1 / (s * s) - 1e-3, 0) * (1 - 0.9);
    }),
  ],
);

for (const [label, outer, size, epsilon] of [
  ['6 rows of 10', 6, 10, 1e-5],
  ['33 rows of 64', 33, 64, 1e-5],
  ['vit tokens: 100 rows of 64, Keras epsilon 1e-3', 100, 64, 1e-3],
] as [string, number, number, number][]) {
  const attrs = { outer, size, epsilon };
  defineCase(
    'LayerNorm',
    label,
    (rng) => [rng.uniform(outer * size, -1, 3), rng.uniform(size, 0.5, 1.5), rng.uniform(size)],
    (k, [x, gamma, beta]) => {
      const { y, mean, invStd } = k.LayerNorm(x!, gamma!, beta!, attrs);
      return [y, mean, invStd];
    },
    ([x, gamma, beta]) => ref.layerNorm(x!, gamma!, beta!, size, attrs.epsilon),
  );
  defineCase(
    'LayerNormGrad',
    label,
    (rng) => {
      const x = rng.uniform(outer * size, -1, 3);
      const [, mean, invStd] = ref.layerNorm(
        x,
        new Float64Array(size),
        new Float64Array(size),
        size,
        attrs.epsilon,
      );
      return [
        rng.uniform(outer * size),
        x,
        rng.uniform(size, 0.5, 1.5),
        mean.map(Math.fround),
        invStd.map(Math.fround),
      ];
    },
    (k, [dy, x, gamma, mean, invStd]) => {
      const { dx, dgamma, dbeta } = k.LayerNormGrad(dy!, x!, gamma!, mean!, invStd!, attrs);
      return [dx, dgamma, dbeta];
    },
    ([dy, x, gamma, mean, invStd]) => ref.normGrad(dy!, x!, gamma!, mean!, invStd!, size, false),
  );
}

// ---------------------------------------------------------------- optimizer updates

/** Parameter sizes of one update call: a conv kernel, a bias, an odd-sized dense kernel. */
const paramSizes = [3 * 3 * 2 * 4, 4, 37];
const STEPS = 3;
/** params, then STEPS gradients per parameter, then the optimizer slots (zero-initialised at step 1 in practice; random here). */
function optimizerInputs(rng: Prng, slots: number): Vec[] {
  const params = paramSizes.map((n) => rng.uniform(n));
  const grads = Array.from({ length: STEPS }, () => paramSizes.map((n) => rng.uniform(n, -0.5, 0.5))).flat();
  const slotValues = Array.from({ length: slots }, (_, s) =>
    paramSizes.map((n) => rng.uniform(n, s === 1 ? 0 : -0.1, 0.1)),
  ).flat();
  return [...params, ...grads, ...slotValues];
}

for (const [label, beta1, beta2, epsilon, weightDecay, decoupled] of [
  ['Adam', 0.9, 0.999, 1e-7, 0, false],
  ['Adam with L2 0.05, big epsilon', 0.8, 0.95, 0.05, 0.05, false],
  ['AdamW decay 0.1', 0.9, 0.999, 1e-7, 0.1, true],
] as [string, number, number, number, number, boolean][]) {
  const count = paramSizes.length;
  const lr = 0.01;
  defineCase(
    'AdamUpdate',
    `${label}, ${STEPS} steps`,
    (rng) => optimizerInputs(rng, 2),
    (k, xs, backend) => {
      const params = xs.slice(0, count);
      const m = xs.slice((1 + STEPS) * count, (2 + STEPS) * count);
      const v = xs.slice((2 + STEPS) * count, (3 + STEPS) * count);
      for (let s = 0; s < STEPS; s++) {
        const grads = xs.slice((1 + s) * count, (2 + s) * count);
        k.AdamUpdate(params, grads, m, v, schedule(backend, lr, s + 1), {
          beta1,
          beta2,
          epsilon,
          weightDecay,
          decoupledWeightDecay: decoupled,
        });
      }
      return [...params, ...m, ...v];
    },
    (xs) => {
      const params = xs.slice(0, count).map((p) => p.slice());
      const m = xs.slice((1 + STEPS) * count, (2 + STEPS) * count).map((p) => p.slice());
      const v = xs.slice((2 + STEPS) * count, (3 + STEPS) * count).map((p) => p.slice());
      for (let s = 0; s < STEPS; s++) {
        const t = s + 1;
        params.forEach((p, j) => {
          const g = xs[(1 + s) * count + j] as Vec;
          for (let i = 0; i < p.length; i++) {
            const gi = (g[i] as number) + (decoupled ? 0 : weightDecay * (p[i] as number));
            m[j]![i] = beta1 * (m[j]![i] as number) + (1 - beta1) * gi;
            v[j]![i] = beta2 * (v[j]![i] as number) + (1 - beta2) * gi * gi;
            if (decoupled) p[i] = (p[i] as number) - lr * weightDecay * (p[i] as number);
            const mHat = (m[j]![i] as number) / (1 - beta1 ** t);
            const vHat = (v[j]![i] as number) / (1 - beta2 ** t);
            // Keras places epsilon outside the bias correction of v: sqrt(v) + eps, scaled back.
            p[i] = (p[i] as number) - (lr * mHat) / (Math.sqrt(vHat) + epsilon / Math.sqrt(1 - beta2 ** t));
          }
        });
      }
      return [...params, ...m, ...v];
    },
  );
}

for (const [label, momentum, nesterov, weightDecay] of [
  ['plain', 0, false, 0],
  ['plain with weight decay 0.1', 0, false, 0.1],
  ['momentum 0.9', 0.9, false, 0],
  ['Nesterov 0.9 with weight decay 0.01', 0.9, true, 0.01],
] as [string, number, boolean, number][]) {
  const count = paramSizes.length;
  const lr = 0.1;
  defineCase(
    'SgdUpdate',
    `${label}, ${STEPS} steps`,
    (rng) => optimizerInputs(rng, momentum > 0 ? 1 : 0),
    (k, xs, backend) => {
      const params = xs.slice(0, count);
      const velocity = momentum > 0 ? xs.slice((1 + STEPS) * count, (2 + STEPS) * count) : [];
      for (let s = 0; s < STEPS; s++) {
        k.SgdUpdate(params, xs.slice((1 + s) * count, (2 + s) * count), velocity, schedule(backend, lr), {
          momentum,
          nesterov,
          weightDecay,
        });
      }
      return [...params, ...velocity];
    },
    (xs) => {
      const params = xs.slice(0, count).map((p) => p.slice());
      const velocity =
        momentum > 0 ? xs.slice((1 + STEPS) * count, (2 + STEPS) * count).map((p) => p.slice()) : [];
      for (let s = 0; s < STEPS; s++) {
        params.forEach((p, j) => {
          const g = xs[(1 + s) * count + j] as Vec;
          for (let i = 0; i < p.length; i++) {
            const gi = (g[i] as number) + weightDecay * (p[i] as number);
            if (momentum === 0) {
              p[i] = (p[i] as number) - lr * gi;
              continue;
            }
            const vel = velocity[j] as Vec;
            vel[i] = momentum * (vel[i] as number) - lr * gi;
            p[i] =
              (p[i] as number) + (nesterov ? momentum * (vel[i] as number) - lr * gi : (vel[i] as number));
          }
        });
      }
      return [...params, ...velocity];
    },
  );
}

// ---------------------------------------------------------------- the finite check

for (const [label, poison] of [
  ['all finite', null],
  ['a NaN in the second buffer', Number.NaN],
  ['an Infinity in the second buffer', Number.POSITIVE_INFINITY],
  ['a -Infinity in the second buffer', Number.NEGATIVE_INFINITY],
] as [string, number | null][]) {
  defineCase(
    'AllFinite',
    label,
    (rng) => {
      const second = rng.uniform(37, -1e30, 1e30);
      if (poison !== null) second[20] = poison;
      return [rng.uniform(10), second, new Float64Array(0)];
    },
    (k, xs) => [k.AllFinite(xs)],
    () => [Float64Array.of(poison === null ? 1 : 0)],
  );
}

// ---------------------------------------------------------------- dropout

// The mask must be the exact xoshiro128** stream of src/util/random.ts: the reference draws it
// with Random.nextFloat(); the advanced state (as int32 words) is an output too.
for (const [size, rate, seed] of [
  [128 * 1600, 0.5, 7],
  [1001, 0.1, 8],
  [33, 0.9, 9],
] as const) {
  defineCase(
    'Dropout',
    `${size} values, rate ${rate}`,
    (rng) => [rng.uniform(size, -2, 2)],
    (k, [x], backend) => {
      const state = new Uint32Array(4);
      new Random(seed).saveWords(state);
      const { y, mask } = k.Dropout(x!, state, { rate });
      const words = backend.alloc('int32', 4);
      words.set(new Int32Array(state.buffer));
      return [y, mask, words];
    },
    ([x]) => {
      const random = new Random(seed);
      const keep = 1 - rate;
      const mask = new Float64Array(size);
      for (let i = 0; i < size; i++) mask[i] = random.nextFloat() < keep ? 1 / keep : 0;
      const words = Float64Array.from(random.state().words, (w) => w | 0);
      return [ref.map(x!, (v, i) => v * (mask[i] as number)), mask, words];
    },
  );
}

export const conformanceCases: ConformanceCase[] = cases;
