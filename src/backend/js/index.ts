// The js backend: every kernel of the contract (src/backend/kernels.ts) in plain TypeScript. It is
// the reference the conformance suite checks other backends against, and the portable fallback
// (no Node-only imports: it runs in a browser bundle). Single-threaded.
//
// Each kernel is written against an Allocator passed as its first argument; bindJsKernels binds
// them all to one allocator (the threaded js backend binds them to shared memory this way), and
// createJsBackend binds them to a pooled JS-heap allocator.
import type { Backend, Kernels } from '../kernels.js';
import { DEFAULT_POOL_BYTES, StoragePool, type Allocator } from './alloc.js';
import { adamUpdate } from './adam-update.js';
import { allFinite } from './all-finite.js';
import { argMax } from './arg-max.js';
import { avgPool } from './avg-pool.js';
import { avgPoolGrad } from './avg-pool-grad.js';
import { batchNorm } from './batch-norm.js';
import { batchNormGrad } from './batch-norm-grad.js';
import { batchNormInference } from './batch-norm-inference.js';
import { batchNormMovingUpdate } from './batch-norm-moving-update.js';
import { add, div, equal, greater, maximum, minimum, mul, pow, sub } from './binary.js';
import { concat } from './concat.js';
import { conv2d } from './conv2d.js';
import { conv2dBackpropFilter } from './conv2d-backprop-filter.js';
import { conv2dBackpropInput } from './conv2d-backprop-input.js';
import { dropout } from './dropout.js';
import { gather } from './gather.js';
import { gatherGrad } from './gather-grad.js';
import { fusedConvKernels } from './fused-conv2d.js';
import { layerNorm } from './layer-norm.js';
import { layerNormGrad } from './layer-norm-grad.js';
import { logSoftmax } from './log-softmax.js';
import { logSoftmaxGrad } from './log-softmax-grad.js';
import { matMul } from './mat-mul.js';
import { max } from './max.js';
import { maxPool } from './max-pool.js';
import { maxPoolGrad } from './max-pool-grad.js';
import { pad } from './pad.js';
import { sgdUpdate } from './sgd-update.js';
import { slice } from './slice.js';
import { softmax } from './softmax.js';
import { softmaxCrossEntropy } from './softmax-cross-entropy.js';
import { softmaxCrossEntropyGrad } from './softmax-cross-entropy-grad.js';
import { softmaxGrad } from './softmax-grad.js';
import { sum } from './sum.js';
import { transpose } from './transpose.js';
import { abs, exp, gelu, geluTanh, leakyRelu, log, neg, relu, sigmoid, sqrt, tanh } from './unary.js';
import { geluGrad, geluTanhGrad, leakyReluGrad, reluGrad, sigmoidGrad, tanhGrad } from './unary-grad.js';

export type { Allocator } from './alloc.js';
export { StoragePool, heapAlloc } from './alloc.js';

