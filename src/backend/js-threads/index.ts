// The threaded js backend (Node only): the js backend's kernels on SharedArrayBuffer storage, with
// the heavy ones (MatMul, the convolutions with their im2col, and the cnn recipes' big memory-bound
// ones: MaxPool, MaxPoolGrad, ReluGrad) split across a worker_threads pool plus the main thread. Its name stays 'js': results are bit-identical to the single-threaded
// js backend (each output element is computed by the same code in the same order; see tasks.ts),
// whatever the thread count. The browser bundle keeps the single-threaded js backend.
//
// Calls below `minFlops` run on the main thread alone: posting a job and waking a worker costs tens
// of microseconds, a 2 MFLOP product about half a millisecond.
import { availableParallelism } from 'node:os';
import type { Backend, Conv2DAttrs, Kernels, MatMulAttrs, Storage } from '../kernels.js';
import { createJsBackend, type Allocator } from '../js/index.js';
import { allocLike } from '../js/alloc.js';
import { checkConv2D } from '../js/conv2d.js';
import { fusedConvKernels } from '../js/fused-conv2d.js';
import { checkConv2DBackpropFilter } from '../js/conv2d-backprop-filter.js';
import { checkConv2DBackpropInput } from '../js/conv2d-backprop-input.js';
import { checkLength, checkWindow } from '../js/im2col.js';
import { checkMatMul } from '../js/mat-mul.js';
import { WorkerPool } from './pool.js';
import { isShared, sharedAlloc, sharedCopy } from './shared-alloc.js';
import {
  convFlops,
  planConv2D,
  planConv2DBackpropFilter,
  planConv2DBackpropInput,
  planMatMul,
  planMaxPool,
  planMaxPoolGrad,
  planReluGrad,
  type Job,
} from './tasks.js';

export interface JsThreadsBackendOptions {
  /** Threads computing the heavy kernels, the main thread included; default every available core. */
  threads?: number;
  /** Calls with fewer floating-point operations than this stay on the main thread; default 2^21. */
  minFlops?: number;
  /** Bound on released storage kept for reuse, in bytes (as the js backend). */
  poolBytes?: number;
  /** Where the one line about workers failing to start goes; default stderr. */
  log?: (line: string) => void;
  /** The worker's entry; default worker.js (worker.ts from sources) next to pool.ts. For tests. */
  workerUrl?: URL;
}

/** The js backend with worker threads; `ready()` and `close()` manage its pool. */
export interface JsThreadsBackend extends Backend {
  /** Starts the workers (they otherwise start on the first big call); resolves with the threads in use. */
  ready(): Promise<number>;
  /** Terminates the workers; the backend keeps working on the main thread. */
  close(): Promise<void>;
  /** Calls split into tasks so far, and how many tasks ran on worker threads. */
  stats(): { jobs: number; workerTasks: number };
}

export const DEFAULT_MIN_FLOPS = 2 ** 21;
/** Elementwise and pooling kernels count this many flops per element against minFlops. */
const FLOPS_PER_ELEMENT = 4;

