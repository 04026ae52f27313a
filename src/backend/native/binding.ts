// The seam to the C++ addon (native/, built by scripts/build-native.mjs): the one file that
// declares the addon's functions and loads it. Nothing else imports the .node file.
//
// Conventions of every function below:
// - Buffers are float32 (Float32Array) unless typed otherwise; outputs are passed in, already
//   allocated (from alloc below, through the backend's pool), and are fully written.
// - Geometry blocks are Int32Arrays: [N, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop,
//   padBottom, padLeft, padRight, dilationH, dilationW] and, for convolutions, O as the 17th.
// - Packed shapes are Int32Arrays; each function's comment gives the layout.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Unary op codes of eltwise/eltwiseGrad (native/src/eltwise.cc). */
export const EltwiseOp = {
  Neg: 0,
  Exp: 1,
  Log: 2,
  Sqrt: 3,
  Abs: 4,
  Relu: 5,
  LeakyRelu: 6,
  Sigmoid: 7,
  Tanh: 8,
  Gelu: 9,
  GeluTanh: 10,
} as const;
export type EltwiseOpCode = (typeof EltwiseOp)[keyof typeof EltwiseOp];

/** Binary op codes (native/src/binary.cc). */
export const BinaryOp = {
  Add: 0,
  Sub: 1,
  Mul: 2,
  Div: 3,
  Pow: 4,
  Maximum: 5,
  Minimum: 6,
  Equal: 7,
  Greater: 8,
} as const;
export type BinaryOpCode = (typeof BinaryOp)[keyof typeof BinaryOp];

export const ReduceOp = { Sum: 0, Max: 1 } as const;
export type ReduceOpCode = (typeof ReduceOp)[keyof typeof ReduceOp];

type F32 = Float32Array;

export interface NativeAddon {
  /** 64-byte aligned native memory of `byteLength` bytes as an external ArrayBuffer (freed by GC). */
  alloc(byteLength: number): ArrayBuffer;
  /** OpenMP team size; clears the primitive cache. */
  setThreads(threads: number): void;
  getThreads(): number;
  /** e.g. "oneDNN 2.6.3 (OpenMP)". */
  version(): string;
  clearCache(): void;
  cacheSize(): number;

  /**
   * One line per cached convolution primitive: direction, oneDNN implementation and geometry, e.g.
   * "forward jit_wino_4x3:avx512_core N128 H13 W13 C32 -> O64 3x3 stride 1". For benchmarks and tests.
   */
  convImplementations(): string[];
  /** relu: a ReLU post-op on the output (FusedConv2D). */
  conv2d(x: F32, w: F32, bias: F32 | null, y: F32, geometry: Int32Array, relu?: boolean): void;
  conv2dBackpropInput(dy: F32, w: F32, dx: F32, geometry: Int32Array): void;
  /** dbias (O): also the bias gradient (column sums of dy), in the same call. */
  conv2dBackpropFilter(x: F32, dy: F32, dw: F32, geometry: Int32Array, dbias?: F32 | null): void;

  /** Bytes of the opaque workspace maxPool writes for this geometry. */
  maxPoolWorkspaceBytes(geometry: Int32Array): number;
  maxPool(x: F32, y: F32, workspace: Int32Array, geometry: Int32Array): void;
  maxPoolGrad(dy: F32, workspace: Int32Array, dx: F32, geometry: Int32Array): void;
  avgPool(x: F32, y: F32, geometry: Int32Array): void;
  avgPoolGrad(dy: F32, dx: F32, geometry: Int32Array): void;

  matmul(
    a: F32,
    b: F32,
    out: F32,
    batch: number,
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
  ): void;

  eltwise(op: EltwiseOpCode, x: F32, y: F32, alpha: number): void;
  /** `data` is x for Relu/LeakyRelu/Gelu/GeluTanh and the forward output y for Sigmoid/Tanh. */
  eltwiseGrad(op: EltwiseOpCode, dy: F32, data: F32, dx: F32, alpha: number): void;
  softmax(x: F32, y: F32, outer: number, size: number, log: boolean): void;
  softmaxGrad(dy: F32, y: F32, dx: F32, outer: number, size: number, log: boolean): void;

  /** shapes: [aRank, a..., bRank, b..., outRank, out...]. */
  binary(op: BinaryOpCode, a: F32, b: F32, out: F32, shapes: Int32Array): void;
  /** shape: [rank, dims..., axisCount, axes...]. */
  reduce(op: ReduceOpCode, x: F32, out: F32, shape: Int32Array): void;

