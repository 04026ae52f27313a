// The wasm backend's linear memory: one WebAssembly.Memory, a block allocator over it, and the
// per-call frames through which kernels get pointers to their inputs and outputs.
//
// Two modes (chosen by createWasmBackend, see README.md "Memory"):
// - shared (SharedArrayBuffer available: Node, and cross-origin isolated pages): storage is a typed
//   array viewing the memory itself, handed to JS zero-copy. A shared memory grows in place, so
//   views made before a growth stay valid; the memory is created with a large maximum (reserved
//   address space, committed by the OS only when touched).
// - copy (no SharedArrayBuffer: a page that is not cross-origin isolated): growing a non-shared
//   memory detaches every view of it, so no view leaves a call. Storage lives on the JS heap and
//   each wasm kernel copies its inputs in and its outputs out through temporary blocks.
//
// Blocks are 64-byte aligned and come in size classes (multiples of 64 bytes up to 4 KiB, then
// eighths of a power of two), each with a free list: released blocks are reused by any request of
// the same class, never split or merged. Storage that is dropped without release() goes back to
// its free list when the garbage collector finalises the typed array (FinalizationRegistry).
// NOTE: a view made with subarray() of a storage does not keep its block alive; keep the storage.
import type { DType, Storage } from '../kernels.js';
import { StoragePool, heapAlloc, type Allocator } from '../js/index.js';
import type { KernelExports } from './exports.js';

const PAGE = 65536;
const ALIGN = 64;
const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

/** The size class (bytes) that serves a request of `bytes`. */
export function sizeClass(bytes: number): number {
  const aligned = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (aligned <= 4096) return aligned;
  const step = 2 ** Math.floor(Math.log2(aligned)) / 8;
  return Math.ceil(aligned / step) * step;
}

export interface HeapOptions {
  module: WebAssembly.Module;
  /** Shared memory (zero-copy storage, threads) or copy mode; see above. */
  shared: boolean;
  /** Upper bound of the memory in bytes (shared: reserved up front); default 2 GiB. */
  maxBytes?: number;
}

interface Block {
  ptr: number;
  size: number;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly instance: WebAssembly.Instance;
  readonly exports: KernelExports;
  readonly shared: boolean;
  readonly maxBytes: number;
  /** Every ArrayBuffer this memory has had: a storage viewing one of them is resident. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private bytes: Uint8Array;
  private top: number;
  private readonly free = new Map<number, number[]>();
  /** Sizes of the blocks behind storage handed out by alloc(), for release(). */
  private readonly handedOut = new WeakMap<Storage, Block>();
  private readonly finalizer = new FinalizationRegistry<Block>((block) =>
    this.freeBlock(block.ptr, block.size),
  );
  /** Copy mode: where storage lives (the JS heap, pooled like the js backend's). */
  private readonly jsPool: StoragePool | null;

  constructor(options: HeapOptions) {
    this.shared = options.shared;
    this.maxBytes = options.maxBytes ?? 2 ** 31;
    const maximum = Math.floor(this.maxBytes / PAGE);
    // The module's data and the main thread's stack sit below __heap_base (under 1 MiB).
    const initial = 32;
    this.memory = new WebAssembly.Memory(
      this.shared ? { initial, maximum, shared: true } : { initial, maximum },
    );
    this.instance = new WebAssembly.Instance(options.module, { env: { memory: this.memory } });
    this.exports = this.instance.exports as unknown as KernelExports;
    this.top = this.exports.__heap_base.value;
    this.bytes = this.refresh();
    this.jsPool = this.shared ? null : new StoragePool(undefined, heapAlloc);
  }

  /** Bytes of linear memory now. */
  get size(): number {
    return this.memory.buffer.byteLength;
  }

  private refresh(): Uint8Array {
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    this.bytes = new Uint8Array(buffer);
    return this.bytes;
  }

  /** The memory as typed arrays (fresh after any growth). */
  get u8(): Uint8Array {
    if (this.bytes.buffer !== this.memory.buffer || this.bytes.byteLength === 0) this.refresh();
    return this.bytes;
  }