export function createJsThreadsBackend(options: JsThreadsBackendOptions = {}): JsThreadsBackend {
  const threads = options.threads ?? availableParallelism();
  const minFlops = options.minFlops ?? DEFAULT_MIN_FLOPS;
  const pool = new WorkerPool({
    threads,
    ...(options.log ? { log: options.log } : {}),
    ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}),
  });
  const base = createJsBackend({
    allocate: sharedAlloc,
    ...(options.poolBytes === undefined ? {} : { poolBytes: options.poolBytes }),
  });
  const alloc: Allocator = base.alloc;
  const single = base.kernels;

  /** Runs `job` on the pool, its inputs shared first; copies of unshared inputs are released after. */
  function split(plan: (share: <T extends Storage>(s: T) => T) => Job): void {
    const copies: Storage[] = [];
    const share = <T extends Storage>(s: T): T => {
      const shared = sharedCopy(alloc, s);
      if (shared !== s) copies.push(shared);
      return shared;
    };
    try {
      pool.run(plan(share));
    } finally {
      for (const c of copies) base.release(c);
    }
  }

  /** Threads to split a call of `flops` over: 1 (the plain js kernel) below the threshold or without workers. */
  const threadsFor = (flops: number): number => {
    if (flops < minFlops) return 1;
    pool.start();
    return pool.activeThreads;
  };

  const threaded: Omit<Kernels, 'Conv2DBackpropFilterBias'> = {
    ...single,
    MatMul: (a, b, attrs: MatMulAttrs) => {
      const flops = 2 * attrs.batch * attrs.m * attrs.n * attrs.k;
      const t = threadsFor(flops);
      if (t === 1) return single.MatMul(a, b, attrs);
      checkMatMul(a, b, attrs);
      const out = allocLike(alloc, a, attrs.batch * attrs.m * attrs.n);
      split((share) => planMatMul(share(a), share(b), out, attrs, t));
      return out;
    },
    Conv2D: (x, w, bias, attrs: Conv2DAttrs) => {
      const flops = convFlops(attrs);
      const t = threadsFor(flops);
      if (t === 1) return single.Conv2D(x, w, bias, attrs);
      checkConv2D(x, w, bias, attrs);
      const y = allocLike(alloc, x, attrs.N * attrs.OH * attrs.OW * attrs.O);
      split((share) => planConv2D(share(x), share(w), bias && share(bias), y, attrs, t));
      return y;
    },
    // Conv2D with the activation applied by each task to its own rows, while they are in cache
    // (the conv2d tensor op checked the activation).
    FusedConv2D: (x, w, bias, attrs) => {
      const flops = convFlops(attrs);
      const t = threadsFor(flops);
      if (t === 1) return single.FusedConv2D(x, w, bias, attrs);
      checkConv2D(x, w, bias, attrs);
      const y = allocLike(alloc, x, attrs.N * attrs.OH * attrs.OW * attrs.O);
      split((share) => planConv2D(share(x), share(w), bias && share(bias), y, attrs, t, attrs));
      return y;
    },
    Conv2DBackpropInput: (dy, w, attrs: Conv2DAttrs) => {
      const flops = convFlops(attrs);
      const t = threadsFor(flops);
      if (t === 1) return single.Conv2DBackpropInput(dy, w, attrs);
      checkConv2DBackpropInput(dy, w, attrs);
      const dx = allocLike(alloc, dy, attrs.N * attrs.H * attrs.W * attrs.C);
      split((share) => planConv2DBackpropInput(share(dy), share(w), dx, attrs, t));
      return dx;
    },
    Conv2DBackpropFilter: (x, dy, attrs: Conv2DAttrs) => {
      const flops = convFlops(attrs);
      const t = threadsFor(flops);
      if (t === 1) return single.Conv2DBackpropFilter(x, dy, attrs);
      checkConv2DBackpropFilter(x, dy, attrs);
      const dw = allocLike(alloc, x, attrs.KH * attrs.KW * attrs.C * attrs.O);
      split((share) => planConv2DBackpropFilter(share(x), share(dy), dw, attrs, t));
      return dw;
    },
    ReluGrad: (dy, x) => {
      const t = threadsFor(dy.length * FLOPS_PER_ELEMENT);
      if (t === 1 || dy.length !== x.length) return single.ReluGrad(dy, x);
      const dx = allocLike(alloc, dy, dy.length);
      split((share) => planReluGrad(share(dy), share(x), dx, t));
      return dx;
    },
    MaxPool: (x, attrs) => {
      const t = threadsFor(x.length * FLOPS_PER_ELEMENT);
      if (t === 1) return single.MaxPool(x, attrs);
      checkWindow('MaxPool', attrs);
      checkLength('MaxPool', 'x', x, attrs.N * attrs.H * attrs.W * attrs.C);
      const size = attrs.N * attrs.OH * attrs.OW * attrs.C;
      const y = allocLike(alloc, x, size);
      const workspace = alloc('int32', size);
      split((share) => planMaxPool(share(x), y, workspace, attrs, t));
      return { y, workspace };
    },
    MaxPoolGrad: (dy, x, workspace, attrs) => {
      const t = threadsFor(x.length * FLOPS_PER_ELEMENT);
      // Inputs the js kernel would reject go to it, for its error message.
      if (t === 1 || !(workspace instanceof Int32Array) || workspace.length !== dy.length) {
        return single.MaxPoolGrad(dy, x, workspace, attrs);
      }
      checkWindow('MaxPoolGrad', attrs);
      checkLength('MaxPoolGrad', 'x', x, attrs.N * attrs.H * attrs.W * attrs.C);
      checkLength('MaxPoolGrad', 'dy', dy, attrs.N * attrs.OH * attrs.OW * attrs.C);
      const dx = allocLike(alloc, dy, x.length);
      split((share) => planMaxPoolGrad(share(dy), share(workspace), dx, attrs, t));
      return dx;
    },
  };

  // The bias gradient beside the threaded filter gradient (the js composition over this table).
  const kernels: Kernels = {
    ...threaded,
    Conv2DBackpropFilterBias: fusedConvKernels(threaded).Conv2DBackpropFilterBias,
  };

  return {
    name: 'js',
    threads,
    alloc: base.alloc,
    // Only shared storage enters the pool: outputs written by workers must be shared.
    release: (storage) => {
      if (isShared(storage)) base.release(storage);
    },
    kernels,
    ready: () => pool.ready(),
    close: () => pool.close(),
    stats: () => pool.stats(),
  };
}
