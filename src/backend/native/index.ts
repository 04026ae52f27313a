// The native backend: storage allocated by the oneDNN addon (64-byte aligned, zero-copy
// ArrayBuffers) with a JS-side free list, and the kernel table, each kernel a thin call into the
// addon (src/backend/native/binding.ts). Node-only; Node's default table (src/backend/defaults/
// node.ts) creates it when the addon loads.
//
// NOTE: float64 storage can be allocated, but every kernel rejects float64 inputs: the native
// kernels are float32 (and int32 for layout kernels). Gradient checks in float64 use the js backend.
import { availableParallelism } from 'node:os';
import type {
  Backend,
  BroadcastAttrs,
  DType,
  FloatStorage,
  KernelName,
  Kernels,
  Shape,
  Storage,
  Conv2DAttrs,
  Window2D,
} from '../kernels.js';
import { bindJsKernels } from '../js/index.js';
import {
  BinaryOp,
  EltwiseOp,
  ReduceOp,
  loadAddon,
  type BinaryOpCode,
  type EltwiseOpCode,
  type NativeAddon,
} from './binding.js';

export interface NativeBackendOptions {
  /** OpenMP threads for oneDNN and the fused loops; default: the cores available to this process. */
  threads?: number;
}

/** Whether the addon loads here; when not, a reason that says how to get it. */
export function nativeBackendAvailable(): { available: boolean; reason?: string } {
  const load = loadAddon();
  return load.addon ? { available: true } : { available: false, reason: load.reason };
}

export function createNativeBackend(options: NativeBackendOptions = {}): Backend {
  const load = loadAddon();
  if (!load.addon) throw new Error(`native backend unavailable: ${load.reason}`);
  const addon = load.addon;
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`native backend: threads must be a positive integer, found ${threads}`);
  }
  // NOTE: the OpenMP team is process-wide: the most recently created native backend sets it.
  addon.setThreads(threads);
  const pool = new StoragePool(addon);
  return {
    name: 'native',
    threads: addon.getThreads(),
    alloc: pool.alloc,
    release: pool.release,
    kernels: nativeKernels(addon, pool),
  };
}

// ---- storage: native buffers, recycled through free lists keyed by dtype and length ----

class FreeList<T extends Storage> {
  private readonly lists = new Map<number, T[]>();
  constructor(private readonly make: (size: number) => T) {}

  take(size: number): T {
    return this.lists.get(size)?.pop() ?? this.make(size);
  }

  give(storage: T): void {
    const list = this.lists.get(storage.length);
    if (list) list.push(storage);
    else this.lists.set(storage.length, [storage]);
  }
}

class StoragePool {
  readonly float32: FreeList<Float32Array>;
  private readonly float64: FreeList<Float64Array>;
  readonly int32: FreeList<Int32Array>;

  constructor(addon: NativeAddon) {
    this.float32 = new FreeList((n) => new Float32Array(addon.alloc(n * 4), 0, n));
    this.float64 = new FreeList((n) => new Float64Array(addon.alloc(n * 8), 0, n));
    this.int32 = new FreeList((n) => new Int32Array(addon.alloc(n * 4), 0, n));
  }

  readonly alloc: Backend['alloc'] = ((dtype: DType, size: number): Storage => {
    if (!Number.isInteger(size) || size < 0)
      throw new Error(`alloc: size must be a non-negative integer, found ${size}`);
    if (dtype === 'float32') return this.float32.take(size);
    if (dtype === 'int32') return this.int32.take(size);
    if (dtype === 'float64') return this.float64.take(size);
    throw new Error(`alloc: unknown dtype '${String(dtype)}'`);
  }) as Backend['alloc'];

  readonly release = (storage: Storage): void => {
    if (storage instanceof Float32Array) this.float32.give(storage);
    else if (storage instanceof Int32Array) this.int32.give(storage);
    else this.float64.give(storage);
  };
}

// ---- argument packing (reused scratch: the addon reads them during the call only) ----

/**
 * The float32 view of a kernel input; with `length`, also checks it holds that many elements (the
 * addon trusts the attributes, so a short buffer would be read out of bounds).
 */
function f32(x: FloatStorage, kernel: KernelName, length = 0): Float32Array {
  if (x instanceof Float32Array) {
    if (x.length < length) {
      throw new Error(`native backend: ${kernel} expected an input of ${length} elements, found ${x.length}`);
    }
    return x;
  }
  throw new Error(
    `native backend: ${kernel} does not support float64 (found a Float64Array); run float64 on the js backend`,
  );
}

