// The kernel contract: every kernel's name, inputs and attributes. Backends implement these and
// nothing else; the tensor layer (src/tensor) composes them into differentiable ops.
//
// Conventions, shared by every backend:
// - Storage is a plain typed array that JS can read and write. The js backend allocates it on the JS
//   heap; the native backend allocates it natively (64-byte aligned) and hands it to JS zero-copy.
// - Float kernels accept float32 (every backend) and float64 (js backend only; used by gradient
//   checks). Their outputs have the dtype of their first float input.
// - Kernels never write to their inputs, except the ones IN_PLACE lists (optimizer updates,
//   moving statistics, Dropout's random state).
// - Per-step values (a learning rate, a step count, a loss's upstream gradient) arrive in buffers,
//   never in attributes: attributes are fixed for a given model and shape, which is what lets a
//   recorded step replay (src/tensor/capture.ts).
// - Every output is freshly allocated through Backend.alloc and fully written (pooled memory is
//   not zeroed).
// - Layouts: activations NHWC, conv kernels HWIO [KH, KW, C, O], dense kernels [in, out], all
//   row-major. Letters: N batch, H/W image, C input channels, O output channels, K classes.

export type DType = 'float32' | 'float64' | 'int32';
export type FloatStorage = Float32Array | Float64Array;
export type Storage = Float32Array | Float64Array | Int32Array;
export type Shape = readonly number[];

/** Binary ops broadcast numpy-style; shapes are given so kernels need not re-derive them. */
export interface BroadcastAttrs {
  aShape: Shape;
  bShape: Shape;
  outShape: Shape;
}

/**
 * The arithmetic of convolutions and products. 'bfloat16': mixed precision, the operands rounded
 * to bfloat16 and multiplied with float32 accumulation, float32 in and out (only backends whose
 * `precisions` list it). Absent means 'float32'.
 */
export type Precision = 'float32' | 'bfloat16';

export interface MatMulAttrs {
  /** Independent products; a is [batch, m, k] (or [batch, k, m] transposed), b likewise [batch, k, n]. */
  batch: number;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
  precision?: Precision;
}

/**
 * Geometry of a 2-D convolution or pooling window over an NHWC input.
 * out = floor((in + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride) + 1
 */
export interface Window2D {
  N: number;
  H: number;
  W: number;
  C: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  dilationH: number;
  dilationW: number;
}

/** Convolution: window plus the output channel count O. x (N,H,W,C), w (KH,KW,C,O), y (N,OH,OW,O). */
export interface Conv2DAttrs extends Window2D {
  O: number;
  precision?: Precision;
}

/** Activations a fused kernel applies to its output (native: a oneDNN post-op). */
export type FusedActivation = 'linear' | 'relu';

/** Conv2D followed by an activation in the same kernel. */
export interface FusedConv2DAttrs extends Conv2DAttrs {
  activation: FusedActivation;
}

/** Normalisation over the last axis of a [outer, size] view (layer norm) or per channel (batch norm). */
export interface NormAttrs {
  /** Rows: N*H*W for batch norm over NHWC, N*... for layer norm. */
  outer: number;
  /** Channels for batch norm; normalised feature count for layer norm. */
  size: number;
  epsilon: number;
}

/**
 * Adam's fixed hyperparameters; the learning rate and the 1-based step count (bias correction)
 * come per step in the schedule buffer, float64 [lr, step].
 */
export interface AdamAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** true: AdamW (decay applied to the weights directly); false: L2 added to the gradient. */
  decoupledWeightDecay: boolean;
}

/** SGD's fixed hyperparameters; the learning rate comes per step in the schedule buffer, float64 [lr]. */
export interface SgdAttrs {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

type F = FloatStorage;

/**
 * The kernel table. A backend provides every entry (the js backend is complete by definition and
 * is the reference); a missing entry fails with a message naming the kernel and the backend.
 */
export interface Kernels {
  // ---- elementwise unary: y[i] = f(x[i]) ----
  Neg(x: F): F;
  Exp(x: F): F;
  Log(x: F): F;
  Sqrt(x: F): F;
  Abs(x: F): F;
  Relu(x: F): F;
  LeakyRelu(x: F, attrs: { alpha: number }): F;
  Sigmoid(x: F): F;
  Tanh(x: F): F;
  /** Exact GELU: x * Phi(x), Phi the standard normal CDF (erf form). */
  Gelu(x: F): F;
  /** GELU, tanh approximation: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
  GeluTanh(x: F): F;

  // ---- unary gradients: dx[i] = dy[i] * f'(.) ----
  ReluGrad(dy: F, x: F): F;
  LeakyReluGrad(dy: F, x: F, attrs: { alpha: number }): F;
  /** Takes the forward output y = sigmoid(x): dx = dy * y * (1 - y). */
  SigmoidGrad(dy: F, y: F): F;
  /** Takes the forward output y = tanh(x): dx = dy * (1 - y^2). */
  TanhGrad(dy: F, y: F): F;
  GeluGrad(dy: F, x: F): F;
  GeluTanhGrad(dy: F, x: F): F;

