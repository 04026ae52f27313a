// Recording a step (capture.ts): the Recorder sits between the tensor layer and the backend's
// kernel table while a step runs eagerly, and writes down every kernel call with the values its
// buffers hold (the step's inputs, temporaries made by kernels, persistent buffers, host-written
// constants), the guards and replay hooks of the step, and the ops the backend lowered each call to.
// It also checks what a replay could not reproduce (host code writing persistent buffers or
// reading computed values) and refuses the step then. Two recordings of one step shape are compared
// (difference) before the step is planned.
import type { Backend, KernelBuffer, KernelName, Kernels, LoweredOp, Storage } from '../backend/kernels.js';
import { IN_PLACE } from '../backend/kernels.js';
import type { StepObserver } from './dispatch.js';
import type { Tensor } from './tensor.js';

/** Per-step host work a replay must repeat around the plan. */
export interface ReplayHook {
  /** Persistent buffers the hook (and the eager step) writes from host code each step. */
  readonly writes?: readonly KernelBuffer[];
  /** Before each replay: writes this step's values into `writes`; false drops the plan (re-record). */
  before?(): boolean | void;
  /** After each replay (inside runIf: only when the guarded section ran). */
  after?(): void;
}

// ---- the recorder ----

export type ValueKind =
  /** The caller's k-th input. */
  | 'input'
  /** A buffer from before the step (or made during it and kept): bound as it is. */
  | 'fixed'
  /** Made by a kernel during the step. */
  | 'temp'
  /** Allocated and written by host code during the step, not yet read by a kernel. */
  | 'host'
  /** A host-written buffer a kernel read: its contents are snapshotted. */
  | 'constant';

export interface Value {
  readonly id: number;
  kind: ValueKind;
  readonly buffer: KernelBuffer;
  /** Input index, for 'input'. */
  input?: number;
  /** Contents when a kernel first read it (constants), or after the last kernel that wrote it (fixed). */
  snapshot?: Uint8Array;
  /** Written each step by a replay hook: no snapshot checks. */
  hookWritten?: boolean;
  /** Written in place by a kernel during the step. */
  writtenInPlace?: boolean;
  /** Given back to the pool during the step. */
  released?: boolean;
  /** Call that made it ('temp'), and its position among the call's outputs. */
  def?: { call: number; position: number };
  /** Lowered ops using it (first and last), for sharing the native plan's temporary buffers. */
  firstOp: number;
  lastOp: number;
  /** The last call using it, for releases in a loop replay. */
  lastCall: number;
  output?: boolean;
}

/** An argument of a recorded call: a buffer's value, a list of them, null, or a plain attribute. */
export type ArgRef =
  | { readonly value: number }
  | { readonly list: readonly number[] }
  | { readonly attr: unknown }
  | { readonly nothing: true };

export interface Call {
  readonly kernel: KernelName;
  readonly args: readonly ArgRef[];
  /** Values the call made, in the order flatten() lists its result's buffers. */
  readonly outputs: readonly number[];
  readonly loweredStart: number;
  readonly loweredEnd: number;
}

export interface Guard {
  readonly flag: number;
  readonly callStart: number;
  readonly opStart: number;
  callEnd: number;
  opEnd: number;
}

export interface Hook extends ReplayHook {
  /** Index of the innermost guard the hook was registered in, or -1. */
  readonly guard: number;
}

/** A finished recording: everything a plan needs and what two recordings are compared on. */
export interface Recording {
  readonly calls: readonly Call[];
  readonly values: readonly Value[];
  readonly guards: readonly Guard[];
  readonly hooks: readonly Hook[];
  readonly lowered: readonly LoweredOp[] | null;
  /** Named outputs: value id and shape. */
  readonly outputs: readonly { name: string; value: number; shape: readonly number[] }[];
  readonly inputCount: number;
}

export class Refusal {
  constructor(
    readonly reason: string,
    /** Permanent: the step will never replay (else: try recording again next time). */
    readonly permanent: boolean,
  ) {}
}