/** The registration table: every kernel of the contract bound to `alloc`. */
export function bindJsKernels(alloc: Allocator): Kernels {
  const table: Omit<Kernels, 'FusedConv2D' | 'Conv2DBackpropFilterBias'> = {
    Neg: (x) => neg(alloc, x),
    Exp: (x) => exp(alloc, x),
    Log: (x) => log(alloc, x),
    Sqrt: (x) => sqrt(alloc, x),
    Abs: (x) => abs(alloc, x),
    Relu: (x) => relu(alloc, x),
    LeakyRelu: (x, attrs) => leakyRelu(alloc, x, attrs),
    Sigmoid: (x) => sigmoid(alloc, x),
    Tanh: (x) => tanh(alloc, x),
    Gelu: (x) => gelu(alloc, x),
    GeluTanh: (x) => geluTanh(alloc, x),

    ReluGrad: (dy, x) => reluGrad(alloc, dy, x),
    LeakyReluGrad: (dy, x, attrs) => leakyReluGrad(alloc, dy, x, attrs),
    SigmoidGrad: (dy, y) => sigmoidGrad(alloc, dy, y),
    TanhGrad: (dy, y) => tanhGrad(alloc, dy, y),
    GeluGrad: (dy, x) => geluGrad(alloc, dy, x),
    GeluTanhGrad: (dy, x) => geluTanhGrad(alloc, dy, x),

    Add: (a, b, attrs) => add(alloc, a, b, attrs),
    Sub: (a, b, attrs) => sub(alloc, a, b, attrs),
    Mul: (a, b, attrs) => mul(alloc, a, b, attrs),
    Div: (a, b, attrs) => div(alloc, a, b, attrs),
    Pow: (a, b, attrs) => pow(alloc, a, b, attrs),
    Maximum: (a, b, attrs) => maximum(alloc, a, b, attrs),
    Minimum: (a, b, attrs) => minimum(alloc, a, b, attrs),
    Equal: (a, b, attrs) => equal(alloc, a, b, attrs),
    Greater: (a, b, attrs) => greater(alloc, a, b, attrs),

    Sum: (x, attrs) => sum(alloc, x, attrs),
    Max: (x, attrs) => max(alloc, x, attrs),
    ArgMax: (x, attrs) => argMax(alloc, x, attrs),

    Transpose: (x, attrs) => transpose(alloc, x, attrs),
    Concat: (xs, attrs) => concat(alloc, xs, attrs),
    Slice: (x, attrs) => slice(alloc, x, attrs),
    Pad: (x, attrs) => pad(alloc, x, attrs),

    Gather: (table, indices, attrs) => gather(alloc, table, indices, attrs),
    GatherGrad: (dy, indices, attrs) => gatherGrad(alloc, dy, indices, attrs),

    MatMul: (a, b, attrs) => matMul(alloc, a, b, attrs),

    Conv2D: (x, w, bias, attrs) => conv2d(alloc, x, w, bias, attrs),
    Conv2DBackpropInput: (dy, w, attrs) => conv2dBackpropInput(alloc, dy, w, attrs),
    Conv2DBackpropFilter: (x, dy, attrs) => conv2dBackpropFilter(alloc, x, dy, attrs),
    MaxPool: (x, attrs) => maxPool(alloc, x, attrs),
    MaxPoolGrad: (dy, x, workspace, attrs) => maxPoolGrad(alloc, dy, x, workspace, attrs),
    AvgPool: (x, attrs) => avgPool(alloc, x, attrs),
    AvgPoolGrad: (dy, attrs) => avgPoolGrad(alloc, dy, attrs),

    Softmax: (x, attrs) => softmax(alloc, x, attrs),
    LogSoftmax: (x, attrs) => logSoftmax(alloc, x, attrs),
    SoftmaxGrad: (dy, y, attrs) => softmaxGrad(alloc, dy, y, attrs),
    LogSoftmaxGrad: (dy, y, attrs) => logSoftmaxGrad(alloc, dy, y, attrs),
    SoftmaxCrossEntropy: (logits, labels, attrs) => softmaxCrossEntropy(alloc, logits, labels, attrs),
    SoftmaxCrossEntropyGrad: (probs, labels, dloss, attrs) =>
      softmaxCrossEntropyGrad(alloc, probs, labels, dloss, attrs),

    BatchNorm: (x, gamma, beta, attrs) => batchNorm(alloc, x, gamma, beta, attrs),
    BatchNormGrad: (dy, x, gamma, mean, invStd, attrs) =>
      batchNormGrad(alloc, dy, x, gamma, mean, invStd, attrs),
    BatchNormInference: (x, gamma, beta, mean, variance, attrs) =>
      batchNormInference(alloc, x, gamma, beta, mean, variance, attrs),
    BatchNormMovingUpdate: (movingMean, movingVariance, batchMean, invStd, attrs) =>
      batchNormMovingUpdate(alloc, movingMean, movingVariance, batchMean, invStd, attrs),
    LayerNorm: (x, gamma, beta, attrs) => layerNorm(alloc, x, gamma, beta, attrs),
    LayerNormGrad: (dy, x, gamma, mean, invStd, attrs) =>
      layerNormGrad(alloc, dy, x, gamma, mean, invStd, attrs),

    AllFinite: (xs) => allFinite(alloc, xs),
    AdamUpdate: (params, grads, m, v, schedule, attrs) =>
      adamUpdate(alloc, params, grads, m, v, schedule, attrs),
    SgdUpdate: (params, grads, velocity, schedule, attrs) =>
      sgdUpdate(alloc, params, grads, velocity, schedule, attrs),

    Dropout: (x, state, attrs) => dropout(alloc, x, state, attrs),
  };
  // FusedConv2D and Conv2DBackpropFilterBias compose this table's Conv2D, Conv2DBackpropFilter and Sum.
  return { ...table, ...fusedConvKernels(table) };
}

export interface JsBackendOptions {
  /** Bound on released storage kept for reuse, in bytes; default 256 MiB. */
  poolBytes?: number;
  /** Where fresh storage comes from (the pool reuses it); default the JS heap. The threaded js
   * backend (src/backend/js-threads) passes SharedArrayBuffer-backed allocation here. */
  allocate?: Allocator;
}

/** The js backend: name 'js', one thread, a pooled JS-heap allocator. */
export function createJsBackend(options: JsBackendOptions = {}): Backend {
  const pool = new StoragePool(options.poolBytes ?? DEFAULT_POOL_BYTES, options.allocate);
  return {
    name: 'js',
    threads: 1,
    alloc: pool.alloc,
    release: pool.release,
    kernels: bindJsKernels(pool.alloc),
  };
}
