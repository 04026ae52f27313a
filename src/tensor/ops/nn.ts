// Neural-network primitives: matmul, convolution, pooling, softmax, fused softmax cross-entropy,
// gather, dropout, batch and layer normalisation. Each gradient sits beside its forward.
// Letters: N batch, H/W image, C input channels, O output channels, K classes. Activations NHWC,
// conv kernels HWIO, dense kernels [in, out].
import type {
  Conv2DAttrs,
  FloatStorage,
  FusedConv2DAttrs,
  MatMulAttrs,
  NormAttrs,
  Window2D,
} from '../../backend/kernels.js';
import { getBackend } from '../../backend/registry.js';
import { onReplay, type ReplayHook } from '../capture.js';
import { computePrecision } from '../precision.js';
import { allocate, kernels } from '../dispatch.js';
import { Tensor, fromKernel, isGradEnabled, shapeSize } from '../tensor.js';
import { cast } from './creation.js';
import type { RandomSource } from './creation.js';
import { add, broadcastShapes, broadcastTo, div, mul, sqrt, sub } from './elementwise.js';
import { floatData } from './float-data.js';
import { mean, normalizeAxes } from './reduce.js';
import { reshape, transpose } from './shape.js';

// ---- matmul ----

export interface MatMulOptions {
  /** Read a's last two axes swapped: a is (..., K, M). */
  transposeA?: boolean;
  /** Read b's last two axes swapped: b is (..., N, K). */
  transposeB?: boolean;
}

/**
 * (..., M, K) x (..., K, N) -> (..., M, N), numpy's matmul: the leading (batch) axes broadcast, so
 * attention's [B, H, T, d] x [B, H, S, d]^T is B*H products and a [B, T, K] activation times a
 * [K, N] weight is one [B*T, K] x [K, N] product. Both operands have rank >= 2.
 */
export function matmul(a: Tensor, b: Tensor, options: MatMulOptions = {}): Tensor {
  const transposeA = options.transposeA ?? false;
  const transposeB = options.transposeB ?? false;
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`matmul: expected tensors of rank 2 or more, found [${a.shape}] and [${b.shape}]`);
  }
  const [am, ak] = a.shape.slice(-2) as [number, number];
  const [bk, bn] = b.shape.slice(-2) as [number, number];
  const [m, k] = transposeA ? [ak, am] : [am, ak];
  const n = transposeB ? bk : bn;
  if ((transposeB ? bn : bk) !== k) {
    throw new Error(
      `matmul: inner dimensions differ: [${a.shape}]${transposeA ? 'ᵀ' : ''} x [${b.shape}]${transposeB ? 'ᵀ' : ''}`,
    );
  }
  if ((a.rank === 2 && b.rank === 2) || (a.rank === 3 && b.rank === 3 && a.shape[0] === b.shape[0])) {
    return product(a, b, {
      batch: a.rank === 3 ? (a.shape[0] as number) : 1,
      m,
      k,
      n,
      transposeA,
      transposeB,
    });
  }
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
  const outShape = [...batchShape, m, n];
  // A weight shared by the whole batch: the batch folds into a's rows, one larger product.
  if (b.rank === 2 && !transposeA) {
    const rows = reshape(a, [-1, ak]);
    return reshape(
      product(rows, b, { batch: 1, m: rows.shape[0] as number, k, n, transposeA, transposeB }),
      outShape,
    );
  }
  const batch = shapeSize(batchShape);
  const flat = (x: Tensor): Tensor =>
    reshape(broadcastTo(x, [...batchShape, ...x.shape.slice(-2)]), [batch, ...x.shape.slice(-2)]);
  return reshape(product(flat(a), flat(b), { batch, m, k, n, transposeA, transposeB }), outShape);
}

/**
 * One MatMul kernel call: a and b both rank 2 (batch 1) or both [batch, ., .], in the compute
 * precision (precision.ts; the backward products take theirs when they run).
 */
