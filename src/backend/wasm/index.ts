// The wasm backend: kernels compiled from C (wasm/src) to WebAssembly SIMD, on a linear memory
// whose storage JS sees zero-copy (shared memory) or through copies (copy mode; see heap.ts), with
// the heavy kernels split across worker threads when the memory is shared. Browser-safe: the
// module and, for threads, a way to start workers are given by the caller (src/backend/wasm/node.ts
// in Node; the page in a browser).
//
// Every kernel of the contract works: the ones in WASM_KERNELS run in WebAssembly for float32; the
// rest, and every float64 call (gradient checks), run as the js backend's kernels on this backend's
// storage (they allocate through its allocator, so their outputs are wasm storage too).
import type { Backend, FloatStorage, KernelName, Kernels } from '../kernels.js';
import { bindJsKernels } from '../js/index.js';
import type { WasmContext } from './context.js';
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput } from './conv.js';
import { dropout } from './dropout.js';
import { binary, relu, reluGrad, type BinaryKernel } from './elementwise.js';
import { WasmHeap } from './heap.js';
import { matMul } from './mat-mul.js';
import { maxPool, maxPoolGrad } from './max-pool.js';
import { adamUpdate, sgdUpdate } from './optimizers.js';
import { softmaxCrossEntropy, softmaxCrossEntropyGrad } from './softmax-cross-entropy.js';
import { sum } from './sum.js';
import { CONTROL_BYTES, WORKER_STACK_BYTES, WasmThreads, type SpawnWasmWorker } from './threads.js';

export type { SpawnWasmWorker, WasmWorkerHandle, WasmWorkerStart } from './threads.js';
export { runWasmWorker } from './threads.js';

/** Kernels computed in WebAssembly (float32); every other kernel runs as the js backend's. */
export const WASM_KERNELS: readonly KernelName[] = [
  'MatMul',
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'Conv2DBackpropFilterBias',
  'MaxPool',
  'MaxPoolGrad',
  'Relu',
  'ReluGrad',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Maximum',
  'Minimum',
  'Equal',
  'Greater',
  'Sum',
  'SoftmaxCrossEntropy',
  'SoftmaxCrossEntropyGrad',
  'Dropout',
  'AdamUpdate',
  'SgdUpdate',
];

/**
 * In copy mode only these run in WebAssembly: their arithmetic outweighs copying operands in and
 * out. The memory-bound rest would only add the copies, so they run as js on the JS heap.
 */
const COPY_MODE_KERNELS: ReadonlySet<KernelName> = new Set([
  'MatMul',
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'Conv2DBackpropFilterBias',
]);

export const DEFAULT_MIN_PARALLEL_FLOPS = 2 ** 20;

export interface WasmBackendOptions {
  /**
   * The compiled kernels: the shared-memory build (kernels.shared.wasm) when `shared`, else the
   * plain one (kernels.wasm); see wasm/README.md.
   */
  module: WebAssembly.Module;
  /** Shared memory: zero-copy storage and threads (needs SharedArrayBuffer). Else copy mode. */
  shared: boolean;
  /** Threads, the calling one included (shared memory and spawnWorker only); default 1. */
  threads?: number;
  /** Starts a worker running runWasmWorker (threads > 1). */
  spawnWorker?: SpawnWasmWorker;
  /** Calls below this many floating-point operations stay on the calling thread; default 2^20. */
  minParallelFlops?: number;
  /** Upper bound of the linear memory in bytes; default 2 GiB. */
  maxMemoryBytes?: number;
  /** Where the one line about failing workers goes; default console.warn. */
  log?: (line: string) => void;
}

export interface WasmBackend extends Backend {
  /** True when storage is shared linear memory (zero-copy); false in copy mode. */
  readonly shared: boolean;
  /** Starts the workers (they otherwise start at creation, in the background); resolves with the threads in use. */
  ready(): Promise<number>;
  /** Stops the workers; the backend keeps working on the calling thread. */
  close(): void;
  /** Jobs split into tasks so far, and how many tasks ran on worker threads. */
  stats(): { jobs: number; workerTasks: number };
  /** Bytes of linear memory now. */
  readonly memoryBytes: number;
}

export function createWasmBackend(options: WasmBackendOptions): WasmBackend {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`wasm backend: threads must be a positive integer, found ${threads}`);
  }
  if (threads > 1 && !options.shared) {
    throw new Error('wasm backend: threads > 1 need shared memory (SharedArrayBuffer); use threads: 1');
  }
  const heap = new WasmHeap({
    module: options.module,
    shared: options.shared,
    ...(options.maxMemoryBytes === undefined ? {} : { maxBytes: options.maxMemoryBytes }),
  });
  const control = heap.malloc(CONTROL_BYTES);
  heap.u8.fill(0, control, control + CONTROL_BYTES);
  const pool = new WasmThreads({
    exports: heap.exports,
    memory: heap.memory,
    module: options.module,
    control,
    threads,
    stack: () => heap.malloc(WORKER_STACK_BYTES),
    spawn: threads > 1 ? options.spawnWorker : undefined,
    log: options.log ?? ((line) => console.warn(line)),
  });
  const ctx: WasmContext = {
    heap,
    exports: heap.exports,
    threads: pool,
    alloc: heap.alloc,
    minParallelFlops: options.minParallelFlops ?? DEFAULT_MIN_PARALLEL_FLOPS,
  };
  pool.start();
  return {
    name: 'wasm',
    threads: pool.threads,
    shared: heap.shared,
    alloc: heap.alloc,
    release: heap.release,
    kernels: bindWasmKernels(ctx),
    ready: () => pool.ready(),
    close: () => pool.close(),
    stats: () => pool.stats(),
    get memoryBytes() {
      return heap.size;
    },
  };
}