  // ---- binary, broadcasting ----
  Add(a: F, b: F, attrs: BroadcastAttrs): F;
  Sub(a: F, b: F, attrs: BroadcastAttrs): F;
  Mul(a: F, b: F, attrs: BroadcastAttrs): F;
  Div(a: F, b: F, attrs: BroadcastAttrs): F;
  Pow(a: F, b: F, attrs: BroadcastAttrs): F;
  Maximum(a: F, b: F, attrs: BroadcastAttrs): F;
  Minimum(a: F, b: F, attrs: BroadcastAttrs): F;
  /** 1 where a == b, else 0 (float). */
  Equal(a: F, b: F, attrs: BroadcastAttrs): F;
  /** 1 where a > b, else 0 (float). */
  Greater(a: F, b: F, attrs: BroadcastAttrs): F;

  // ---- reductions: out has x's shape with `axes` removed (axes sorted, unique, non-empty) ----
  Sum(x: F, attrs: { shape: Shape; axes: readonly number[] }): F;
  Max(x: F, attrs: { shape: Shape; axes: readonly number[] }): F;
  /** Index of the largest value along `axis` (first one on ties); out has `axis` removed. */
  ArgMax(x: F, attrs: { shape: Shape; axis: number }): Int32Array;

  // ---- layout ----
  Transpose(x: Storage, attrs: { shape: Shape; perm: readonly number[] }): Storage;
  /** Concatenates along `axis`; all shapes agree elsewhere. */
  Concat(xs: readonly Storage[], attrs: { shapes: readonly Shape[]; axis: number }): Storage;
  Slice(x: Storage, attrs: { shape: Shape; begin: readonly number[]; size: readonly number[] }): Storage;
  /** paddings[d] = [before, after] for each dimension d; new cells hold `value`. */
  Pad(x: F, attrs: { shape: Shape; paddings: readonly (readonly [number, number])[]; value: number }): F;

  // ---- gather (embedding lookup), rows of a [rows, width] table ----
  /** out (n, width): row i is table[indices[i]]; every index is in [0, rows) (n = indices.length). */
  Gather(table: F, indices: Int32Array, attrs: { rows: number; width: number }): F;
  /** Gather's gradient: dtable (rows, width) = sum over i of dy[i] added into row indices[i]. */
  GatherGrad(dy: F, indices: Int32Array, attrs: { rows: number; width: number }): F;

  // ---- linear algebra ----
  MatMul(a: F, b: F, attrs: MatMulAttrs): F;

  // ---- convolution, NHWC activations, HWIO kernel; bias (O) optional ----
  Conv2D(x: F, w: F, bias: F | null, attrs: Conv2DAttrs): F;
  /** dx (N,H,W,C) from dy (N,OH,OW,O) and w. */
  Conv2DBackpropInput(dy: F, w: F, attrs: Conv2DAttrs): F;
  /** dw (KH,KW,C,O) from x and dy. */
  Conv2DBackpropFilter(x: F, dy: F, attrs: Conv2DAttrs): F;
  /** activation(Conv2D(x, w, bias)); with 'linear' it is Conv2D. */
  FusedConv2D(x: F, w: F, bias: F | null, attrs: FusedConv2DAttrs): F;
  /** Conv2DBackpropFilter plus the bias gradient dbias (O) = sum of dy over N, OH, OW, in one call. */
  Conv2DBackpropFilterBias(x: F, dy: F, attrs: Conv2DAttrs): { dw: F; dbias: F };

