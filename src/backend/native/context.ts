// What every native kernel family shares: the addon, the storage pool outputs come from, the one
// way a kernel runs (emit: a program of one op, see binding.ts), the log of ops a step recorder
// reads (src/tensor/capture.ts), and the argument checks and packing the addon needs.
//
// NOTE: the addon trusts the sizes it is given, so every check that protects it from reading or
// writing out of bounds lives here, in the TypeScript kernels, before an op is emitted.
import type { FloatStorage, KernelName, LoweredOp, Shape, Storage, Window2D } from '../kernels.js';
import { ProgramWriter, type NativeAddon, type NativeBuffer, type OpCode } from './binding.js';
import type { StoragePool } from './pool.js';

/** One op as a kernel emitted it: what a compiled step replays. */
export class NativeOp implements LoweredOp {
  constructor(
    readonly code: OpCode,
    readonly buffers: readonly (NativeBuffer | null)[],
    readonly ints: Int32Array,
    readonly floats: Float64Array,
  ) {}
}

const NO_FLOATS: readonly number[] = [];

export class NativeContext {
  private readonly writer = new ProgramWriter();
  /** Open while a step is recorded: every emitted op is appended. */
  private log: NativeOp[] | null = null;
  /** Reused int scratch for op attributes (the writer copies it). */
  readonly packer = new Packer();

  constructor(
    readonly addon: NativeAddon,
    readonly pool: StoragePool,
  ) {}

  float32(size: number): Float32Array {
    return this.pool.float32.take(size);
  }

  int32(size: number): Int32Array {
    return this.pool.int32.take(size);
  }

  /** Runs one op now (and logs it while a log is open). */
  emit(
    code: OpCode,
    buffers: readonly (NativeBuffer | null)[],
    ints: ArrayLike<number>,
    intCount: number = ints.length,
    floats: ArrayLike<number> = NO_FLOATS,
  ): void {
    if (this.log) {
      this.log.push(
        new NativeOp(
          code,
          [...buffers],
          Int32Array.from({ length: intCount }, (_, i) => ints[i] as number),
          Float64Array.from(floats),
        ),
      );
    }
    const w = this.writer.reset();
    w.op(code, buffers, ints, intCount, floats);
    this.addon.run(w.program, w.floats, w.buffers);
  }

  openLog(): NativeOp[] {
    if (this.log) throw new Error('native backend: a step is already being recorded');
    this.log = [];
    return this.log;
  }

  closeLog(): void {
    this.log = null;
  }
}

// ---- checks ----

/**
 * The float32 view of a kernel input; with `length`, also checks it holds that many elements (the
 * addon trusts the attributes, so a short buffer would be read out of bounds).
 */
export function f32(x: FloatStorage, kernel: KernelName, length = 0): Float32Array {
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
export function words(x: Storage, kernel: KernelName, length = 0): Float32Array | Int32Array {
  if (x instanceof Float64Array) return f32(x, kernel);
  if (x.length < length) {
    throw new Error(`native backend: ${kernel} expected an input of ${length} elements, found ${x.length}`);
  }
  return x;
}

export function labelsOf(labels: Int32Array, batch: number, kernel: KernelName): Int32Array {
  if (!(labels instanceof Int32Array) || labels.length < batch) {
    throw new Error(`native backend: ${kernel} expected ${batch} int32 labels, found ${labels.length}`);
  }
  return labels;
}

/** Checks without copying: optimizer lists pass through as they are. */
export function allF32(list: readonly FloatStorage[], kernel: KernelName): readonly Float32Array[] {
  for (const x of list) f32(x, kernel);
  return list as readonly Float32Array[];
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// ---- packing (reused scratch: the op writer copies it) ----

/** Sequential writer into one growable Int32Array. */
export class Packer {
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
  /** The 17-int geometry block of a window (O: output channels; 0 for pooling). */
  window(a: Window2D, outChannels = 0): this {
    return this.push(a.N)
      .push(a.H)
      .push(a.W)
      .push(a.C)
      .push(a.KH)
      .push(a.KW)
      .push(a.OH)
      .push(a.OW)
      .push(a.strideH)
      .push(a.strideW)
      .push(a.padTop)
      .push(a.padBottom)
      .push(a.padLeft)
      .push(a.padRight)
      .push(a.dilationH)
      .push(a.dilationW)
      .push(outChannels);
  }
  get packed(): Int32Array {
    return this.buffer;
  }
  get length(): number {
    return this.used;
  }
}
