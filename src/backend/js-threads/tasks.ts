// The threaded kernels' jobs: how each heavy kernel splits into independent tasks, and running one
// task. Shared by the main thread (planning and its share of the tasks) and the workers (their
// share). Every task calls the js backend's own kernel code (the ranged conv2dRows, matMulBlock, ...
// or a whole kernel on a slice of images or elements) on a disjoint part of the output, so results
// are bit-identical to the single-threaded backend.
import type {
  Conv2DAttrs,
  DType,
  FloatStorage,
  FusedConv2DAttrs,
  MatMulAttrs,
  Storage,
  Window2D,
} from '../kernels.js';
import type { Allocator } from '../js/alloc.js';
import { conv2dRows } from '../js/conv2d.js';
import { conv2dBackpropFilterBlock } from '../js/conv2d-backprop-filter.js';
import { conv2dBackpropInputImages } from '../js/conv2d-backprop-input.js';
import { activateInPlace } from '../js/fused-conv2d.js';
import { isPointwise } from '../js/im2col.js';
import { matMulBlock } from '../js/mat-mul.js';
import { maxPool } from '../js/max-pool.js';
import { reluGrad } from '../js/unary-grad.js';

/** A kernel call, as posted to the workers (typed arrays on SharedArrayBuffers, plain attrs). */
export type Job =
  | {
      kernel: 'MatMul';
      a: FloatStorage;
      b: FloatStorage;
      out: FloatStorage;
      attrs: MatMulAttrs;
      /** Split each product's rows (else its columns) into blocks of `block`. */
      byRows: boolean;
      block: number;
      blocksPerProduct: number;
    }
  | {
      kernel: 'Conv2D';
      x: FloatStorage;
      w: FloatStorage;
      bias: FloatStorage | null;
      y: FloatStorage;
      attrs: Conv2DAttrs;
      /** FusedConv2D: each task applies this activation to its own rows; null for Conv2D. */
      fused: FusedConv2DAttrs | null;
      /** Output pixels (rows of y as [M, O]) per task. */
      rowsPerTask: number;
    }
  | {
      kernel: 'Conv2DBackpropInput';
      dy: FloatStorage;
      w: FloatStorage;
      dx: FloatStorage;
      attrs: Conv2DAttrs;
      imagesPerTask: number;
    }
  | {
      kernel: 'Conv2DBackpropFilter';
      x: FloatStorage;
      dy: FloatStorage;
      dw: FloatStorage;
      attrs: Conv2DAttrs;
      /** Split dw's rows K (else its columns O) at these bounds: task t covers [bounds[t], bounds[t+1]). */
      byRows: boolean;
      bounds: number[];
    }
  | { kernel: 'ReluGrad'; dy: FloatStorage; x: FloatStorage; dx: FloatStorage; perTask: number }
  | {
      kernel: 'MaxPool';
      x: FloatStorage;
      y: FloatStorage;
      argmax: Int32Array;
      attrs: Window2D;
      imagesPerTask: number;
    }
  | {
      kernel: 'MaxPoolGrad';
      dy: FloatStorage;
      argmax: Int32Array;
      dx: FloatStorage;
      attrs: Window2D;
      imagesPerTask: number;
    };

/** Tasks per thread for kernels whose tasks cost little to split: later tasks balance uneven cores. */
const TASKS_PER_THREAD = 4;
/** Blocks of dw rows per thread (Conv2DBackpropFilter): each block packs all of dy again. */
const FILTER_BLOCKS_PER_THREAD = 2;

function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/** Number of tasks `job` is split into. */
export function taskCount(job: Job): number {
  switch (job.kernel) {
    case 'MatMul':
      return job.attrs.batch * job.blocksPerProduct;
    case 'Conv2D':
      return Math.ceil((job.attrs.N * job.attrs.OH * job.attrs.OW) / job.rowsPerTask);
    case 'Conv2DBackpropInput':
      return Math.ceil(job.attrs.N / job.imagesPerTask);
    case 'Conv2DBackpropFilter':
      return job.bounds.length - 1;
    case 'ReluGrad':
      return Math.ceil(job.dx.length / job.perTask);
    case 'MaxPool':
    case 'MaxPoolGrad':
      return Math.ceil(job.attrs.N / job.imagesPerTask);
  }
}