  // ---- pooling, NHWC; windows never include padding in averages ----
  /** Returns y (N,OH,OW,C) and an opaque workspace that MaxPoolGrad takes back. */
  MaxPool(x: F, attrs: Window2D): { y: F; workspace: Storage };
  MaxPoolGrad(dy: F, x: F, workspace: Storage, attrs: Window2D): F;
  AvgPool(x: F, attrs: Window2D): F;
  AvgPoolGrad(dy: F, attrs: Window2D): F;

  // ---- softmax over the last axis of an [outer, size] view ----
  Softmax(x: F, attrs: { outer: number; size: number }): F;
  LogSoftmax(x: F, attrs: { outer: number; size: number }): F;
  /** y = softmax output: dx = y * (dy - sum(dy * y)). */
  SoftmaxGrad(dy: F, y: F, attrs: { outer: number; size: number }): F;
  /** y = log-softmax output: dx = dy - exp(y) * sum(dy). */
  LogSoftmaxGrad(dy: F, y: F, attrs: { outer: number; size: number }): F;

  /**
   * Fused softmax + sparse cross-entropy, mean over the batch. logits (N,K), labels (N) int32.
   * Targets are smoothed: (1 - s) * onehot + s / K. Returns loss (1 element) and probabilities (N,K).
   */
  SoftmaxCrossEntropy(
    logits: F,
    labels: Int32Array,
    attrs: { batch: number; classes: number; labelSmoothing: number },
  ): { loss: F; probs: F };
  /** dlogits = (probs - smoothedTargets) * dloss[0] / N; dloss (1) is the loss's upstream gradient. */
  SoftmaxCrossEntropyGrad(
    probs: F,
    labels: Int32Array,
    dloss: F,
    attrs: { batch: number; classes: number; labelSmoothing: number },
  ): F;

  // ---- normalisation over an [outer, size] view ----
  /** Batch norm, training: statistics per column (channel). Returns y, the batch mean and 1/sqrt(var+eps) (biased var). */
  BatchNorm(x: F, gamma: F, beta: F, attrs: NormAttrs): { y: F; mean: F; invStd: F };
  BatchNormGrad(dy: F, x: F, gamma: F, mean: F, invStd: F, attrs: NormAttrs): { dx: F; dgamma: F; dbeta: F };
  /** Batch norm, inference: y = gamma * (x - mean) / sqrt(variance + eps) + beta. */
  BatchNormInference(x: F, gamma: F, beta: F, mean: F, variance: F, attrs: NormAttrs): F;
  /**
   * Keras moving statistics, in place on movingMean and movingVariance (size), from a training
   * batch's mean and invStd: moving = moving * momentum + batch * (1 - momentum), with the batch
   * variance max(1 / invStd^2 - epsilon, 0); computed in float64, stored in the storage's dtype.
   */
  BatchNormMovingUpdate(
    movingMean: F,
    movingVariance: F,
    batchMean: F,
    invStd: F,
    attrs: { size: number; momentum: number; epsilon: number },
  ): void;
  /** Layer norm: statistics per row over `size` features, affine per feature. */
  LayerNorm(x: F, gamma: F, beta: F, attrs: NormAttrs): { y: F; mean: F; invStd: F };
  LayerNormGrad(dy: F, x: F, gamma: F, mean: F, invStd: F, attrs: NormAttrs): { dx: F; dgamma: F; dbeta: F };

  // ---- dropout ----
  /**
   * Inverted dropout with the mask drawn from an xoshiro128** stream (src/util/random.ts):
   * u_i = next() / 2^32 for i = 0..x.length-1 in order, mask[i] = u_i < 1 - rate ? 1 / (1 - rate) : 0
   * (rounded to x's dtype), y = x * mask. `state` holds the generator's four 32-bit words and is
   * advanced in place by x.length draws (the one input a non-optimizer kernel writes), so the
   * stream continues exactly as if Random.nextFloat() had drawn them.
   */
  Dropout(x: F, state: Uint32Array, attrs: { rate: number }): { y: F; mask: F };

  // ---- the finite check that guards a step's update ----
  /** (1) int32: 1 when every value of every buffer is finite, else 0. */
  AllFinite(xs: readonly F[]): Int32Array;

