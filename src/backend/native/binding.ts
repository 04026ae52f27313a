// The seam to the C++ addon (native/, built by scripts/build-native.mjs): the one file that
// declares the addon's functions, the op codes and operand layouts its kernels take, and loads it.
// Nothing else imports the .node file.
//
// Every kernel is an op (native/src/common.h): an op code, buffers, int attributes and double
// attributes. An eager kernel call is a program of one op (`run`); a captured step is a plan of
// many, created once (`planCreate`) and run once per step (`planRun`). ProgramWriter below writes
// the layout native/src/plan.cc decodes; OP_LAYOUTS documents each op's operands.
//
// Conventions:
// - Buffers are float32 unless typed otherwise; outputs are passed in, already allocated (from
//   alloc below, through the backend's pool), and are fully written.
// - bf16 flags: 1 runs the op with bfloat16 operands and float32 accumulation (float32 in and out).
// - Geometry blocks are 17 ints: [N, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop,
//   padBottom, padLeft, padRight, dilationH, dilationW, O] (O is 0 for pooling).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Unary op codes of the Eltwise/EltwiseGrad ops (native/src/eltwise.cc). */
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

/** Op codes, mirrored from OpCode in native/src/common.h. */
export const Op = {
  Conv2D: 1,
  Conv2DBackpropInput: 2,
  Conv2DBackpropFilter: 3,
  MaxPool: 4,
  MaxPoolGrad: 5,
  AvgPool: 6,
  AvgPoolGrad: 7,
  MatMul: 8,
  Eltwise: 9,
  EltwiseGrad: 10,
  Softmax: 11,
  SoftmaxGrad: 12,
  Binary: 13,
  Reduce: 14,
  Transpose: 15,
  Concat: 16,
  Slice: 17,
  Pad: 18,
  ArgMax: 19,
  BatchNorm: 20,
  BatchNormGrad: 21,
  BatchNormInference: 22,
  LayerNorm: 23,
  LayerNormGrad: 24,
  SoftmaxCrossEntropy: 25,
  SoftmaxCrossEntropyGrad: 26,
  Dropout: 27,
  AdamUpdate: 28,
  SgdUpdate: 29,
  Gather: 30,
  GatherGrad: 31,
  AllFinite: 32,
  BatchNormMovingUpdate: 33,
  SkipUnless: 34,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/**
 * Each op's operands: buffers; ints; floats (the executors in native/src/*.cc read them in this
 * order). [geometry] is the 17-int block above.
 */
export const OP_LAYOUTS: Readonly<Record<keyof typeof Op, string>> = {
  Conv2D: 'x, w, bias | null, y; [geometry], relu, bf16',
  Conv2DBackpropInput: 'dy, w, dx; [geometry], bf16',
  Conv2DBackpropFilter: 'x, dy, dw, dbias | null; [geometry], bf16',
  MaxPool: 'x, y, workspace; [geometry]',
  MaxPoolGrad: 'dy, dx, workspace; [geometry]',
  AvgPool: 'x, y; [geometry]',
  AvgPoolGrad: 'dy, dx; [geometry]',
  MatMul: 'a, b, out; batch, m, k, n, transposeA, transposeB, bf16',
  Eltwise: 'x, y; eltwise op, n; alpha',
  EltwiseGrad: 'dy, x (y for Sigmoid and Tanh), dx; eltwise op, n; alpha',
  Softmax: 'x, y; outer, size, log',
  SoftmaxGrad: 'dy, y, dx; outer, size, log',
  Binary: 'a, b, out; binary op, aRank, a..., bRank, b..., outRank, out...',
  Reduce: 'x, out; reduce op, rank, dims..., axisCount, axes...',
  Transpose: 'x, out (f32 or i32); element type (0 f32, 1 i32), rank, dims..., perm...',
  Concat: 'out, x0, x1, ...; count, rank, shape0..., shape1..., ..., axis',
  Slice: 'x, out; rank, dims..., begin..., size...',
  Pad: 'x, out; rank, dims..., before..., after...; value',
  ArgMax: 'x, out (i32); outer, axis, inner',
  BatchNorm: 'x, gamma, beta, y, mean, invStd; outer, size; epsilon',
  BatchNormGrad: 'dy, x, gamma, mean, invStd, dx, dgamma, dbeta; outer, size; epsilon',
  BatchNormInference: 'x, gamma, beta, mean, variance, y; outer, size; epsilon',
  LayerNorm: 'x, gamma, beta, y, mean, invStd; outer, size; epsilon',
  LayerNormGrad: 'dy, x, gamma, mean, invStd, dx, dgamma, dbeta; outer, size; epsilon',
  SoftmaxCrossEntropy: 'logits, labels (i32), loss, probs; N, K; labelSmoothing',
  SoftmaxCrossEntropyGrad: 'probs, labels (i32), dloss, dlogits; N, K; labelSmoothing',
  Dropout: 'x, y, mask, state (4 u32 words, advanced in place); n; keep',
  AdamUpdate:
    'schedule (f64 [lr, step]), params x count, grads x count, m x count, v x count; count, lengths..., decoupled; beta1, beta2, epsilon, weightDecay',
  SgdUpdate:
    'schedule (f64 [lr]), params x count, grads x count, velocity x count (momentum only); count, lengths..., nesterov; momentum, weightDecay',
  Gather: 'table, indices (i32), out; rows, width, n',
  GatherGrad: 'dy, indices (i32), dtable; rows, width, n',
  AllFinite: 'flag (i32), x0, x1, ...; count, lengths...',
  BatchNormMovingUpdate: 'movingMean, movingVariance, batchMean, invStd; size; momentum, epsilon',
  SkipUnless: 'flag (i32); count (plans only: skips the next count ops when the flag is 0)',
};

/** Any typed array an op reads or writes. */
export type NativeBuffer = Float32Array | Float64Array | Int32Array | Uint32Array;

declare const planBrand: unique symbol;
/** A plan made by planCreate (an opaque native handle, freed by garbage collection). */
export interface NativePlanHandle {
  readonly [planBrand]: true;
}

export interface NativeAddon {
  /** 64-byte aligned native memory of `byteLength` bytes as an external ArrayBuffer (freed by GC). */
  alloc(byteLength: number): ArrayBuffer;
  /** OpenMP team size; clears the primitive cache. */
  setThreads(threads: number): void;
  getThreads(): number;
  /** e.g. "oneDNN 2.6.3 (OpenMP)". */
  version(): string;
  /** The instruction set oneDNN dispatches to on this CPU, e.g. "avx512_core_bf16", "avx2". */
  cpuIsa(): string;
  clearCache(): void;
  cacheSize(): number;

  /**
   * One line per cached convolution primitive: direction, oneDNN implementation and geometry, e.g.
   * "forward jit_wino_4x3:avx512_core N128 H13 W13 C32 -> O64 3x3 stride 1". For benchmarks and tests.
   */
  convImplementations(): string[];
  /** Bytes of the opaque workspace MaxPool writes for this geometry. */
  maxPoolWorkspaceBytes(geometry: Int32Array): number;

  /** Runs the ops of a program (ProgramWriter's layout) over the buffer table, in order. */
  run(program: Int32Array, floats: Float64Array, buffers: readonly (NativeBuffer | null)[]): void;
  /**
   * A plan over the buffer table: its first `inputCount` entries are placeholders (null), rebound
   * on every planRun; the others are fixed (native memory, kept alive by the caller).
   */
  planCreate(
    program: Int32Array,
    floats: Float64Array,
    buffers: readonly (NativeBuffer | null)[],
    inputCount: number,
  ): NativePlanHandle;
  /** Runs every op of a plan once, with this run's input buffers. */
  planRun(plan: NativePlanHandle, inputs: readonly NativeBuffer[]): void;
  /**
   * Per-op time of a plan: [code, seconds] for each op, accumulated over the runs since the first
   * planProfile call (which starts the clock). For profiles (bench/), not for normal runs.
   */
  planProfile(plan: NativePlanHandle): Float64Array;
}

/**
 * Writes ops in the layout native/src/plan.cc decodes: the program Int32Array is [opCount, then
 * per op: code, nBuffers, nInts, nFloats, buffer index x nBuffers, int x nInts]; the doubles of
 * every op follow one another. Buffers are indexed into `buffers` (-1: null), in the order ops
 * name them unless `bufferIndex` says otherwise.
 */
export class ProgramWriter {
  program = new Int32Array(256);
  floats = new Float64Array(16);
  readonly buffers: (NativeBuffer | null)[] = [];
  private used = 1;
  private floatsUsed = 0;

  reset(): this {
    this.program[0] = 0;
    this.used = 1;
    this.floatsUsed = 0;
    this.buffers.length = 0;
    return this;
  }

  /** Appends one op; `bufferIndex(b)` places buffer b in the table (default: appends it). */
  op(
    code: OpCode,
    buffers: readonly (NativeBuffer | null)[],
    ints: ArrayLike<number>,
    intCount: number,
    floats: ArrayLike<number>,
    bufferIndex?: (buffer: NativeBuffer, position: number) => number,
  ): void {
    this.reserve(4 + buffers.length + intCount, floats.length);
    const p = this.program;
    let at = this.used;
    p[at++] = code;
    p[at++] = buffers.length;
    p[at++] = intCount;
    p[at++] = floats.length;
    for (let b = 0; b < buffers.length; b++) {
      const buffer = buffers[b] as NativeBuffer | null;
      if (buffer === null) p[at++] = -1;
      else if (bufferIndex) p[at++] = bufferIndex(buffer, b);
      else {
        p[at++] = this.buffers.length;
        this.buffers.push(buffer);
      }
    }
    for (let i = 0; i < intCount; i++) p[at++] = ints[i] as number;
    this.used = at;
    for (let f = 0; f < floats.length; f++) this.floats[this.floatsUsed++] = floats[f] as number;
    p[0] = (p[0] as number) + 1;
  }

  private reserve(ints: number, floats: number): void {
    if (this.used + ints > this.program.length) {
      const grown = new Int32Array(Math.max(this.program.length * 2, this.used + ints));
      grown.set(this.program.subarray(0, this.used));
      this.program = grown;
    }
    if (this.floatsUsed + floats > this.floats.length) {
      const grown = new Float64Array(Math.max(this.floats.length * 2, this.floatsUsed + floats));
      grown.set(this.floats.subarray(0, this.floatsUsed));
      this.floats = grown;
    }
  }
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
  // NOTE: libgomp's spin before a waiting thread sleeps (GOMP_SPINCOUNT) is left to the user:
  // passive means none. A short spin keeps the team warm between a plan's back-to-back ops on an
  // idle machine (GOMP_SPINCOUNT=30000: mlp 82,900 -> 100,500 images/s, cnn 12,700 -> 14,600),
  // but on shared cores the spinning thread takes the core the main thread needs (load ~5: mlp
  // 13,000-45,000 images/s against 78,000-93,000 without), so the default stays passive.
  try {
    const require = createRequire(import.meta.url);
    return { addon: require(addonPath) as NativeAddon };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { addon: null, reason: `the native addon failed to load (${message}); ${installHint}` };
  }
}
