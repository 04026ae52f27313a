// Storage of the native backend: native buffers (64-byte aligned, zero-copy ArrayBuffers from the
// addon), recycled through free lists keyed by dtype and length. Released storage stays in its
// list until reused or until trim() hands it to the garbage collector (whose finalizer frees it).
import type { Backend, DType, Storage } from '../kernels.js';
import type { NativeAddon } from './binding.js';

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

  clear(): void {
    this.lists.clear();
  }
}

export class StoragePool {
  readonly float32: FreeList<Float32Array>;
  readonly float64: FreeList<Float64Array>;
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

  /** Forgets every pooled buffer (the garbage collector frees them). */
  readonly trim = (): void => {
    this.float32.clear();
    this.float64.clear();
    this.int32.clear();
  };
}