  /** shape: [rank, dims..., perm...]; float32 or int32. */
  transpose(x: F32 | Int32Array, out: F32 | Int32Array, shape: Int32Array): void;
  /** shapes: [count, rank, shape0..., shape1..., ...]. */
  concat(xs: readonly (F32 | Int32Array)[], out: F32 | Int32Array, shapes: Int32Array, axis: number): void;
  /** shape: [rank, dims..., begin..., size...]. */
  slice(x: F32 | Int32Array, out: F32 | Int32Array, shape: Int32Array): void;
  /** shape: [rank, dims..., before..., after...]. */
  pad(x: F32, out: F32, shape: Int32Array, value: number): void;
  argMax(x: F32, out: Int32Array, outer: number, axis: number, inner: number): void;

  batchNorm(
    x: F32,
    gamma: F32,
    beta: F32,
    y: F32,
    mean: F32,
    invStd: F32,
    outer: number,
    size: number,
    epsilon: number,
  ): void;
  batchNormGrad(
    dy: F32,
    x: F32,
    gamma: F32,
    mean: F32,
    invStd: F32,
    dx: F32,
    dgamma: F32,
    dbeta: F32,
    outer: number,
    size: number,
    epsilon: number,
  ): void;
  batchNormInference(
    x: F32,
    gamma: F32,
    beta: F32,
    mean: F32,
    variance: F32,
    y: F32,
    outer: number,
    size: number,
    epsilon: number,
  ): void;
  layerNorm(
    x: F32,
    gamma: F32,
    beta: F32,
    y: F32,
    mean: F32,
    invStd: F32,
    outer: number,
    size: number,
    epsilon: number,
  ): void;
  layerNormGrad(
    dy: F32,
    x: F32,
    gamma: F32,
    mean: F32,
    invStd: F32,
    dx: F32,
    dgamma: F32,
    dbeta: F32,
    outer: number,
    size: number,
    epsilon: number,
  ): void;

  softmaxCrossEntropy(
    logits: F32,
    labels: Int32Array,
    loss: F32,
    probs: F32,
    batch: number,
    classes: number,
    labelSmoothing: number,
  ): void;
  softmaxCrossEntropyGrad(
    probs: F32,
    labels: Int32Array,
    dlogits: F32,
    dloss: number,
    batch: number,
    classes: number,
    labelSmoothing: number,
  ): void;
  /** y = x * mask, mask from xoshiro128** draws on state (4 words, advanced in place); keep = 1 - rate. */
  dropout(x: F32, y: F32, mask: F32, state: Uint32Array, keep: number): void;
  adamUpdate(
    params: readonly F32[],
    grads: readonly F32[],
    m: readonly F32[],
    v: readonly F32[],
    lr: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    step: number,
    weightDecay: number,
    decoupledWeightDecay: boolean,
  ): void;
  sgdUpdate(
    params: readonly F32[],
    grads: readonly F32[],
    velocity: readonly F32[],
    lr: number,
    momentum: number,
    nesterov: boolean,
    weightDecay: number,
  ): void;
}

export type AddonLoad = { addon: NativeAddon; reason?: undefined } | { addon: null; reason: string };

/** Where node-gyp puts the addon: <package root>/native/build/Release (same depth from src/ and dist/). */
export const addonPath = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'native',
  'build',
  'Release',
  'mnist_lab_native.node',
);

const installHint =
  'install oneDNN (apt-get install libdnnl-dev / brew install onednn), then run `npm run build:native`';

let loaded: AddonLoad | undefined;

/** Loads the addon once; never throws: a failure comes back as a reason. MNIST_LAB_NO_NATIVE=1 hides it. */
export function loadAddon(): AddonLoad {
  // Checked on every call so a test can hide an already loaded addon.
  if (process.env.MNIST_LAB_NO_NATIVE === '1') {
    return { addon: null, reason: 'the native backend is disabled by MNIST_LAB_NO_NATIVE=1' };
  }
  loaded ??= tryLoad();
  return loaded;
}

function tryLoad(): AddonLoad {
  if (!existsSync(addonPath)) {
    return { addon: null, reason: `the native addon is not built (no ${addonPath}); ${installHint}` };
  }
  // NOTE: OpenMP's default spin-waiting collapses when the cores are shared: a training step that
  // takes 8 ms on an idle 2-core machine took 290 ms with other processes running, against 46 ms
  // with passive waiting. The runtime reads this once, when the addon loads libgomp; a user on a
  // dedicated machine can still choose OMP_WAIT_POLICY=active.
  process.env['OMP_WAIT_POLICY'] ??= 'passive';
  try {
    const require = createRequire(import.meta.url);
    return { addon: require(addonPath) as NativeAddon };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { addon: null, reason: `the native addon failed to load (${message}); ${installHint}` };
  }
}