/** An allocator that hands out `views` (one per dtype, each once): a whole kernel writes into a slice. */
function into(views: Partial<Record<DType, Storage>>): Allocator {
  return ((dtype: DType, size: number): Storage => {
    const view = views[dtype];
    if (!view || view.length !== size)
      throw new Error(`js backend (threads): no ${dtype} slice of ${size} elements`);
    delete views[dtype];
    return view;
  }) as Allocator;
}

function float(storage: FloatStorage): 'float32' | 'float64' {
  return storage instanceof Float32Array ? 'float32' : 'float64';
}

/** Runs task `task` of `job` (on whichever thread claimed it). */
export function runTask(job: Job, task: number): void {
  switch (job.kernel) {
    case 'MatMul': {
      const { m, n } = job.attrs;
      const t = Math.floor(task / job.blocksPerProduct);
      const start = (task % job.blocksPerProduct) * job.block;
      if (job.byRows)
        matMulBlock(job.a, job.b, job.attrs, job.out, t, start, Math.min(m, start + job.block), 0, n);
      else matMulBlock(job.a, job.b, job.attrs, job.out, t, 0, m, start, Math.min(n, start + job.block));
      return;
    }
    case 'Conv2D': {
      const M = job.attrs.N * job.attrs.OH * job.attrs.OW;
      const start = task * job.rowsPerTask;
      const end = Math.min(M, start + job.rowsPerTask);
      conv2dRows(job.x, job.w, job.bias, job.attrs, job.y, start, end);
      if (job.fused) activateInPlace(job.y.subarray(start * job.attrs.O, end * job.attrs.O), job.fused);
      return;
    }
    case 'Conv2DBackpropInput': {
      const n0 = task * job.imagesPerTask;
      conv2dBackpropInputImages(
        job.dy,
        job.w,
        job.attrs,
        job.dx,
        n0,
        Math.min(job.attrs.N, n0 + job.imagesPerTask),
      );
      return;
    }
    case 'Conv2DBackpropFilter': {
      const { KH, KW, C, O } = job.attrs;
      const from = job.bounds[task] as number;
      const to = job.bounds[task + 1] as number;
      if (job.byRows) conv2dBackpropFilterBlock(job.x, job.dy, job.attrs, job.dw, from, to, 0, O);
      else conv2dBackpropFilterBlock(job.x, job.dy, job.attrs, job.dw, 0, KH * KW * C, from, to);
      return;
    }
    case 'ReluGrad': {
      const i0 = task * job.perTask;
      const i1 = Math.min(job.dx.length, i0 + job.perTask);
      reluGrad(
        into({ [float(job.dx)]: job.dx.subarray(i0, i1) }),
        job.dy.subarray(i0, i1),
        job.x.subarray(i0, i1),
      );
      return;
    }
    case 'MaxPool': {
      // maxPool on images [n0, n1) alone; its argmax indices are then made relative to all of x.
      const { N, H, W, C, OH, OW } = job.attrs;
      const n0 = task * job.imagesPerTask;
      const n1 = Math.min(N, n0 + job.imagesPerTask);
      const out = [n0 * OH * OW * C, n1 * OH * OW * C] as const;
      const argmax = job.argmax.subarray(...out);
      maxPool(
        into({ [float(job.y)]: job.y.subarray(...out), int32: argmax }),
        job.x.subarray(n0 * H * W * C, n1 * H * W * C),
        { ...job.attrs, N: n1 - n0 },
      );
      const offset = n0 * H * W * C;
      for (let i = 0; i < argmax.length; i++)
        if ((argmax[i] as number) >= 0) argmax[i] = (argmax[i] as number) + offset;
      return;
    }
    case 'MaxPoolGrad': {
      // As the js MaxPoolGrad, over images [n0, n1): their dy only routes into their own dx.
      const { N, H, W, C, OH, OW } = job.attrs;
      const n0 = task * job.imagesPerTask;
      const n1 = Math.min(N, n0 + job.imagesPerTask);
      const { dy, argmax, dx } = job;
      dx.fill(0, n0 * H * W * C, n1 * H * W * C);
      for (let i = n0 * OH * OW * C, end = n1 * OH * OW * C; i < end; i++) {
        const at = argmax[i] as number;
        if (at >= 0) dx[at] = (dx[at] as number) + (dy[i] as number);
      }
      return;
    }
  }
}

// ---- planning: the split for `threads` threads (main thread included) ----

