// Storage on SharedArrayBuffer for the threaded js backend: worker threads read and write the same
// memory as the main thread, so no kernel input or output is ever copied between threads.
import { dtypeOf, type DType, type Storage } from '../kernels.js';
import type { Allocator } from '../js/index.js';

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

/** Fresh zeroed storage of `size` elements on its own SharedArrayBuffer. */
export const sharedAlloc: Allocator = ((dtype: DType, size: number): Storage => {
  const bytes = BYTES[dtype];
  if (bytes === undefined) throw new Error(`js backend (threads): alloc: unknown dtype '${String(dtype)}'`);
  const buffer = new SharedArrayBuffer(size * bytes);
  if (dtype === 'float32') return new Float32Array(buffer);
  if (dtype === 'float64') return new Float64Array(buffer);
  return new Int32Array(buffer);
}) as Allocator;

export function isShared(storage: Storage): boolean {
  return storage.buffer instanceof SharedArrayBuffer;
}

/**
 * `storage` itself when it lives on a SharedArrayBuffer, else a shared copy from `alloc` (storage
 * made outside this backend, e.g. by another backend). The caller releases copies it asked for.
 */
export function sharedCopy<T extends Storage>(alloc: Allocator, storage: T): T {
  if (isShared(storage)) return storage;
  const copy = alloc(dtypeOf(storage), storage.length) as T;
  copy.set(storage);
  return copy;
}
