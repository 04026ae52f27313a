// Replaying a recorded step (capture.ts): as one native plan where the backend lowers steps (its
// temporary buffers shared by values whose lifetimes do not overlap), else as a loop over the recorded kernel calls on the backend's table (temporaries released at
// their last use). Both run the recorded kernels on the recorded values, in order, so results are
// bit-identical to the eager step; replay hooks run around them.
import type {
  Backend,
  DType,
  CompiledStep,
  KernelBuffer,
  LoweredOp,
  PlanBinding,
  Storage,
} from '../backend/kernels.js';
import {
  dtypeOf,
  flatten,
  type Call,
  type Guard,
  type Hook,
  type Recording,
  type Value,
} from './recording.js';
import { Tensor } from './tensor.js';

// ---- plans ----

/** A step made replayable: runs it once per call, returning its named outputs. */
export interface Replay {
  readonly native: boolean;
  /** For debug lines: "one native plan of 16 ops, arena 0.1 MB" or "a loop over 16 kernels". */
  readonly description: string;
  /** Per-op seconds of a native plan (see CompiledStep.profile). */
  profile?(): readonly { op: string; seconds: number }[];
  /** Null when a hook refused (the plan no longer fits): re-record. */
  run(inputs: readonly Tensor[]): Record<string, Tensor> | null;
}

/** Hooks around a replay; `guardRan(g)` says whether guard g's body ran. */
function runWithHooks(hooks: readonly Hook[], body: () => (guard: number) => boolean): boolean {
  for (const hook of hooks) if (hook.before?.() === false) return false;
  const guardRan = body();
  for (const hook of hooks) if (hook.guard < 0 || guardRan(hook.guard)) hook.after?.();
  return true;
}

/** The native plan: every lowered op in one call. */
export function nativeReplay(recording: Recording, backend: Backend): Replay {
  const lowering = backend.lowering;
  const lowered = recording.lowered;
  if (!lowering || !lowered) throw new Error('internal: a native replay without a lowering');
  const values = recording.values;
  // Temporary buffers, shared by values whose lifetimes (in lowered ops, both ends included) do not
  // overlap and whose dtype and length agree: the pool holds exactly such buffers after the eager
  // recording, so a plan takes no new memory. Outputs live to the end of the step.
  const end = lowered.length;
  const temps: { dtype: DType; length: number; busyUntil: number }[] = [];
  const tempOf = new Map<number, number>();
  const byFirstUse = values
    .filter((v) => v.kind === 'temp' && v.firstOp >= 0)
    .sort((p, q) => p.firstOp - q.firstOp || p.id - q.id);
  for (const value of byFirstUse) {
    const dtype = storageDtype(value.buffer);
    const length = value.buffer.length;
    const last = value.output ? end : value.lastOp;
    let index = temps.findIndex(
      (t) => t.dtype === dtype && t.length === length && t.busyUntil < value.firstOp,
    );
    if (index < 0) {
      index = temps.length;
      temps.push({ dtype, length, busyUntil: last });
    } else (temps[index] as (typeof temps)[number]).busyUntil = last;
    tempOf.set(value.id, index);
  }
  const bindingOf = (value: Value): PlanBinding => {
    switch (value.kind) {
      case 'input':
        return { kind: 'input', index: value.input as number };
      case 'temp': {
        const index = tempOf.get(value.id);
        if (index === undefined) throw new Error('internal: a temporary no lowered op uses');
        return { kind: 'temp', index };
      }
      case 'constant':
        // A private copy of the snapshot, in the backend's memory: the original goes back to the pool.
        return { kind: 'fixed', buffer: constantCopy(value, backend) };
      default:
        return { kind: 'fixed', buffer: value.buffer };
    }
  };
  const bindingsById = new Map<number, PlanBinding>();
  const binding = (value: Value): PlanBinding => {
    let b = bindingsById.get(value.id);
    if (!b) {
      b = bindingOf(value);
      bindingsById.set(value.id, b);
    }
    return b;
  };
  // Each lowered op's buffers, by the value each named while it ran.
  const bindings: PlanBinding[][] = [];
  const valueAt = new Map<KernelBuffer, Value>();
  let opIndex = 0;
  // Replay the value map in op order: before call c, a buffer names its current value.
  const calls = recording.calls;
  for (let c = 0; c < calls.length; c++) {
    const call = calls[c] as Call;
    const local = new Map<KernelBuffer, Value>();
    const note = (id: number): void => {
      const v = values[id] as Value;
      local.set(v.buffer, v);
    };
    for (const ref of call.args) {
      if ('value' in ref) note(ref.value);
      else if ('list' in ref) ref.list.forEach(note);
    }
    for (const id of call.outputs) note(id);
    for (; opIndex < call.loweredEnd; opIndex++) {
      const op = lowered[opIndex] as LoweredOp;
      bindings.push(
        op.buffers.map((buffer) => {
          if (buffer === null) return null as unknown as PlanBinding;
          const value = local.get(buffer) ?? valueAt.get(buffer);
          if (!value) throw new Error(`internal: lowered op ${opIndex} names an unknown buffer`);
          return binding(value);
        }),
      );
    }
    for (const [buffer, value] of local) valueAt.set(buffer, value);
  }
  const guards = recording.guards.map((g) => ({
    op: g.opStart,
    flag: binding(values[g.flag] as Value),
    count: g.opEnd - g.opStart,
  }));
  const compiled: CompiledStep = lowering.compile({
    ops: lowered,
    bindings: bindings.map((row) => row.map((b) => b ?? null)),
    guards,
    temps: temps.map((t) => ({ dtype: t.dtype, length: t.length })),
    inputCount: recording.inputCount,
  });
  const outputs = recording.outputs.map((o): PlannedOutput => {
    const value = values[o.value] as Value;
    return value.kind === 'input'
      ? { name: o.name, shape: o.shape, input: value.input as number }
      : { name: o.name, shape: o.shape, binding: binding(value) };
  });
  return planReplay(
    compiled,
    recording.hooks,
    guards.map((g) => g.flag),
    outputs,
    `one native plan of ${lowered.length} ops, ${temps.length} temporary buffers of ` +
      `${(temps.reduce((n, t) => n + t.length * (t.dtype === 'float64' ? 8 : 4), 0) / 2 ** 20).toFixed(1)} MiB`,
  );
}