function product(a: Tensor, b: Tensor, sizes: MatMulAttrs): Tensor {
  const precision = computePrecision();
  const attrs: MatMulAttrs = precision === 'float32' ? sizes : { ...sizes, precision };
  const { transposeA, transposeB } = attrs;
  const storage = kernels().MatMul(floatData(a, 'matmul'), floatData(b, 'matmul'), attrs);
  const shape = a.rank === 3 ? [attrs.batch, attrs.m, attrs.n] : [attrs.m, attrs.n];
  return fromKernel(storage, shape, {
    op: 'matmul',
    inputs: [a, b],
    backward: (dy, needed) => {
      let da: Tensor | null = null;
      let db: Tensor | null = null;
      if (!transposeA && !transposeB) {
        if (needed[0]) da = matmul(dy, b, { transposeB: true });
        if (needed[1]) db = matmul(a, dy, { transposeA: true });
      } else if (!transposeA && transposeB) {
        if (needed[0]) da = matmul(dy, b);
        if (needed[1]) db = matmul(dy, a, { transposeA: true });
      } else if (transposeA && !transposeB) {
        if (needed[0]) da = matmul(b, dy, { transposeB: true });
        if (needed[1]) db = matmul(a, dy);
      } else {
        if (needed[0]) da = matmul(b, dy, { transposeA: true, transposeB: true });
        if (needed[1]) db = matmul(dy, a, { transposeA: true, transposeB: true });
      }
      return [da, db];
    },
  });
}

// ---- windows: convolution and pooling geometry ----

export type Padding = 'same' | 'valid' | readonly [top: number, bottom: number, left: number, right: number];