export class Recorder implements StepObserver {
  readonly kernels: Kernels;
  private readonly current = new Map<KernelBuffer, Value>();
  /**
   * Byte ranges of values made during the step, per ArrayBuffer: a view into one is not a fixed
   * buffer. Ranges, not whole ArrayBuffers: the wasm backend's storage is all one linear memory.
   */
  private readonly stepMemory = new Map<ArrayBufferLike, [begin: number, end: number][]>();
  private readonly values: Value[] = [];
  private readonly calls: Call[] = [];
  private readonly guards: Guard[] = [];
  private readonly openGuards: number[] = [];
  private readonly hooks: Hook[] = [];
  private readonly hookKeys = new Set<object>();
  private readonly log: readonly LoweredOp[] | null;
  refusal: Refusal | null = null;
  private inCall = false;

  constructor(
    private readonly backend: Backend,
    inputs: readonly Tensor[],
  ) {
    this.log = backend.lowering ? backend.lowering.openLog() : null;
    inputs.forEach((t, index) => {
      const value = this.newValue('input', t.data);
      value.input = index;
    });
    const table = backend.kernels;
    const wrapped: Partial<Record<KernelName, unknown>> = {};
    for (const name of Object.keys(table) as KernelName[]) {
      const kernel = table[name] as (...args: unknown[]) => unknown;
      wrapped[name] = (...args: unknown[]): unknown => this.call(name, kernel, args);
    }
    this.kernels = wrapped as Kernels;
  }

  close(): void {
    this.backend.lowering?.closeLog();
  }

  refuse(reason: string, permanent: boolean): void {
    if (!this.refusal || (permanent && !this.refusal.permanent))
      this.refusal = new Refusal(reason, permanent);
  }

  // ---- StepObserver ----

  hostAllocated(storage: Storage): void {
    if (this.inCall) return;
    const value = this.newValue('host', storage);
    this.addStepMemory(storage);
    value.lastCall = this.calls.length;
  }

  released(storage: Storage): void {
    const value = this.current.get(storage);
    if (!value) return;
    value.released = true;
    this.current.delete(storage);
  }

  hostRead(storage: KernelBuffer): void {
    const value = this.current.get(storage);
    if (value && value.kind === 'temp') {
      this.refuse('host code reads a computed value inside the step (item() or toArray())', true);
    }
  }

  addHook(key: object, hook: ReplayHook): void {
    if (this.hookKeys.has(key)) return;
    this.hookKeys.add(key);
    for (const buffer of hook.writes ?? []) {
      const value = this.current.get(buffer) ?? this.newValue('fixed', buffer);
      if (value.kind !== 'fixed') {
        this.refuse('a replay hook writes a buffer made during the step', true);
        continue;
      }
      value.hookWritten = true;
      delete value.snapshot;
    }
    this.hooks.push({ ...hook, guard: this.openGuards[this.openGuards.length - 1] ?? -1 });
  }

  openGuard(flag: KernelBuffer): number {
    const value = this.current.get(flag);
    if (!value || value.kind !== 'temp' || !(flag instanceof Int32Array) || flag.length !== 1) {
      this.refuse('runIf needs a one-element int32 flag made by a kernel in the step', true);
    }
    const index = this.guards.length;
    this.guards.push({
      flag: value?.id ?? -1,
      callStart: this.calls.length,
      opStart: this.log?.length ?? 0,
      callEnd: -1,
      opEnd: -1,
    });
    if (value) this.use(value, this.calls.length, this.log?.length ?? 0);
    this.openGuards.push(index);
    return index;
  }

  closeGuard(index: number): void {
    const guard = this.guards[index] as Guard;
    guard.callEnd = this.calls.length;
    guard.opEnd = this.log?.length ?? 0;
    this.openGuards.pop();
  }

  // ---- kernel calls ----