interface PlannedOutput {
  readonly name: string;
  readonly shape: readonly number[];
  /** Where a replay leaves it, or the index of the input it is. */
  readonly binding?: PlanBinding;
  readonly input?: number;
}

/**
 * The replay of a compiled step. NOTE: a function of its own, so the closures it returns hold only
 * what a replay needs, not the recording (whose eager buffers the garbage collector may then free).
 */
function planReplay(
  compiled: CompiledStep,
  hooks: readonly Hook[],
  guardFlags: readonly PlanBinding[],
  outputs: readonly PlannedOutput[],
  description: string,
): Replay {
  return {
    native: true,
    description,
    ...(compiled.profile ? { profile: () => compiled.profile?.() ?? [] } : {}),
    run(inputs) {
      const ok = runWithHooks(hooks, () => {
        compiled.run(inputs.map((t) => t.data));
        return (g) => ((compiled.storage(guardFlags[g] as PlanBinding) as Int32Array)[0] ?? 0) !== 0;
      });
      if (!ok) return null;
      const result: Record<string, Tensor> = {};
      for (const o of outputs) {
        result[o.name] = o.binding
          ? new Tensor(compiled.storage(o.binding) as Storage, o.shape, false)
          : (inputs[o.input as number] as Tensor);
      }
      return result;
    },
  };
}

/** How a loop replay finds a value's buffer: a temporary it made, an input, or a fixed buffer. */
type Slot = { readonly temp: true } | { readonly input: number } | { readonly fixed: KernelBuffer };

/** The loop replay: the recorded kernel calls on the backend's table, nothing else. */
export function loopReplay(recording: Recording, backend: Backend): Replay {
  const slots = recording.values.map((value): Slot => {
    if (value.kind === 'temp') return { temp: true };
    if (value.kind === 'input') return { input: value.input as number };
    // A constant gets a private copy of its snapshot (the original went back to the pool).
    return { fixed: value.kind === 'constant' ? constantCopy(value, backend) : value.buffer };
  });
  // Temporaries released after their last call (outputs are handed to the caller).
  const releaseAfter: number[][] = recording.calls.map(() => []);
  for (const value of recording.values) {
    if (value.kind === 'temp' && !value.output && value.lastCall >= 0)
      releaseAfter[value.lastCall]?.push(value.id);
  }
  const outputIds = new Set(recording.outputs.map((o) => o.value));
  const guards = recording.guards.map((g) => ({ flag: g.flag, callStart: g.callStart, callEnd: g.callEnd }));
  return kernelLoop(
    backend,
    recording.calls,
    slots,
    releaseAfter,
    outputIds,
    guards,
    recording.hooks,
    recording.outputs,
  );
}