/** Layout kernels move float32 or int32. */
function words(x: Storage, kernel: KernelName, length = 0): Float32Array | Int32Array {
  if (x instanceof Float64Array) return f32(x, kernel);
  if (x.length < length) {
    throw new Error(`native backend: ${kernel} expected an input of ${length} elements, found ${x.length}`);
  }
  return x;
}

const geometry = new Int32Array(17);

function packWindow(a: Window2D, outChannels = 0): Int32Array {
  geometry[0] = a.N;
  geometry[1] = a.H;
  geometry[2] = a.W;
  geometry[3] = a.C;
  geometry[4] = a.KH;
  geometry[5] = a.KW;
  geometry[6] = a.OH;
  geometry[7] = a.OW;
  geometry[8] = a.strideH;
  geometry[9] = a.strideW;
  geometry[10] = a.padTop;
  geometry[11] = a.padBottom;
  geometry[12] = a.padLeft;
  geometry[13] = a.padRight;
  geometry[14] = a.dilationH;
  geometry[15] = a.dilationW;
  geometry[16] = outChannels;
  return geometry;
}

/** Sequential writer into one growable Int32Array. */
class Packer {
  private buffer = new Int32Array(256);
  private used = 0;

  start(): this {
    this.used = 0;
    return this;
  }
  push(value: number): this {
    if (this.used === this.buffer.length) {
      const grown = new Int32Array(this.buffer.length * 2);
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.buffer[this.used++] = value;
    return this;
  }
  list(values: readonly number[]): this {
    for (const v of values) this.push(v);
    return this;
  }
  /** rank, then the dims. */
  shape(shape: Shape): this {
    return this.push(shape.length).list(shape);
  }
  get packed(): Int32Array {
    return this.buffer;
  }
}

const packer = new Packer();

function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// ---- the kernel table ----

function nativeKernels(addon: NativeAddon, pool: StoragePool): Kernels {
  const float32 = (n: number) => pool.float32.take(n);

  /** Conv2D and FusedConv2D: one oneDNN convolution, + bias, with relu as a post-op when asked. */
  const convForward = (
    kernel: KernelName,
    x: FloatStorage,
    w: FloatStorage,
    bias: FloatStorage | null,
    attrs: Conv2DAttrs,
    relu: boolean,
  ): Float32Array => {
    const y = float32(attrs.N * attrs.OH * attrs.OW * attrs.O);
    addon.conv2d(
      f32(x, kernel, attrs.N * attrs.H * attrs.W * attrs.C),
      f32(w, kernel, attrs.KH * attrs.KW * attrs.C * attrs.O),
      bias ? f32(bias, kernel, attrs.O) : null,
      y,
      packWindow(attrs, attrs.O),
      relu,
    );
    return y;
  };

  /** Conv2DBackpropFilter(Bias): dw, and into `dbias` the bias gradient when one is given. */
  const convFilterGradient = (
    kernel: KernelName,
    x: FloatStorage,
    dy: FloatStorage,
    attrs: Conv2DAttrs,
    dbias: Float32Array | null,
  ): Float32Array => {
    const dw = float32(attrs.KH * attrs.KW * attrs.C * attrs.O);
    addon.conv2dBackpropFilter(
      f32(x, kernel, attrs.N * attrs.H * attrs.W * attrs.C),
      f32(dy, kernel, attrs.N * attrs.OH * attrs.OW * attrs.O),
      dw,
      packWindow(attrs, attrs.O),
      dbias,
    );
    return dw;
  };

  const unary =
    (op: EltwiseOpCode, kernel: KernelName) =>
    (x: FloatStorage): Float32Array => {
      const input = f32(x, kernel);
      const y = float32(input.length);
      addon.eltwise(op, input, y, 0);
      return y;
    };

  const unaryGrad =
    (op: EltwiseOpCode, kernel: KernelName) =>
    (dy: FloatStorage, data: FloatStorage, alpha = 0): Float32Array => {
      const g = f32(dy, kernel);
      const dx = float32(g.length);
      addon.eltwiseGrad(op, g, f32(data, kernel, g.length), dx, alpha);
      return dx;
    };

  const binary =
    (op: BinaryOpCode, kernel: KernelName) =>
    (a: FloatStorage, b: FloatStorage, attrs: BroadcastAttrs): Float32Array => {
      const out = float32(sizeOf(attrs.outShape));
      const shapes = packer.start().shape(attrs.aShape).shape(attrs.bShape).shape(attrs.outShape).packed;
      addon.binary(
        op,
        f32(a, kernel, sizeOf(attrs.aShape)),
        f32(b, kernel, sizeOf(attrs.bShape)),
        out,
        shapes,
      );
      return out;
    };

  const reduce =
    (op: typeof ReduceOp.Sum | typeof ReduceOp.Max, kernel: KernelName) =>
    (x: FloatStorage, attrs: { shape: Shape; axes: readonly number[] }): Float32Array => {
      let size = 1;
      attrs.shape.forEach((d, axis) => {
        if (!attrs.axes.includes(axis)) size *= d;
      });
      const out = float32(size);
      addon.reduce(op, f32(x, kernel), out, packer.start().shape(attrs.shape).shape(attrs.axes).packed);
      return out;
    };

  const like = (x: Float32Array | Int32Array, n: number): Float32Array | Int32Array =>
    x instanceof Int32Array ? pool.int32.take(n) : float32(n);

  const leakyGrad = unaryGrad(EltwiseOp.LeakyRelu, 'LeakyReluGrad');
  /** The js backend's kernels allocating from this pool, for kernels with no native form. */
  const portable = bindJsKernels(pool.alloc);

  return {
    Neg: unary(EltwiseOp.Neg, 'Neg'),
    Exp: unary(EltwiseOp.Exp, 'Exp'),
    Log: unary(EltwiseOp.Log, 'Log'),
    Sqrt: unary(EltwiseOp.Sqrt, 'Sqrt'),
    Abs: unary(EltwiseOp.Abs, 'Abs'),
    Relu: unary(EltwiseOp.Relu, 'Relu'),
    LeakyRelu(x, attrs) {
      const input = f32(x, 'LeakyRelu');
      const y = float32(input.length);
      addon.eltwise(EltwiseOp.LeakyRelu, input, y, attrs.alpha);
      return y;
    },
    Sigmoid: unary(EltwiseOp.Sigmoid, 'Sigmoid'),
    Tanh: unary(EltwiseOp.Tanh, 'Tanh'),
    Gelu: unary(EltwiseOp.Gelu, 'Gelu'),
    GeluTanh: unary(EltwiseOp.GeluTanh, 'GeluTanh'),

    ReluGrad: unaryGrad(EltwiseOp.Relu, 'ReluGrad'),
    LeakyReluGrad: (dy, x, attrs) => leakyGrad(dy, x, attrs.alpha),
    SigmoidGrad: unaryGrad(EltwiseOp.Sigmoid, 'SigmoidGrad'),
    TanhGrad: unaryGrad(EltwiseOp.Tanh, 'TanhGrad'),
    GeluGrad: unaryGrad(EltwiseOp.Gelu, 'GeluGrad'),
    GeluTanhGrad: unaryGrad(EltwiseOp.GeluTanh, 'GeluTanhGrad'),

    Add: binary(BinaryOp.Add, 'Add'),
    Sub: binary(BinaryOp.Sub, 'Sub'),
    Mul: binary(BinaryOp.Mul, 'Mul'),
    Div: binary(BinaryOp.Div, 'Div'),
    Pow: binary(BinaryOp.Pow, 'Pow'),
    Maximum: binary(BinaryOp.Maximum, 'Maximum'),
    Minimum: binary(BinaryOp.Minimum, 'Minimum'),
    Equal: binary(BinaryOp.Equal, 'Equal'),
    Greater: binary(BinaryOp.Greater, 'Greater'),

    Sum: reduce(ReduceOp.Sum, 'Sum'),
    Max: reduce(ReduceOp.Max, 'Max'),
    ArgMax(x, attrs) {
      const { shape, axis } = attrs;
      const outer = sizeOf(shape.slice(0, axis));
      const inner = sizeOf(shape.slice(axis + 1));
      const out = pool.int32.take(outer * inner);
      addon.argMax(f32(x, 'ArgMax', sizeOf(shape)), out, outer, shape[axis] ?? 1, inner);
      return out;
    },

    Transpose(x, attrs) {
      const input = words(x, 'Transpose', sizeOf(attrs.shape));
      const out = like(input, input.length);
      addon.transpose(input, out, packer.start().shape(attrs.shape).list(attrs.perm).packed);
      return out;
    },
    Concat(xs, attrs) {
      const first = xs[0];
      if (first === undefined) throw new Error('native backend: Concat needs at least one input');
      const inputs = xs.map((x, i) => words(x, 'Concat', sizeOf(attrs.shapes[i] ?? [])));
      const rank = attrs.shapes[0]?.length ?? 0;
      const p = packer.start().push(xs.length).push(rank);
      let total = 0;
      for (const shape of attrs.shapes) {
        p.list(shape);
        total += sizeOf(shape);
      }
      const out = like(words(first, 'Concat'), total);
      addon.concat(inputs, out, p.packed, attrs.axis);
      return out;
    },
    Slice(x, attrs) {
      const input = words(x, 'Slice', sizeOf(attrs.shape));
      const out = like(input, sizeOf(attrs.size));
      addon.slice(input, out, packer.start().shape(attrs.shape).list(attrs.begin).list(attrs.size).packed);
      return out;
    },
    Pad(x, attrs) {
      const p = packer.start().shape(attrs.shape);
      let size = 1;
      attrs.shape.forEach((d, i) => {
        const [before, after] = attrs.paddings[i] ?? [0, 0];
        size *= d + before + after;
      });
      for (const [before] of attrs.paddings) p.push(before);
      for (const [, after] of attrs.paddings) p.push(after);
      const out = float32(size);
      addon.pad(f32(x, 'Pad'), out, p.packed, attrs.value);
      return out;
    },

    // NOTE: the js kernels on native memory: a gather is one row copy per index (memcpy speed in JS
    // already), and no oneDNN primitive does the scatter-add of its gradient.
    Gather: (table, indices, attrs) => portable.Gather(f32(table, 'Gather'), indices, attrs),
    GatherGrad: (dy, indices, attrs) => portable.GatherGrad(f32(dy, 'GatherGrad'), indices, attrs),

    MatMul(a, b, attrs) {
      const out = float32(attrs.batch * attrs.m * attrs.n);
      addon.matmul(
        f32(a, 'MatMul', attrs.batch * attrs.m * attrs.k),
        f32(b, 'MatMul', attrs.batch * attrs.k * attrs.n),
        out,
        attrs.batch,
        attrs.m,
        attrs.k,
        attrs.n,
        attrs.transposeA,
        attrs.transposeB,
      );
      return out;
    },

    Conv2D: (x, w, bias, attrs) => convForward('Conv2D', x, w, bias, attrs, false),
    Conv2DBackpropInput(dy, w, attrs) {
      const dx = float32(attrs.N * attrs.H * attrs.W * attrs.C);
      addon.conv2dBackpropInput(
        f32(dy, 'Conv2DBackpropInput', attrs.N * attrs.OH * attrs.OW * attrs.O),
        f32(w, 'Conv2DBackpropInput', attrs.KH * attrs.KW * attrs.C * attrs.O),
        dx,
        packWindow(attrs, attrs.O),
      );
      return dx;
    },
    Conv2DBackpropFilter: (x, dy, attrs) => convFilterGradient('Conv2DBackpropFilter', x, dy, attrs, null),

    FusedConv2D(x, w, bias, attrs) {
      if (attrs.activation !== 'linear' && attrs.activation !== 'relu') {
        throw new Error(
          `native backend: FusedConv2D activation must be 'linear' or 'relu', found '${String(attrs.activation)}'`,
        );
      }
      return convForward('FusedConv2D', x, w, bias, attrs, attrs.activation === 'relu');
    },
    Conv2DBackpropFilterBias(x, dy, attrs) {
      const dbias = float32(attrs.O);
      return { dw: convFilterGradient('Conv2DBackpropFilterBias', x, dy, attrs, dbias), dbias };
    },

    MaxPool(x, attrs) {
      const input = f32(x, 'MaxPool', attrs.N * attrs.H * attrs.W * attrs.C);
      const g = packWindow(attrs);
      const workspace = pool.int32.take(Math.ceil(addon.maxPoolWorkspaceBytes(g) / 4));
      const y = float32(attrs.N * attrs.OH * attrs.OW * attrs.C);
      addon.maxPool(input, y, workspace, g);
      return { y, workspace };
    },
    MaxPoolGrad(dy, _x, workspace, attrs) {
      if (!(workspace instanceof Int32Array)) {
        throw new Error('native backend: MaxPoolGrad expects the workspace MaxPool returned (an Int32Array)');
      }
      const dx = float32(attrs.N * attrs.H * attrs.W * attrs.C);
      addon.maxPoolGrad(
        f32(dy, 'MaxPoolGrad', attrs.N * attrs.OH * attrs.OW * attrs.C),
        workspace,
        dx,
        packWindow(attrs),
      );
      return dx;
    },
    AvgPool(x, attrs) {
      const y = float32(attrs.N * attrs.OH * attrs.OW * attrs.C);
      addon.avgPool(f32(x, 'AvgPool', attrs.N * attrs.H * attrs.W * attrs.C), y, packWindow(attrs));
      return y;
    },
    AvgPoolGrad(dy, attrs) {
      const dx = float32(attrs.N * attrs.H * attrs.W * attrs.C);
      addon.avgPoolGrad(
        f32(dy, 'AvgPoolGrad', attrs.N * attrs.OH * attrs.OW * attrs.C),
        dx,
        packWindow(attrs),
      );
      return dx;
    },

    Softmax(x, attrs) {
      const y = float32(attrs.outer * attrs.size);
      addon.softmax(f32(x, 'Softmax', attrs.outer * attrs.size), y, attrs.outer, attrs.size, false);
      return y;
    },
    LogSoftmax(x, attrs) {
      const y = float32(attrs.outer * attrs.size);
      addon.softmax(f32(x, 'LogSoftmax', attrs.outer * attrs.size), y, attrs.outer, attrs.size, true);
      return y;
    },
    SoftmaxGrad(dy, y, attrs) {
      const dx = float32(attrs.outer * attrs.size);
      addon.softmaxGrad(
        f32(dy, 'SoftmaxGrad', attrs.outer * attrs.size),
        f32(y, 'SoftmaxGrad', attrs.outer * attrs.size),
        dx,
        attrs.outer,
        attrs.size,
        false,
      );
      return dx;
    },
    LogSoftmaxGrad(dy, y, attrs) {
      const dx = float32(attrs.outer * attrs.size);
      addon.softmaxGrad(
        f32(dy, 'LogSoftmaxGrad', attrs.outer * attrs.size),
        f32(y, 'LogSoftmaxGrad', attrs.outer * attrs.size),
        dx,
        attrs.outer,
        attrs.size,
        true,
      );
      return dx;
    },

    SoftmaxCrossEntropy(logits, labels, attrs) {
      const loss = float32(1);
      const probs = float32(attrs.batch * attrs.classes);
      addon.softmaxCrossEntropy(
        f32(logits, 'SoftmaxCrossEntropy', attrs.batch * attrs.classes),
        labelsOf(labels, attrs.batch, 'SoftmaxCrossEntropy'),
        loss,
        probs,
        attrs.batch,
        attrs.classes,
        attrs.labelSmoothing,
      );
      return { loss, probs };
    },
    SoftmaxCrossEntropyGrad(probs, labels, dloss, attrs) {
      const dlogits = float32(attrs.batch * attrs.classes);
      addon.softmaxCrossEntropyGrad(
        f32(probs, 'SoftmaxCrossEntropyGrad', attrs.batch * attrs.classes),
        labelsOf(labels, attrs.batch, 'SoftmaxCrossEntropyGrad'),
        dlogits,
        dloss,
        attrs.batch,
        attrs.classes,
        attrs.labelSmoothing,
      );
      return dlogits;
    },

    BatchNorm(x, gamma, beta, attrs) {
      const y = float32(attrs.outer * attrs.size);
      const mean = float32(attrs.size);
      const invStd = float32(attrs.size);
      addon.batchNorm(
        f32(x, 'BatchNorm', attrs.outer * attrs.size),
        f32(gamma, 'BatchNorm', attrs.size),
        f32(beta, 'BatchNorm', attrs.size),
        y,
        mean,
        invStd,
        attrs.outer,
        attrs.size,
        attrs.epsilon,
      );
      return { y, mean, invStd };
    },
    BatchNormGrad(dy, x, gamma, mean, invStd, attrs) {
      const dx = float32(attrs.outer * attrs.size);
      const dgamma = float32(attrs.size);
      const dbeta = float32(attrs.size);
      const k = 'BatchNormGrad';
      addon.batchNormGrad(
        f32(dy, k, attrs.outer * attrs.size),
        f32(x, k, attrs.outer * attrs.size),
        f32(gamma, k, attrs.size),
        f32(mean, k, attrs.size),
        f32(invStd, k, attrs.size),
        dx,
        dgamma,
        dbeta,
        attrs.outer,
        attrs.size,
        attrs.epsilon,
      );
      return { dx, dgamma, dbeta };
    },
    BatchNormInference(x, gamma, beta, mean, variance, attrs) {
      const y = float32(attrs.outer * attrs.size);
      const k = 'BatchNormInference';
      addon.batchNormInference(
        f32(x, k, attrs.outer * attrs.size),
        f32(gamma, k, attrs.size),
        f32(beta, k, attrs.size),
        f32(mean, k, attrs.size),
        f32(variance, k, attrs.size),
        y,
        attrs.outer,
        attrs.size,
        attrs.epsilon,
      );
      return y;
    },
    LayerNorm(x, gamma, beta, attrs) {
      const y = float32(attrs.outer * attrs.size);
      const mean = float32(attrs.outer);
      const invStd = float32(attrs.outer);
      addon.layerNorm(
        f32(x, 'LayerNorm', attrs.outer * attrs.size),
        f32(gamma, 'LayerNorm', attrs.size),
        f32(beta, 'LayerNorm', attrs.size),
        y,
        mean,
        invStd,
        attrs.outer,
        attrs.size,
        attrs.epsilon,
      );
      return { y, mean, invStd };
    },
    LayerNormGrad(dy, x, gamma, mean, invStd, attrs) {
      const dx = float32(attrs.outer * attrs.size);
      const dgamma = float32(attrs.size);
      const dbeta = float32(attrs.size);
      const k = 'LayerNormGrad';
      addon.layerNormGrad(
        f32(dy, k, attrs.outer * attrs.size),
        f32(x, k, attrs.outer * attrs.size),
        f32(gamma, k, attrs.size),
        f32(mean, k, attrs.outer),
        f32(invStd, k, attrs.outer),
        dx,
        dgamma,
        dbeta,
        attrs.outer,
        attrs.size,
        attrs.epsilon,
      );
      return { dx, dgamma, dbeta };
    },

    Dropout(x, state, attrs) {
      const input = f32(x, 'Dropout');
      if (!(attrs.rate >= 0 && attrs.rate < 1)) {
        throw new Error(`native backend: Dropout rate must be in [0, 1), found ${attrs.rate}`);
      }
      if (!(state instanceof Uint32Array) || state.length !== 4 || state.every((word) => word === 0)) {
        throw new Error(
          'native backend: Dropout state must be a Uint32Array of 4 xoshiro128** words, not all zero',
        );
      }
      const y = float32(input.length);
      const mask = float32(input.length);
      addon.dropout(input, y, mask, state, 1 - attrs.rate);
      return { y, mask };
    },

    AdamUpdate(params, grads, m, v, attrs) {
      addon.adamUpdate(
        allF32(params, 'AdamUpdate'),
        allF32(grads, 'AdamUpdate'),
        allF32(m, 'AdamUpdate'),
        allF32(v, 'AdamUpdate'),
        attrs.lr,
        attrs.beta1,
        attrs.beta2,
        attrs.epsilon,
        attrs.step,
        attrs.weightDecay,
        attrs.decoupledWeightDecay,
      );
    },
    SgdUpdate(params, grads, velocity, attrs) {
      addon.sgdUpdate(
        allF32(params, 'SgdUpdate'),
        allF32(grads, 'SgdUpdate'),
        allF32(velocity, 'SgdUpdate'),
        attrs.lr,
        attrs.momentum,
        attrs.nesterov,
        attrs.weightDecay,
      );
    },
  };
}

function labelsOf(labels: Int32Array, batch: number, kernel: KernelName): Int32Array {
  if (!(labels instanceof Int32Array) || labels.length < batch) {
    throw new Error(`native backend: ${kernel} expected ${batch} int32 labels, found ${labels.length}`);
  }
  return labels;
}

/** Checks without copying: the optimizer lists pass through as they are. */
function allF32(list: readonly FloatStorage[], kernel: KernelName): readonly Float32Array[] {
  for (const x of list) f32(x, kernel);
  return list as readonly Float32Array[];
}