  private call(name: KernelName, kernel: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    if (this.refusal?.permanent || this.inCall) return kernel.apply(this.backend.kernels, args);
    const index = this.calls.length;
    const inPlace = IN_PLACE[name] ?? [];
    const refs = args.map((arg, position) => this.argRef(arg, inPlace.includes(position), index));
    const loweredStart = this.log?.length ?? 0;
    this.inCall = true;
    let result: unknown;
    try {
      result = kernel.apply(this.backend.kernels, args);
    } finally {
      this.inCall = false;
    }
    const loweredEnd = this.log?.length ?? 0;
    // Buffers written in place: their contents now are the kernel's, the new reference point.
    inPlace.forEach((position) => {
      for (const buffer of buffersOf(args[position])) {
        const value = this.current.get(buffer);
        if (!value) continue;
        value.writtenInPlace = true;
        if (value.kind === 'fixed' && !value.hookWritten) value.snapshot = bytesOf(buffer);
      }
    });
    const argBuffers = new Set<KernelBuffer>(args.flatMap((arg) => buffersOf(arg)));
    const outputs = flatten(result).map((buffer, position) => {
      if (argBuffers.has(buffer)) this.refuse(`${name} returned one of its inputs`, true);
      const value = this.newValue('temp', buffer);
      value.def = { call: index, position };
      this.addStepMemory(buffer);
      return value.id;
    });
    this.calls.push({ kernel: name, args: refs, outputs, loweredStart, loweredEnd });
    for (const ref of refs) {
      if ('value' in ref) this.useId(ref.value, index);
      else if ('list' in ref) for (const id of ref.list) this.useId(id, index);
    }
    for (const id of outputs) this.useId(id, index);
    this.mapLowered(name, loweredStart, loweredEnd, index);
    return result;
  }

  /** Every buffer of the lowered ops of call `index` must be one of its arguments or results. */
  private mapLowered(name: KernelName, start: number, end: number, index: number): void {
    if (!this.log) return;
    if (end === start) {
      this.refuse(`${name} ran without a native op (the backend computed it in JavaScript)`, true);
      return;
    }
    for (let op = start; op < end; op++) {
      for (const buffer of (this.log[op] as LoweredOp).buffers) {
        if (buffer === null) continue;
        const value = this.current.get(buffer);
        if (!value) {
          this.refuse(
            `${name} runs a native op on a buffer that is neither its argument nor its result`,
            true,
          );
          continue;
        }
        this.use(value, index, op);
      }
    }
  }

  private argRef(arg: unknown, writes: boolean, call: number): ArgRef {
    if (arg === null || arg === undefined) return { nothing: true };
    if (isBuffer(arg)) return { value: this.read(arg, writes, call).id };
    if (Array.isArray(arg) && arg.length > 0 && arg.every(isBuffer)) {
      return { list: (arg as KernelBuffer[]).map((b) => this.read(b, writes, call).id) };
    }
    return { attr: clonePlain(arg) };
  }

  /** The value a kernel reads (or writes in place) through `buffer`, checked against host writes. */
  private read(buffer: KernelBuffer, writes: boolean, call: number): Value {
    let value = this.current.get(buffer);
    if (!value) {
      if (this.inStepMemory(buffer)) {
        this.refuse(`a kernel reads a view into a buffer made during the step (call ${call})`, true);
      }
      value = this.newValue('fixed', buffer);
      value.snapshot = bytesOf(buffer);
      return value;
    }
    switch (value.kind) {
      case 'host':
        value.kind = 'constant';
        value.snapshot = bytesOf(buffer);
        if (writes) {
          // A buffer the host filled and a kernel keeps writing: state made during the step (an
          // optimizer's slots on its first update); it must outlive the step (checked at the end).
          value.kind = 'fixed';
          value.hookWritten = false;
        }
        break;
      case 'constant':
      case 'fixed':
        if (value.snapshot && !sameBytes(value.snapshot, buffer)) {
          this.refuse(
            value.kind === 'fixed'
              ? 'host code changed a weight or other persistent buffer during the step (not through a kernel)'
              : 'host code changed a buffer after a kernel read it',
            true,
          );
        }
        if (writes && value.kind === 'constant') {
          this.refuse('a kernel writes in place into a constant made by host code during the step', true);
        }
        break;
      default:
        break;
    }
    return value;
  }