/** The loop replay's run (a function of its own: see planReplay). */
function kernelLoop(
  backend: Backend,
  calls: readonly Call[],
  slots: readonly Slot[],
  releaseAfter: readonly (readonly number[])[],
  outputIds: ReadonlySet<number>,
  guards: readonly Pick<Guard, 'flag' | 'callStart' | 'callEnd'>[],
  hooks: readonly Hook[],
  outputs: Recording['outputs'],
): Replay {
  const kernels = backend.kernels as unknown as Record<string, (...args: unknown[]) => unknown>;
  const guardAt = new Map<number, number[]>();
  guards.forEach((g, index) => guardAt.set(g.callStart, [...(guardAt.get(g.callStart) ?? []), index]));
  return {
    native: false,
    description: `a loop over ${calls.length} kernels`,
    run(inputs) {
      const live: (KernelBuffer | undefined)[] = new Array<KernelBuffer | undefined>(slots.length);
      const made: number[] = [];
      const guardRan = guards.map(() => false);
      const bufferOf = (id: number): KernelBuffer => {
        const slot = slots[id] as Slot;
        if ('input' in slot) return (inputs[slot.input] as Tensor).data;
        if ('fixed' in slot) return slot.fixed;
        const buffer = live[id];
        if (!buffer) throw new Error('internal: replay reads a value it has not made');
        return buffer;
      };
      const ok = runWithHooks(hooks, () => {
        for (let c = 0; c < calls.length; c++) {
          for (const g of guardAt.get(c) ?? []) {
            const guard = guards[g] as (typeof guards)[number];
            guardRan[g] = (bufferOf(guard.flag)[0] as number) !== 0;
            if (!guardRan[g]) c = guard.callEnd;
          }
          if (c >= calls.length) break;
          const call = calls[c] as Call;
          const args = call.args.map((ref) => {
            if ('value' in ref) return bufferOf(ref.value);
            if ('list' in ref) return ref.list.map(bufferOf);
            if ('attr' in ref) return ref.attr;
            return null;
          });
          const result = (kernels[call.kernel] as (...a: unknown[]) => unknown).apply(kernels, args);
          flatten(result).forEach((buffer, position) => {
            const id = call.outputs[position] as number;
            live[id] = buffer;
            made.push(id);
          });
          for (const id of releaseAfter[c] ?? []) {
            const buffer = live[id];
            if (buffer) backend.release(buffer as Storage);
            live[id] = undefined;
          }
        }
        return (g) => guardRan[g] ?? false;
      });
      // Values a skipped section would have consumed go back to the pool too.
      for (const id of made) {
        const buffer = live[id];
        if (buffer && !outputIds.has(id)) {
          backend.release(buffer as Storage);
          live[id] = undefined;
        }
      }
      if (!ok) return null;
      const result: Record<string, Tensor> = {};
      for (const o of outputs) {
        const slot = slots[o.value] as Slot;
        result[o.name] =
          'temp' in slot
            ? new Tensor(live[o.value] as Storage, o.shape)
            : new Tensor(bufferOf(o.value) as Storage, o.shape, false);
      }
      return result;
    },
  };
}

// ---- helpers ----

/** A copy of a constant's snapshot in storage the backend allocated (never released). */
function constantCopy(value: Value, backend: Backend): KernelBuffer {
  const snapshot = value.snapshot as Uint8Array;
  const type = dtypeOf(value.buffer);
  const length = value.buffer.length;
  let storage: KernelBuffer;
  if (type === 'uint32') {
    // Int32 storage seen as uint32 words, where the backend placed it (wasm: inside one memory).
    const words = backend.alloc('int32', length);
    storage = new Uint32Array(words.buffer, words.byteOffset, length);
  } else storage = backend.alloc(type, length);
  new Uint8Array(storage.buffer, storage.byteOffset, storage.byteLength).set(snapshot);
  return storage;
}

/** The backend dtype a buffer is allocated as (Dropout's uint32 words live in int32 storage). */
function storageDtype(buffer: KernelBuffer): DType {
  const dtype = dtypeOf(buffer);
  return dtype === 'uint32' ? 'int32' : dtype;
}