const isF32 = (x: FloatStorage): x is Float32Array => x instanceof Float32Array;

/** The kernel table: WebAssembly for float32 calls of WASM_KERNELS, the js kernels otherwise. */
function bindWasmKernels(ctx: WasmContext): Kernels {
  const js = bindJsKernels(ctx.alloc);
  const onWasm = (name: KernelName): boolean => ctx.heap.shared || COPY_MODE_KERNELS.has(name);
  const binaryKernel =
    (name: BinaryKernel): Kernels[BinaryKernel] =>
    (a, b, attrs) =>
      (onWasm(name) && isF32(a) && isF32(b) ? binary(ctx, name, a, b, attrs) : null) ?? js[name](a, b, attrs);
  const table: Kernels = {
    ...js,
    MatMul: (a, b, attrs) => (isF32(a) && isF32(b) ? matMul(ctx, a, b, attrs) : js.MatMul(a, b, attrs)),
    Conv2D: (x, w, bias, attrs) =>
      isF32(x) && isF32(w) && (bias === null || isF32(bias))
        ? conv2d(ctx, x, w, bias, attrs, false)
        : js.Conv2D(x, w, bias, attrs),
    // The activation was checked by the tensor op (conv2d); 'relu' is the only one fused here.
    FusedConv2D: (x, w, bias, attrs) =>
      isF32(x) && isF32(w) && (bias === null || isF32(bias))
        ? conv2d(ctx, x, w, bias, attrs, attrs.activation === 'relu')
        : js.FusedConv2D(x, w, bias, attrs),
    Conv2DBackpropInput: (dy, w, attrs) =>
      isF32(dy) && isF32(w) ? conv2dBackpropInput(ctx, dy, w, attrs) : js.Conv2DBackpropInput(dy, w, attrs),
    Conv2DBackpropFilter: (x, dy, attrs) =>
      isF32(x) && isF32(dy)
        ? conv2dBackpropFilter(ctx, x, dy, attrs, false).dw
        : js.Conv2DBackpropFilter(x, dy, attrs),
    Conv2DBackpropFilterBias(x, dy, attrs) {
      if (!(isF32(x) && isF32(dy))) return js.Conv2DBackpropFilterBias(x, dy, attrs);
      const { dw, dbias } = conv2dBackpropFilter(ctx, x, dy, attrs, true);
      return { dw, dbias: dbias as Float32Array };
    },
    MaxPool: (x, attrs) =>
      (onWasm('MaxPool') && isF32(x) ? maxPool(ctx, x, attrs) : null) ?? js.MaxPool(x, attrs),
    MaxPoolGrad: (dy, x, workspace, attrs) =>
      (onWasm('MaxPoolGrad') && isF32(dy) && isF32(x) ? maxPoolGrad(ctx, dy, x, workspace, attrs) : null) ??
      js.MaxPoolGrad(dy, x, workspace, attrs),
    Relu: (x) => (onWasm('Relu') && isF32(x) ? relu(ctx, x) : js.Relu(x)),
    ReluGrad: (dy, x) =>
      (onWasm('ReluGrad') && isF32(dy) && isF32(x) ? reluGrad(ctx, dy, x) : null) ?? js.ReluGrad(dy, x),
    Add: binaryKernel('Add'),
    Sub: binaryKernel('Sub'),
    Mul: binaryKernel('Mul'),
    Div: binaryKernel('Div'),
    Maximum: binaryKernel('Maximum'),
    Minimum: binaryKernel('Minimum'),
    Equal: binaryKernel('Equal'),
    Greater: binaryKernel('Greater'),
    Sum: (x, attrs) => (onWasm('Sum') && isF32(x) ? sum(ctx, x, attrs) : null) ?? js.Sum(x, attrs),
    SoftmaxCrossEntropy: (logits, labels, attrs) =>
      onWasm('SoftmaxCrossEntropy') && isF32(logits)
        ? softmaxCrossEntropy(ctx, logits, labels, attrs)
        : js.SoftmaxCrossEntropy(logits, labels, attrs),
    SoftmaxCrossEntropyGrad: (probs, labels, dloss, attrs) =>
      onWasm('SoftmaxCrossEntropyGrad') && isF32(probs) && dloss.length >= 1
        ? softmaxCrossEntropyGrad(ctx, probs, labels, dloss, attrs)
        : js.SoftmaxCrossEntropyGrad(probs, labels, dloss, attrs),
    Dropout: (x, state, attrs) =>
      onWasm('Dropout') && isF32(x) ? dropout(ctx, x, state, attrs) : js.Dropout(x, state, attrs),
    AdamUpdate: (params, grads, m, v, schedule, attrs) => {
      if (!(onWasm('AdamUpdate') && adamUpdate(ctx, params, grads, m, v, schedule, attrs)))
        js.AdamUpdate(params, grads, m, v, schedule, attrs);
    },
    SgdUpdate: (params, grads, velocity, schedule, attrs) => {
      if (!(onWasm('SgdUpdate') && sgdUpdate(ctx, params, grads, velocity, schedule, attrs)))
        js.SgdUpdate(params, grads, velocity, schedule, attrs);
    },
  };
  return table;
}