  private addStepMemory(buffer: KernelBuffer): void {
    const ranges = this.stepMemory.get(buffer.buffer) ?? [];
    ranges.push([buffer.byteOffset, buffer.byteOffset + buffer.byteLength]);
    this.stepMemory.set(buffer.buffer, ranges);
  }

  /** Whether `buffer` overlaps memory of a value made during the step. */
  private inStepMemory(buffer: KernelBuffer): boolean {
    const begin = buffer.byteOffset;
    const end = begin + buffer.byteLength;
    return (this.stepMemory.get(buffer.buffer) ?? []).some(([b, e]) => begin < e && b < end);
  }

  private newValue(kind: ValueKind, buffer: KernelBuffer): Value {
    const value: Value = { id: this.values.length, kind, buffer, firstOp: -1, lastOp: -1, lastCall: -1 };
    this.values.push(value);
    this.current.set(buffer, value);
    return value;
  }

  private useId(id: number, call: number): void {
    const value = this.values[id] as Value;
    value.lastCall = Math.max(value.lastCall, call);
  }

  private use(value: Value, call: number, op: number): void {
    value.lastCall = Math.max(value.lastCall, call);
    if (value.firstOp < 0) value.firstOp = op;
    value.lastOp = Math.max(value.lastOp, op);
  }

  /**
   * The recording, once the step's tidy() has released what the step no longer needs; null when
   * the step was refused for good (the recording stopped there).
   */
  finish(outputs: Record<string, Tensor>): Recording | null {
    if (this.refusal?.permanent) return null;
    // Persistent buffers must be as the step's kernels left them.
    for (const value of this.values) {
      if (
        value.kind === 'fixed' &&
        value.snapshot &&
        !value.released &&
        !sameBytes(value.snapshot, value.buffer)
      ) {
        this.refuse(
          'host code changed a weight or other persistent buffer during the step (not through a kernel)',
          true,
        );
      }
    }
    const named = Object.entries(outputs).map(([name, tensor]) => {
      const value = this.current.get(tensor.data) ?? this.newValue('fixed', tensor.data);
      value.output = true;
      return { name, value: value.id, shape: tensor.shape };
    });
    for (const value of this.values) {
      if (value.released) continue;
      if (this.current.get(value.buffer) !== value) continue; // its storage was reused: gone
      if (value.kind === 'temp' && !value.output) {
        this.refuse('a buffer computed during the step outlives it (kept by a layer?)', true);
      }
      // Host-made buffers that outlive the step (an optimizer's new slots): bound as they are.
      if (value.kind === 'constant' || value.kind === 'host') value.kind = 'fixed';
    }
    for (const value of this.values) {
      if (value.kind === 'fixed' && value.writtenInPlace && value.released) {
        this.refuse('a kernel writes in place into a buffer the step then frees', true);
      }
    }
    return {
      calls: this.calls,
      values: this.values,
      guards: this.guards,
      hooks: this.hooks,
      lowered: this.log,
      outputs: named,
      inputCount: this.values.filter((v) => v.kind === 'input').length,
    };
  }
}

// ---- comparing two recordings ----