/** Window geometry over an NHWC input, with TF/Keras 'same' and 'valid' padding. */
export function window2d(
  xShape: readonly number[],
  kernelSize: readonly [number, number],
  strides: readonly [number, number],
  padding: Padding,
  dilations: readonly [number, number] = [1, 1],
): Window2D {
  if (xShape.length !== 4) throw new Error(`expected an NHWC input of rank 4, found [${xShape.join(', ')}]`);
  const [N, H, W, C] = xShape as [number, number, number, number];
  const [KH, KW] = kernelSize;
  const [strideH, strideW] = strides;
  const [dilationH, dilationW] = dilations;
  const spanH = dilationH * (KH - 1) + 1;
  const spanW = dilationW * (KW - 1) + 1;
  let padTop = 0;
  let padBottom = 0;
  let padLeft = 0;
  let padRight = 0;
  if (padding === 'same') {
    const totalH = Math.max((Math.ceil(H / strideH) - 1) * strideH + spanH - H, 0);
    const totalW = Math.max((Math.ceil(W / strideW) - 1) * strideW + spanW - W, 0);
    padTop = Math.floor(totalH / 2);
    padBottom = totalH - padTop;
    padLeft = Math.floor(totalW / 2);
    padRight = totalW - padLeft;
  } else if (padding !== 'valid') {
    [padTop, padBottom, padLeft, padRight] = padding;
  }
  const OH = Math.floor((H + padTop + padBottom - spanH) / strideH) + 1;
  const OW = Math.floor((W + padLeft + padRight - spanW) / strideW) + 1;
  if (OH <= 0 || OW <= 0) {
    throw new Error(
      `a ${KH}x${KW} window (dilation ${dilationH}x${dilationW}) does not fit a ${H}x${W} input with ${
        typeof padding === 'string' ? padding : 'explicit'
      } padding`,
    );
  }
  return {
    N,
    H,
    W,
    C,
    KH,
    KW,
    OH,
    OW,
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

// ---- convolution ----

export interface Conv2DOptions {
  strides?: number | readonly [number, number];
  padding?: Padding;
  dilations?: number | readonly [number, number];
  /** Fused into the convolution kernel (native: a oneDNN post-op); default 'linear'. */
  activation?: 'linear' | 'relu';
}

function pair(v: number | readonly [number, number] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** activation(x (N,H,W,C) * w (KH,KW,C,O) [+ bias (O)]) -> (N,OH,OW,O). */
export function conv2d(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null = null,
  options: Conv2DOptions = {},
): Tensor {
  if (w.rank !== 4) throw new Error(`conv2d: kernel must be HWIO of rank 4, found [${w.shape}]`);
  const [KH, KW, C, O] = w.shape as [number, number, number, number];
  if (x.shape[3] !== C) {
    throw new Error(`conv2d: input has ${x.shape[3]} channels, kernel [${w.shape}] expects ${C}`);
  }
  const activation = options.activation ?? 'linear';
  if (activation !== 'linear' && activation !== 'relu') {
    throw new Error(`conv2d: activation must be 'linear' or 'relu', found '${String(activation)}'`);
  }
  const geometry = window2d(
    x.shape,
    [KH, KW],
    pair(options.strides, 1),
    options.padding ?? 'valid',
    pair(options.dilations, 1),
  );
  const precision = computePrecision();
  const attrs: FusedConv2DAttrs = {
    ...geometry,
    O,
    activation,
    ...(precision === 'float32' ? {} : { precision }),
  };
  const xData = floatData(x, 'conv2d');
  const wData = floatData(w, 'conv2d');
  const bData = bias ? floatData(bias, 'conv2d') : null;
  const storage =
    activation === 'linear'
      ? kernels().Conv2D(xData, wData, bData, attrs)
      : kernels().FusedConv2D(xData, wData, bData, attrs);
  const inputs = bias ? [x, w, bias] : [x, w];
  const out: Tensor = fromKernel(storage, [attrs.N, attrs.OH, attrs.OW, O], {
    op: 'conv2d',
    inputs,
    backward: (dy, needed) => {
      // NOTE: ReLU's gradient from its output: y > 0 exactly where the pre-activation is > 0. A
      // gradient from maxPool2d may already carry that mask (see reluMaskedGradients).
      const g =
        activation === 'relu' && reluMaskedGradients.get(dy) !== out
          ? fromKernel(kernels().ReluGrad(floatData(dy, 'conv2d'), floatData(out, 'conv2d')), dy.shape)
          : dy;
      return conv2dBackward(g, x, w, bias !== null, needed, attrs);
    },
  });
  if (activation === 'relu') reluOutputs.add(out);
  return out;
}

/** [dx, dw, dbias?] from the gradient g of the pre-activation output; dbias comes with dw in one kernel. */
function conv2dBackward(
  g: Tensor,
  x: Tensor,
  w: Tensor,
  withBias: boolean,
  needed: readonly boolean[],
  attrs: Conv2DAttrs,
): (Tensor | null)[] {
  const gData = floatData(g, 'conv2d');
  const dx = needed[0]
    ? fromKernel(kernels().Conv2DBackpropInput(gData, floatData(w, 'conv2d'), attrs), x.shape)
    : null;
  if (!withBias) {
    return [
      dx,
      needed[1]
        ? fromKernel(kernels().Conv2DBackpropFilter(floatData(x, 'conv2d'), gData, attrs), w.shape)
        : null,
    ];
  }
  if (!needed[1] && !needed[2]) return [dx, null, null];
  if (!needed[1]) {
    // Only the bias trains (a frozen kernel with a trainable bias): dbias alone, a sum over N, OH, OW.
    const rows = attrs.N * attrs.OH * attrs.OW;
    return [dx, null, fromKernel(kernels().Sum(gData, { shape: [rows, attrs.O], axes: [0] }), [attrs.O])];
  }
  const { dw, dbias } = kernels().Conv2DBackpropFilterBias(floatData(x, 'conv2d'), gData, attrs);
  // Both are tracked so tidy() frees the one not needed along with the step.
  const dwTensor = fromKernel(dw, w.shape);
  const dbTensor = fromKernel(dbias, [attrs.O]);
  return [dx, needed[1] ? dwTensor : null, needed[2] ? dbTensor : null];
}

// ---- pooling ----

// NOTE: max pooling after a ReLU (the cnn recipe's Conv(relu) -> MaxPool) needs ReLU's gradient
// mask only where the pooling routes its gradient, and there the mask is the pooled output's:
// y[argmax] = pooled y. So maxPool2d over a fused conv2d+relu output applies ReluGrad at the pooled
// size (4x fewer elements for 2x2) and marks the gradient it returns; conv2d skips its own ReluGrad
// for a marked gradient. Exact: each routed value is multiplied by the same 0 or 1. A gradient
// summed from several consumers is not marked and gets the (idempotent) mask again.
/** Outputs of conv2d with a fused ReLU. */
const reluOutputs = new WeakSet<Tensor>();
/**
 * Gradients already multiplied by ReLU's mask (by maxPool2d), each with the output whose mask it
 * carries: only that conv2d skips its ReluGrad, whatever else the gradient tensor is passed to.
 */
const reluMaskedGradients = new WeakMap<Tensor, Tensor>();

export interface Pool2DOptions {
  poolSize?: number | readonly [number, number];
  /** Defaults to the pool size, as in Keras. */
  strides?: number | readonly [number, number];
  padding?: Padding;
}

function poolWindow(x: Tensor, options: Pool2DOptions): Window2D {
  const size = pair(options.poolSize, 2);
  return window2d(
    x.shape,
    size,
    options.strides === undefined ? size : pair(options.strides, 1),
    options.padding ?? 'valid',
  );
}

export function maxPool2d(x: Tensor, options: Pool2DOptions = {}): Tensor {
  const attrs = poolWindow(x, options);
  const { y, workspace } = kernels().MaxPool(floatData(x, 'maxPool2d'), attrs);
  fromKernel(workspace, [workspace.length]); // tracked, so tidy() frees it with the step
  const afterRelu = reluOutputs.has(x);
  const out: Tensor = fromKernel(y, [attrs.N, attrs.OH, attrs.OW, attrs.C], {
    op: 'maxPool2d',
    inputs: [x],
    backward: (dy) => {
      const g = afterRelu
        ? fromKernel(kernels().ReluGrad(floatData(dy, 'maxPool2d'), floatData(out, 'maxPool2d')), dy.shape)
        : dy;
      const dx = fromKernel(
        kernels().MaxPoolGrad(floatData(g, 'maxPool2d'), floatData(x, 'maxPool2d'), workspace, attrs),
        x.shape,
      );
      if (afterRelu) reluMaskedGradients.set(dx, x);
      return [dx];
    },
  });
  return out;
}

export function avgPool2d(x: Tensor, options: Pool2DOptions = {}): Tensor {
  const attrs = poolWindow(x, options);
  return fromKernel(
    kernels().AvgPool(floatData(x, 'avgPool2d'), attrs),
    [attrs.N, attrs.OH, attrs.OW, attrs.C],
    {
      op: 'avgPool2d',
      inputs: [x],
      backward: (dy) => [fromKernel(kernels().AvgPoolGrad(floatData(dy, 'avgPool2d'), attrs), x.shape)],
    },
  );
}

/** (N,H,W,C) -> (N,C): the mean over every position. */
export function globalAvgPool2d(x: Tensor): Tensor {
  return mean(x, [1, 2]);
}

// ---- softmax and cross-entropy ----

function lastAxis(x: Tensor): { outer: number; size: number } {
  const size = x.shape[x.rank - 1] ?? 1;
  return { outer: x.size / size, size };
}

/**
 * `f` (a last-axis op) applied along `axis`: the axis is swapped to the end and back. The kernels
 * work on rows of the last axis (attention's softmax is over it); another axis pays two transposes.
 */
function alongAxis(x: Tensor, axis: number, op: string, f: (x: Tensor) => Tensor): Tensor {
  if (x.rank === 0) return f(x);
  const [a] = normalizeAxes(axis, x.rank, op) as [number];
  if (a === x.rank - 1) return f(x);
  const swap = [...x.shape.keys()];
  [swap[a], swap[x.rank - 1]] = [x.rank - 1, a];
  return transpose(f(transpose(x, swap)), swap);
}

/** exp(x) / sum(exp(x)) along `axis` (default the last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return alongAxis(x, axis, 'softmax', (t) => {
    const attrs = lastAxis(t);
    const out: Tensor = fromKernel(kernels().Softmax(floatData(t, 'softmax'), attrs), t.shape, {
      op: 'softmax',
      inputs: [t],
      backward: (dy) => [
        fromKernel(
          kernels().SoftmaxGrad(floatData(dy, 'softmax'), floatData(out, 'softmax'), attrs),
          t.shape,
        ),
      ],
    });
    return out;
  });
}

/** log(softmax(x)) along `axis` (default the last), computed stably. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongAxis(x, axis, 'logSoftmax', (t) => {
    const attrs = lastAxis(t);
    const out: Tensor = fromKernel(kernels().LogSoftmax(floatData(t, 'logSoftmax'), attrs), t.shape, {
      op: 'logSoftmax',
      inputs: [t],
      backward: (dy) => [
        fromKernel(
          kernels().LogSoftmaxGrad(floatData(dy, 'logSoftmax'), floatData(out, 'logSoftmax'), attrs),
          t.shape,
        ),
      ],
    });
    return out;
  });
}

/**
 * Mean sparse categorical cross-entropy of logits (N,K) against int32 labels (N), with label
 * smoothing; one fused kernel forward and one backward.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, labelSmoothing = 0): Tensor {
  if (logits.rank !== 2)
    throw new Error(`softmaxCrossEntropy: logits must be (N, K), found [${logits.shape}]`);
  const [batch, classes] = logits.shape as [number, number];
  if (labels.dtype !== 'int32' || labels.size !== batch) {
    throw new Error(
      `softmaxCrossEntropy: labels must be ${batch} int32 class indices, found ${labels.dtype} [${labels.shape}]`,
    );
  }
  const attrs = { batch, classes, labelSmoothing };
  const { loss, probs } = kernels().SoftmaxCrossEntropy(
    floatData(logits, 'softmaxCrossEntropy'),
    labels.data as Int32Array,
    attrs,
  );
  const probsTensor = fromKernel(probs, logits.shape);
  return fromKernel(loss, [], {
    op: 'softmaxCrossEntropy',
    inputs: [logits],
    backward: (dy) => [
      fromKernel(
        kernels().SoftmaxCrossEntropyGrad(
          probsTensor.data as FloatStorage,
          labels.data as Int32Array,
          floatData(dy, 'softmaxCrossEntropy'),
          attrs,
        ),
        logits.shape,
      ),
    ],
  });
}

// ---- gather (embedding lookup) ----

/**
 * Rows of `table` [rows, width] picked by integer `indices` (any shape; int32, or floats holding
 * whole numbers) -> [...indices.shape, width]. The gradient flows to the table only: each picked
 * row's gradient is added into its row (GatherGrad).
 */
export function gather(table: Tensor, indices: Tensor): Tensor {
  if (table.rank !== 2) throw new Error(`gather: table must be [rows, width], found [${table.shape}]`);
  const [rows, width] = table.shape as [number, number];
  const ids = indices.dtype === 'int32' ? indices : cast(indices, 'int32');
  if (indices.dtype !== 'int32') {
    const data = indices.data;
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== (ids.data[i] as number)) {
        throw new Error(`gather: index ${data[i]} at position ${i} is not a whole number`);
      }
    }
  }
  const attrs = { rows, width };
  const storage = kernels().Gather(floatData(table, 'gather'), ids.data as Int32Array, attrs);
  return fromKernel(storage, [...indices.shape, width], {
    op: 'gather',
    inputs: [table],
    backward: (dy) => [
      fromKernel(kernels().GatherGrad(floatData(dy, 'gather'), ids.data as Int32Array, attrs), table.shape),
    ],
  });
}

// ---- dropout ----

/** A random source whose xoshiro128** state a kernel can draw from (src/util/random.ts's Random). */
interface WordStateRandom extends RandomSource {
  saveWords(out: Uint32Array): void;
  loadWords(words: Uint32Array): void;
}

function hasWordState(random: RandomSource): random is WordStateRandom {
  const r = random as Partial<WordStateRandom>;
  return typeof r.saveWords === 'function' && typeof r.loadWords === 'function';
}

/**
 * Each generator's words as the Dropout kernel reads and advances them: backend storage that
 * outlives the step, so a replayed step draws from it in place (capture.ts).
 */
const dropoutStates = new WeakMap<WordStateRandom, Uint32Array>();

function dropoutStateOf(random: WordStateRandom): Uint32Array {
  let state = dropoutStates.get(random);
  if (!state) {
    const words = getBackend().alloc('int32', 4);
    state = new Uint32Array(words.buffer, words.byteOffset, 4);
    dropoutStates.set(random, state);
  }
  return state;
}

/**
 * A replayed step draws from `state` directly: the generator's words go in before the step's
 * kernels and come back after them. (A function of its own so the hook holds only these two.)
 */
function dropoutHook(random: WordStateRandom, state: Uint32Array): ReplayHook {
  return {
    writes: [state],
    before: () => random.saveWords(state),
    after: () => random.loadWords(state),
  };
}

/**
 * Zeroes each element with probability `rate` and scales the rest by 1/(1-rate) (inverted dropout).
 * With a Random the mask comes from the Dropout kernel, drawing the same stream nextFloat() would;
 * any other source draws in TypeScript.
 */
export function dropout(x: Tensor, rate: number, random: RandomSource): Tensor {
  if (rate < 0 || rate >= 1) throw new Error(`dropout: rate must be in [0, 1), found ${rate}`);
  if (rate === 0) return x;
  if (!hasWordState(random)) {
    const keep = 1 - rate;
    const maskStorage = allocate(x.dtype === 'float64' ? 'float64' : 'float32', x.size);
    for (let i = 0; i < maskStorage.length; i++) maskStorage[i] = random.nextFloat() < keep ? 1 / keep : 0;
    return mul(x, fromKernel(maskStorage, x.shape));
  }
  const state = dropoutStateOf(random);
  onReplay(state, dropoutHook(random, state));
  random.saveWords(state);
  const { y, mask } = kernels().Dropout(floatData(x, 'dropout'), state, { rate });
  random.loadWords(state);
  const maskTensor = fromKernel(mask, x.shape); // tracked, so tidy() frees it with the step
  return fromKernel(y, x.shape, {
    op: 'dropout',
    inputs: [x],
    backward: (dy) => [mul(dy, maskTensor)],
  });
}

// ---- normalisation ----

export interface BatchNormOptions {
  /** Training: normalise with batch statistics and update the moving ones. */
  training: boolean;
  movingMean: Tensor;
  movingVariance: Tensor;
  /** Keras semantics: moving = moving * momentum + batch * (1 - momentum). */
  momentum?: number;
  epsilon?: number;
}

/** Batch norm over the last axis (channels of NHWC, features of (N, F)). */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, options: BatchNormOptions): Tensor {
  const size = x.shape[x.rank - 1] as number;
  const attrs: NormAttrs = { outer: x.size / size, size, epsilon: options.epsilon ?? 1e-3 };
  if (!options.training) {
    const needsGrad = isGradEnabled() && (x.requiresGrad || gamma.requiresGrad || beta.requiresGrad);
    if (!needsGrad) {
      const y = kernels().BatchNormInference(
        floatData(x, 'batchNorm'),
        floatData(gamma, 'batchNorm'),
        floatData(beta, 'batchNorm'),
        floatData(options.movingMean, 'batchNorm'),
        floatData(options.movingVariance, 'batchNorm'),
        attrs,
      );
      return fromKernel(y, x.shape);
    }
    // Inference statistics with gradients (a frozen batch norm inside a fine-tuned model):
    // y = (x - mean) * gamma / sqrt(var + eps) + beta, composed so autograd differentiates it.
    const scale = div(gamma, sqrt(add(options.movingVariance, attrs.epsilon)));
    return add(mul(sub(x, options.movingMean), scale), beta);
  }
  const {
    y,
    mean: batchMean,
    invStd,
  } = kernels().BatchNorm(
    floatData(x, 'batchNorm'),
    floatData(gamma, 'batchNorm'),
    floatData(beta, 'batchNorm'),
    attrs,
  );
  fromKernel(batchMean, [size]); // tracked, so tidy() frees them with the step
  fromKernel(invStd, [size]);
  // The moving statistics are state, not parameters: updated in place, outside autograd.
  kernels().BatchNormMovingUpdate(
    floatData(options.movingMean, 'batchNorm'),
    floatData(options.movingVariance, 'batchNorm'),
    batchMean,
    invStd,
    { size, momentum: options.momentum ?? 0.99, epsilon: attrs.epsilon },
  );
  return fromKernel(y, x.shape, {
    op: 'batchNorm',
    inputs: [x, gamma, beta],
    backward: (dy) => {
      const g = kernels().BatchNormGrad(
        floatData(dy, 'batchNorm'),
        floatData(x, 'batchNorm'),
        floatData(gamma, 'batchNorm'),
        batchMean,
        invStd,
        attrs,
      );
      return [fromKernel(g.dx, x.shape), fromKernel(g.dgamma, gamma.shape), fromKernel(g.dbeta, beta.shape)];
    },
  });
}

/** Layer norm over the last axis, affine per feature. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, epsilon = 1e-3): Tensor {
  const size = x.shape[x.rank - 1] as number;
  const attrs: NormAttrs = { outer: x.size / size, size, epsilon };
  const {
    y,
    mean: rowMean,
    invStd,
  } = kernels().LayerNorm(
    floatData(x, 'layerNorm'),
    floatData(gamma, 'layerNorm'),
    floatData(beta, 'layerNorm'),
    attrs,
  );
  fromKernel(rowMean, [attrs.outer]); // tracked, so tidy() frees them with the step
  fromKernel(invStd, [attrs.outer]);
  return fromKernel(y, x.shape, {
    op: 'layerNorm',
    inputs: [x, gamma, beta],
    backward: (dy) => {
      const g = kernels().LayerNormGrad(
        floatData(dy, 'layerNorm'),
        floatData(x, 'layerNorm'),
        floatData(gamma, 'layerNorm'),
        rowMean,
        invStd,
        attrs,
      );
      return [fromKernel(g.dx, x.shape), fromKernel(g.dgamma, gamma.shape), fromKernel(g.dbeta, beta.shape)];
    },
  });
}