export function planMatMul(
  a: FloatStorage,
  b: FloatStorage,
  out: FloatStorage,
  attrs: MatMulAttrs,
  threads: number,
): Job {
  const { batch, m, n } = attrs;
  const byRows = m >= n;
  const extent = byRows ? m : n;
  const wanted = Math.max(1, Math.ceil((threads * TASKS_PER_THREAD) / batch));
  // Blocks are whole 4-row (4-column) micro-panels, at least 16 wide.
  const block = Math.max(16, roundUp(Math.ceil(extent / wanted), 4));
  return { kernel: 'MatMul', a, b, out, attrs, byRows, block, blocksPerProduct: Math.ceil(extent / block) };
}

export function planConv2D(
  x: FloatStorage,
  w: FloatStorage,
  bias: FloatStorage | null,
  y: FloatStorage,
  attrs: Conv2DAttrs,
  threads: number,
  fused: FusedConv2DAttrs | null = null,
): Job {
  const M = attrs.N * attrs.OH * attrs.OW;
  const rowsPerTask = Math.max(16, roundUp(Math.ceil(M / (threads * TASKS_PER_THREAD)), 4));
  return { kernel: 'Conv2D', x, w, bias, y, attrs, fused, rowsPerTask };
}

export function planConv2DBackpropInput(
  dy: FloatStorage,
  w: FloatStorage,
  dx: FloatStorage,
  attrs: Conv2DAttrs,
  threads: number,
): Job {
  return { kernel: 'Conv2DBackpropInput', dy, w, dx, attrs, imagesPerTask: imagesPerTask(attrs.N, threads) };
}

export function planConv2DBackpropFilter(
  x: FloatStorage,
  dy: FloatStorage,
  dw: FloatStorage,
  attrs: Conv2DAttrs,
  threads: number,
): Job {
  const K = attrs.KH * attrs.KW * attrs.C;
  const byRows = K >= attrs.O;
  const extent = byRows ? K : attrs.O;
  // A block of O columns builds whole patch rows itself (im2col), so one per thread; blocks of K
  // rows build only their own patch columns, so more of them balance uneven cores (each still
  // packs its own copy of dy). Bounds on 4-wide micro-panels.
  const perThread = byRows || isPointwise(attrs) ? FILTER_BLOCKS_PER_THREAD : 1;
  const blocks = Math.min(threads * perThread, Math.ceil(extent / 4));
  const bounds = [0];
  for (let t = 1; t < blocks; t++)
    bounds.push(Math.min(extent, roundUp(Math.round((extent * t) / blocks), 4)));
  bounds.push(extent);
  return { kernel: 'Conv2DBackpropFilter', x, dy, dw, attrs, byRows, bounds: dedupe(bounds) };
}

function dedupe(bounds: number[]): number[] {
  return bounds.filter((b, i) => i === 0 || b > (bounds[i - 1] as number));
}

export function planReluGrad(dy: FloatStorage, x: FloatStorage, dx: FloatStorage, threads: number): Job {
  return {
    kernel: 'ReluGrad',
    dy,
    x,
    dx,
    perTask: Math.max(4096, Math.ceil(dx.length / (threads * TASKS_PER_THREAD))),
  };
}

export function planMaxPool(
  x: FloatStorage,
  y: FloatStorage,
  argmax: Int32Array,
  attrs: Window2D,
  threads: number,
): Job {
  return { kernel: 'MaxPool', x, y, argmax, attrs, imagesPerTask: imagesPerTask(attrs.N, threads) };
}

export function planMaxPoolGrad(
  dy: FloatStorage,
  argmax: Int32Array,
  dx: FloatStorage,
  attrs: Window2D,
  threads: number,
): Job {
  return { kernel: 'MaxPoolGrad', dy, argmax, dx, attrs, imagesPerTask: imagesPerTask(attrs.N, threads) };
}

function imagesPerTask(N: number, threads: number): number {
  return Math.max(1, Math.ceil(N / (threads * TASKS_PER_THREAD)));
}

/** Multiply-adds x2 of a conv with these attrs (forward, backprop-input and backprop-filter alike). */
export function convFlops(attrs: Conv2DAttrs): number {
  return 2 * attrs.N * attrs.OH * attrs.OW * attrs.O * attrs.KH * attrs.KW * attrs.C;
}
