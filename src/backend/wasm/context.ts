// What every wasm kernel wrapper works with: the heap (memory, allocator, frames), the module's
// exports, the threads, and how a call is split into tasks.
import type { Window2D } from '../kernels.js';
import type { Allocator } from '../js/index.js';
import type { KernelExports } from './exports.js';
import type { Frame, WasmHeap } from './heap.js';
import type { WasmThreads } from './threads.js';

export interface WasmContext {
  readonly heap: WasmHeap;
  readonly exports: KernelExports;
  readonly threads: WasmThreads;
  readonly alloc: Allocator;
  /** Calls with fewer floating-point operations than this run on the calling thread alone. */
  readonly minParallelFlops: number;
}

/** Tasks per thread: later tasks balance cores that another process slows down. */
export const TASKS_PER_THREAD = 4;
/** Elementwise and pooling kernels count this many operations per element against minParallelFlops. */
export const FLOPS_PER_ELEMENT = 4;

/** Runs `body` with a fresh frame, ending it (copy-back, temporaries freed) whatever happens. */
export function withFrame<T>(ctx: WasmContext, body: (frame: Frame) => T): T {
  const frame = ctx.heap.frame();
  try {
    return body(frame);
  } finally {
    frame.end();
  }
}

export function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/** Bytes rounded up to whole cache lines (per-thread scratch strides). */
export function lines(bytes: number): number {
  return roundUp(bytes, 64);
}

/** Units of work (rows, images, elements) per task: about TASKS_PER_THREAD tasks per thread, whole `multiple`s, at least `least`. */
export function perTask(total: number, threads: number, least: number, multiple = 1): number {
  return Math.max(least, roundUp(Math.ceil(total / (threads * TASKS_PER_THREAD)), multiple));
}

/** The 17 int32 of Geometry (wasm/src/kernels.h): the window, then O (0 for pooling). */
export function geometry(a: Window2D & { O?: number }): number[] {
  return [
    a.N,
    a.H,
    a.W,
    a.C,
    a.KH,
    a.KW,
    a.OH,
    a.OW,
    a.strideH,
    a.strideW,
    a.padTop,
    a.padBottom,
    a.padLeft,
    a.padRight,
    a.dilationH,
    a.dilationW,
    a.O ?? 0,
  ];
}