/** Why two recordings of one step differ, or null when they are the same computation. */
export function difference(a: Recording, b: Recording): string | null {
  if (a.calls.length !== b.calls.length)
    return `the step ran ${a.calls.length} kernels, then ${b.calls.length}`;
  const same = (x: Value, y: Value): boolean => {
    if (x.kind !== y.kind) return false;
    if (x.kind === 'input') return x.input === y.input;
    if (x.kind === 'fixed') return x.buffer === y.buffer;
    if (x.kind === 'temp') return x.def?.call === y.def?.call && x.def?.position === y.def?.position;
    return x.snapshot !== undefined && y.snapshot !== undefined && sameBytesOf(x.snapshot, y.snapshot);
  };
  for (let i = 0; i < a.calls.length; i++) {
    const x = a.calls[i] as Call;
    const y = b.calls[i] as Call;
    if (x.kernel !== y.kernel) return `kernel ${i} was ${x.kernel}, then ${y.kernel}`;
    for (let k = 0; k < x.args.length; k++) {
      const p = x.args[k] as ArgRef;
      const q = y.args[k] as ArgRef;
      if ('attr' in p || 'attr' in q) {
        if (!('attr' in p && 'attr' in q) || !samePlain(p.attr, q.attr)) {
          return `an attribute of ${x.kernel} (kernel ${i}) changes between steps`;
        }
      } else if ('value' in p || 'value' in q) {
        if (
          !('value' in p && 'value' in q) ||
          !same(a.values[p.value] as Value, b.values[q.value] as Value)
        ) {
          return `argument ${k} of ${x.kernel} (kernel ${i}) changes between steps`;
        }
      } else if ('list' in p || 'list' in q) {
        if (
          !('list' in p && 'list' in q) ||
          p.list.length !== q.list.length ||
          p.list.some((id, j) => !same(a.values[id] as Value, b.values[q.list[j] as number] as Value))
        ) {
          return `argument ${k} of ${x.kernel} (kernel ${i}) changes between steps`;
        }
      }
    }
    if (x.loweredEnd - x.loweredStart !== y.loweredEnd - y.loweredStart) {
      return `${x.kernel} (kernel ${i}) lowered to a different number of ops`;
    }
  }
  if (a.guards.length !== b.guards.length || a.hooks.length !== b.hooks.length) {
    return 'the guards or replay hooks of the step change between steps';
  }
  if (a.outputs.some((o, i) => o.value !== b.outputs[i]?.value))
    return 'the step outputs change between steps';
  return null;
}

// ---- helpers ----

export function isBuffer(x: unknown): x is KernelBuffer {
  return (
    x instanceof Float32Array ||
    x instanceof Float64Array ||
    x instanceof Int32Array ||
    x instanceof Uint32Array
  );
}

/** The buffers of a kernel argument or result: a buffer, a list, or an object of them, in order. */
export function buffersOf(x: unknown): KernelBuffer[] {
  if (isBuffer(x)) return [x];
  if (Array.isArray(x)) return x.filter(isBuffer);
  return [];
}

export function flatten(result: unknown): KernelBuffer[] {
  if (result === undefined || result === null) return [];
  if (isBuffer(result)) return [result];
  return Object.values(result as Record<string, unknown>).filter(isBuffer);
}

export function bytesOf(buffer: KernelBuffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();
}

export function sameBytes(snapshot: Uint8Array, buffer: KernelBuffer): boolean {
  return sameBytesOf(snapshot, new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
}

export function sameBytesOf(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  // Word-wise when aligned (snapshots are fresh copies; storages are aligned by their backends).
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 && a.length % 4 === 0) {
    const x = new Int32Array(a.buffer, a.byteOffset, a.length / 4);
    const y = new Int32Array(b.buffer, b.byteOffset, b.length / 4);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function clonePlain(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(clonePlain);
  if (x !== null && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = clonePlain(v);
    return out;
  }
  return x;
}

export function samePlain(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => samePlain(v, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (
      ka.length === kb.length &&
      ka.every((k) => samePlain((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return Number.isNaN(a) && Number.isNaN(b);
}

export function dtypeOf(buffer: KernelBuffer): 'float32' | 'float64' | 'int32' | 'uint32' {
  if (buffer instanceof Float32Array) return 'float32';
  if (buffer instanceof Float64Array) return 'float64';
  if (buffer instanceof Int32Array) return 'int32';
  return 'uint32';
}
