// Where the tensor layer reaches the backend: the active backend's kernel table and allocator,
// except while a step is recorded (capture.ts), when kernel calls go through the recorder's table
// and host-side allocations, releases and reads are reported to it. Ops, autograd, tidy() and the
// optimizers call these, never getBackend().kernels directly, so a recording sees every kernel.
import type { DType, KernelBuffer, Kernels, Storage } from '../backend/kernels.js';
import { getBackend } from '../backend/registry.js';

/** What a step recorder needs to see besides kernel calls. */
export interface StepObserver {
  /** The recording kernel table (each call recorded, then run on the backend). */
  readonly kernels: Kernels;
  /** Storage allocated by host code during the step (fills, casts, tensor()). */
  hostAllocated(storage: Storage): void;
  /** Storage given back to the backend's pool during the step. */
  released(storage: Storage): void;
  /** Host code read the values of `storage` (item(), toArray()). */
  hostRead(storage: KernelBuffer): void;
}

let observer: StepObserver | null = null;

/** @internal Installs (or, with null, removes) the recorder of the step being captured. */
export function setStepObserver(next: StepObserver | null): void {
  observer = next;
}

/** @internal The recorder of the step being captured, if any. */
export function stepObserver(): StepObserver | null {
  return observer;
}

/** The kernel table ops call. */
export function kernels(): Kernels {
  return observer ? observer.kernels : getBackend().kernels;
}

/** Storage for host-written values (fills, casts): the backend's, reported to a recorder. */
export function allocate(dtype: 'float32', size: number): Float32Array;
export function allocate(dtype: 'float64', size: number): Float64Array;
export function allocate(dtype: 'int32', size: number): Int32Array;
export function allocate(dtype: DType, size: number): Storage;
export function allocate(dtype: DType, size: number): Storage {
  const storage = getBackend().alloc(dtype, size);
  observer?.hostAllocated(storage);
  return storage;
}

/** Gives storage back to the backend's pool. */
export function release(storage: Storage): void {
  observer?.released(storage);
  getBackend().release(storage);
}

/** Host code is about to read `storage` (a recorder refuses steps that branch on computed values). */
export function noteHostRead(storage: KernelBuffer): void {
  observer?.hostRead(storage);
}