  // ---- optimizer updates, in place over every parameter in one call ----
  AdamUpdate(
    params: readonly F[],
    grads: readonly F[],
    m: readonly F[],
    v: readonly F[],
    schedule: Float64Array,
    attrs: AdamAttrs,
  ): void;
  SgdUpdate(
    params: readonly F[],
    grads: readonly F[],
    velocity: readonly F[],
    schedule: Float64Array,
    attrs: SgdAttrs,
  ): void;
}

/**
 * The arguments each kernel writes in place (by position; a list argument counts as one). Every
 * other argument is read only.
 */
export const IN_PLACE: Readonly<Partial<Record<keyof Kernels, readonly number[]>>> = {
  AdamUpdate: [0, 2, 3],
  SgdUpdate: [0, 2],
  BatchNormMovingUpdate: [0, 1],
  Dropout: [1],
};

export type KernelName = keyof Kernels;

// ---- step lowering: running a recorded step in the backend's own terms (src/tensor/capture.ts) ----

/** Storage as a kernel sees it, plus Dropout's state words. */
export type KernelBuffer = Storage | Uint32Array;

/** One operation a backend ran for a kernel call, with the buffers it touched (in its own order). */
export interface LoweredOp {
  readonly buffers: readonly (KernelBuffer | null)[];
}

/** Where a compiled step finds a buffer a lowered op names. */
export type PlanBinding =
  /** The k-th input of each run (the batch, the labels): rebound on every run. */
  | { readonly kind: 'input'; readonly index: number }
  /** A buffer that outlives the step (a weight, an optimizer slot, a constant): its own storage. */
  | { readonly kind: 'fixed'; readonly buffer: KernelBuffer }
  /** One of the step's temporary buffers (LoweredStep.temps), shared by values whose lifetimes do not overlap. */
  | { readonly kind: 'temp'; readonly index: number };

/** A recorded step, lowered: the ops in order and where each of their buffers lives. */
export interface LoweredStep {
  readonly ops: readonly LoweredOp[];
  /** bindings[i][k]: the binding of buffer k of op i (null where the op was given none). */
  readonly bindings: readonly (readonly (PlanBinding | null)[])[];
  /** Before op `op`: skip the next `count` ops unless the int32 at `flag` is non-zero. */
  readonly guards: readonly { readonly op: number; readonly flag: PlanBinding; readonly count: number }[];
  /** The step's temporary buffers, allocated by the backend (from its pool) when the step is compiled. */
  readonly temps: readonly { readonly dtype: DType; readonly length: number }[];
  readonly inputCount: number;
}

/** A lowered step made runnable: one call per step. */
export interface CompiledStep {
  /** Runs every op; `inputs` are this run's input buffers, in the order of their indices. */
  run(inputs: readonly KernelBuffer[]): void;
  /** The storage a temp or fixed binding names (outputs are read through it after a run). */
  storage(binding: PlanBinding): KernelBuffer;
  /** Seconds per op over the runs since the first call (which starts timing): for profiles. */
  profile?(): readonly { op: string; seconds: number }[];
}

/**
 * A backend's support for running recorded steps natively: while a log is open, every kernel call
 * appends the ops it runs (in order, with their buffers) to it; `compile` turns a lowered step made
 * of those ops into one call.
 */
export interface StepLowering {
  openLog(): readonly LoweredOp[];
  closeLog(): void;
  compile(step: LoweredStep): CompiledStep;
}

/** A compute backend: storage allocation plus the kernel table. */
export interface Backend {
  readonly name: string;
  /** Threads the backend computes with. */
  readonly threads: number;
  /** Uninitialised storage of `size` elements (may come from a pool). */
  alloc(dtype: 'float32', size: number): Float32Array;
  alloc(dtype: 'float64', size: number): Float64Array;
  alloc(dtype: 'int32', size: number): Int32Array;
  alloc(dtype: DType, size: number): Storage;
  /** Returns storage to the pool; the caller guarantees nothing references it any more. */
  release(storage: Storage): void;
  readonly kernels: Kernels;
  /** The precisions its convolutions and products compute in; absent: float32 only. */
  readonly precisions?: readonly Precision[];
  /** Native replay of recorded steps; without it a recorded step replays as a loop over `kernels`. */
  readonly lowering?: StepLowering;
  /** Drops storage kept for reuse (after a step is compiled its eager buffers are not needed). */
  trim?(): void;
}

export function dtypeOf(storage: Storage): DType {
  if (storage instanceof Float32Array) return 'float32';
  if (storage instanceof Float64Array) return 'float64';
  return 'int32';
}
