// Storage for the js backend: the Allocator type every js kernel takes as its first argument, and a
// pooled allocator (free lists keyed by dtype and length, bounded in total bytes) that
// createJsBackend binds them to. The native backend binds the same kernels to its own allocator.
import type { Backend, DType, Storage } from '../kernels.js';

/** Uninitialised storage of `size` elements; kernels fully write what they allocate. */
export type Allocator = Backend['alloc'];

/** Plain JS-heap allocation, no pooling (tests, one-off use). */
export const heapAlloc: Allocator = ((dtype: DType, size: number): Storage => {
  if (dtype === 'float32') return new Float32Array(size);
  if (dtype === 'float64') return new Float64Array(size);
  if (dtype === 'int32') return new Int32Array(size);
  throw new Error(`js backend: alloc: unknown dtype '${String(dtype)}'`);
}) as Allocator;

/** Default bound on pooled (released, not yet reused) storage: 256 MiB. */
export const DEFAULT_POOL_BYTES = 256 * 1024 * 1024;

/**
 * Free lists keyed by dtype and length. release() keeps storage for reuse until the pool holds
 * `maxBytes`; beyond that released storage is left to the garbage collector.
 */
export class StoragePool {
  private readonly lists = new Map<string, Storage[]>();
  private pooledBytes = 0;

  /** `base` allocates fresh storage when no pooled one fits (default: the JS heap). */
  constructor(
    private readonly maxBytes: number = DEFAULT_POOL_BYTES,
    private readonly base: Allocator = heapAlloc,
  ) {}

  /** Bytes currently held for reuse. */
  get bytes(): number {
    return this.pooledBytes;
  }

  readonly alloc: Allocator = ((dtype: DType, size: number): Storage => {
    if (!Number.isInteger(size) || size < 0) {
      throw new Error(`js backend: alloc: size must be a non-negative integer, found ${size}`);
    }
    const reused = this.lists.get(`${dtype}:${size}`)?.pop();
    if (reused) {
      this.pooledBytes -= reused.byteLength;
      return reused;
    }
    return this.base(dtype, size);
  }) as Allocator;

  readonly release = (storage: Storage): void => {
    if (storage.byteLength === 0 || this.pooledBytes + storage.byteLength > this.maxBytes) return;
    // Views into a larger buffer are not pooled: reusing one would alias its neighbours.
    if (storage.byteOffset !== 0 || storage.buffer.byteLength !== storage.byteLength) return;
    const key = `${dtypeName(storage)}:${storage.length}`;
    const list = this.lists.get(key);
    if (list) {
      // NOTE: a double release would hand the same storage out twice; refuse it cheaply.
      if (list.includes(storage)) return;
      list.push(storage);
    } else this.lists.set(key, [storage]);
    this.pooledBytes += storage.byteLength;
  };

  /** Drops every pooled buffer. */
  clear(): void {
    this.lists.clear();
    this.pooledBytes = 0;
  }
}

function dtypeName(storage: Storage): DType {
  if (storage instanceof Float32Array) return 'float32';
  if (storage instanceof Float64Array) return 'float64';
  return 'int32';
}

/** Output storage of the same float dtype as `like` (kernels output their first float input's dtype). */
export function allocLike<T extends Float32Array | Float64Array>(alloc: Allocator, like: T, size: number): T {
  return (like instanceof Float32Array ? alloc('float32', size) : alloc('float64', size)) as T;
}

/** Output storage of the same dtype as `like`, any dtype (layout kernels). */
export function allocSame(alloc: Allocator, like: Storage, size: number): Storage {
  if (like instanceof Float32Array) return alloc('float32', size);
  if (like instanceof Float64Array) return alloc('float64', size);
  return alloc('int32', size);
}