  view<T extends Float32Array | Float64Array | Int32Array | Uint32Array>(
    type: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T },
    ptr: number,
    length: number,
  ): T {
    return new type(this.u8.buffer, ptr, length);
  }

  /** Whether `storage` views this memory (then its pointer is its byteOffset). */
  isResident(storage: Storage): boolean {
    return this.buffers.has(storage.buffer);
  }

  /** A block of at least `bytes` (64-byte aligned); throws when the memory cannot grow. */
  malloc(bytes: number): number {
    const size = sizeClass(bytes);
    const reused = this.free.get(size)?.pop();
    if (reused !== undefined) return reused;
    const ptr = this.top;
    const end = ptr + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // Grow by at least a quarter of the memory: few growths, each a page-table change only.
      const wanted = Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 4));
      const pages = Math.min(wanted, Math.floor(this.maxBytes / PAGE) - have / PAGE);
      if (have + pages * PAGE < end) {
        throw new Error(
          `wasm backend: out of memory: ${bytes} bytes needed with ${have} of at most ${this.maxBytes} in use ` +
            `(raise maxMemoryBytes, or release storage that is no longer needed)`,
        );
      }
      this.memory.grow(pages);
      this.refresh();
    }
    this.top = end;
    return ptr;
  }

  freeBlock(ptr: number, bytes: number): void {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    if (list) list.push(ptr);
    else this.free.set(size, [ptr]);
  }

  /** Backend.alloc: a view of a fresh block (shared), or JS-heap storage (copy mode). */
  readonly alloc: Allocator = ((dtype: DType, size: number): Storage => {
    if (!Number.isInteger(size) || size < 0) {
      throw new Error(`wasm backend: alloc: size must be a non-negative integer, found ${size}`);
    }
    const bytesPer = BYTES[dtype];
    if (bytesPer === undefined) throw new Error(`wasm backend: alloc: unknown dtype '${String(dtype)}'`);
    if (this.jsPool) return this.jsPool.alloc(dtype, size);
    const bytes = size * bytesPer;
    const ptr = this.malloc(bytes);
    const buffer = this.u8.buffer;
    const storage =
      dtype === 'float32'
        ? new Float32Array(buffer, ptr, size)
        : dtype === 'float64'
          ? new Float64Array(buffer, ptr, size)
          : new Int32Array(buffer, ptr, size);
    const block = { ptr, size: bytes };
    this.handedOut.set(storage, block);
    this.finalizer.register(storage, block, storage);
    return storage;
  }) as Allocator;

  /** Backend.release: the block goes back to its free list (views and foreign storage are ignored). */
  readonly release = (storage: Storage): void => {
    if (this.jsPool) {
      this.jsPool.release(storage);
      return;
    }
    const block = this.handedOut.get(storage);
    if (!block) return;
    this.handedOut.delete(storage);
    this.finalizer.unregister(storage);
    this.freeBlock(block.ptr, block.size);
  };

  /** A frame for one kernel call: pointers for its operands, temporaries freed by end(). */
  frame(): Frame {
    return new Frame(this);
  }
}

type Typed = Float32Array | Float64Array | Int32Array | Uint32Array;

/**
 * One kernel call's operands as pointers. Resident storage is passed as is; other storage (copy
 * mode, or storage another backend made) is copied into a temporary block, and outputs written
 * there are copied back by end(). Use end() in a finally.
 */
export class Frame {
  private readonly temps: Block[] = [];
  private readonly copyBack: { storage: Typed; ptr: number }[] = [];

  constructor(private readonly heap: WasmHeap) {}

  /** A temporary block of `bytes` (contents undefined), freed by end(). */
  scratch(bytes: number): number {
    const ptr = this.heap.malloc(bytes);
    this.temps.push({ ptr, size: bytes });
    return ptr;
  }

  /** A pointer to `storage`'s elements for reading. */
  input(storage: Typed): number {
    if (this.heap.isResident(storage as Storage)) return storage.byteOffset;
    const ptr = this.scratch(storage.byteLength);
    this.heap.u8.set(new Uint8Array(storage.buffer, storage.byteOffset, storage.byteLength), ptr);
    return ptr;
  }

  /** A pointer the kernel writes `storage` through (copied back by end() when not resident). */
  output(storage: Typed): number {
    if (this.heap.isResident(storage as Storage)) return storage.byteOffset;
    const ptr = this.scratch(storage.byteLength);
    this.copyBack.push({ storage, ptr });
    return ptr;
  }

  /** Read and written in place (optimizer state, the dropout generator's words). */
  inout(storage: Typed): number {
    if (this.heap.isResident(storage as Storage)) return storage.byteOffset;
    const ptr = this.input(storage);
    this.copyBack.push({ storage, ptr });
    return ptr;
  }

  /** A temporary block holding `values` as int32 (geometry, plans, pointer tables). */
  int32s(values: ArrayLike<number>): number {
    const ptr = this.scratch(4 * values.length);
    this.heap.view(Int32Array, ptr, values.length).set(values);
    return ptr;
  }

  end(): void {
    const bytes = this.heap.u8;
    for (const { storage, ptr } of this.copyBack) {
      new Uint8Array(storage.buffer, storage.byteOffset, storage.byteLength).set(
        bytes.subarray(ptr, ptr + storage.byteLength),
      );
    }
    for (const block of this.temps) this.heap.freeBlock(block.ptr, block.size);
    this.temps.length = 0;
    this.copyBack.length = 0;
  }
}
