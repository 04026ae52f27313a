// Native replay of recorded steps (the StepLowering of src/backend/kernels.ts): while a step is
// recorded every kernel's ops are logged (NativeContext.emit); compile() turns the lowered step
// into one native plan (native/src/plan.cc), so a replayed step is one addon call.
//
// The plan's buffer table: the step's inputs first (rebound each run), then every fixed buffer
// (weights, optimizer state, constants; native memory, kept alive by the plan object) and the
// step's temporary buffers (taken from the pool). Guards become SkipUnless ops in front of the ops
// they cover.
import type { CompiledStep, KernelBuffer, LoweredStep, PlanBinding, StepLowering } from '../kernels.js';
import { Op, ProgramWriter, type NativeAddon, type NativeBuffer, type NativePlanHandle } from './binding.js';
import { NativeOp, type NativeContext } from './context.js';

export function nativeLowering(ctx: NativeContext): StepLowering {
  return {
    openLog: () => ctx.openLog(),
    closeLog: () => ctx.closeLog(),
    compile: (step) => compileStep(ctx, step),
  };
}

/** A temp slot in the buffer table, made into storage when the plan is created. */
type TempSlot = { readonly temp: number };

/**
 * The program and buffer table of a lowered step. NOTE: nothing here keeps the recorded ops (or
 * the eager buffers they name) alive once it returns.
 */
function compileStep(ctx: NativeContext, step: LoweredStep): CompiledStep {
  const table: (NativeBuffer | TempSlot | null)[] = new Array<null>(step.inputCount).fill(null);
  const tableIndex = new Map<KernelBuffer | number, number>();
  const indexOf = (binding: PlanBinding): number => {
    if (binding.kind === 'input') {
      if (binding.index >= step.inputCount)
        throw new Error(`internal: input ${binding.index} of ${step.inputCount}`);
      return binding.index;
    }
    if (binding.kind === 'temp' && !(binding.index >= 0 && binding.index < step.temps.length)) {
      throw new Error(`internal: temp ${binding.index} of ${step.temps.length}`);
    }
    const key = binding.kind === 'fixed' ? binding.buffer : binding.index;
    let index = tableIndex.get(key);
    if (index === undefined) {
      index = table.length;
      table.push(binding.kind === 'fixed' ? (binding.buffer as NativeBuffer) : { temp: binding.index });
      tableIndex.set(key, index);
    }
    return index;
  };

  // Final program positions: a guard at lowered op g is written just before op g.
  const guards = [...step.guards].sort((a, b) => a.op - b.op);
  const guardsBefore = (op: number): number => guards.filter((g) => g.op < op).length;
  const writer = new ProgramWriter().reset();
  let nextGuard = 0;
  step.ops.forEach((lowered, i) => {
    for (
      ;
      nextGuard < guards.length && (guards[nextGuard] as (typeof guards)[number]).op === i;
      nextGuard++
    ) {
      const guard = guards[nextGuard] as (typeof guards)[number];
      const guardPosition = i + nextGuard;
      const end = guard.op + guard.count;
      const skip = end + guardsBefore(end) - guardPosition - 1;
      writer.op(Op.SkipUnless, [flagBuffer], [skip], 1, [], () => indexOf(guard.flag));
    }
    if (!(lowered instanceof NativeOp))
      throw new Error('internal: a lowered op the native backend did not log');
    const bindings = step.bindings[i] ?? [];
    writer.op(
      lowered.code,
      lowered.buffers,
      lowered.ints,
      lowered.ints.length,
      lowered.floats,
      (_, position) => {
        const binding = bindings[position];
        if (!binding) throw new Error(`internal: op ${i} buffer ${position} has no binding`);
        return indexOf(binding);
      },
    );
  });
  if (nextGuard < guards.length) throw new Error('internal: a guard after the last op of a step');
  // The temps come from the pool: right after a recording it holds the eager step's buffers, of
  // these very sizes, so a plan costs no new memory.
  const temps = step.temps.map((t) => ctx.pool.alloc(t.dtype, t.length) as NativeBuffer);
  const buffers = table.map((entry) =>
    entry === null || ArrayBuffer.isView(entry) ? entry : (temps[entry.temp] as NativeBuffer),
  );
  const handle = ctx.addon.planCreate(writer.program, writer.floats, buffers, step.inputCount);
  return new NativePlan(ctx.addon, handle, buffers, temps);
}

/** A compiled step: the addon's plan and the buffers it points into (kept alive here). */
class NativePlan implements CompiledStep {
  private readonly inputs: NativeBuffer[] = [];

  constructor(
    private readonly addon: NativeAddon,
    private readonly handle: NativePlanHandle,
    /** The plan's buffer table: what its pointers point into. */
    readonly buffers: readonly (NativeBuffer | null)[],
    private readonly temps: readonly NativeBuffer[],
  ) {}

  run(inputs: readonly KernelBuffer[]): void {
    this.inputs.length = 0;
    for (const input of inputs) this.inputs.push(input as NativeBuffer);
    this.addon.planRun(this.handle, this.inputs);
  }

  storage(binding: PlanBinding): KernelBuffer {
    if (binding.kind === 'fixed') return binding.buffer;
    if (binding.kind === 'temp') return this.temps[binding.index] as NativeBuffer;
    throw new Error('internal: the storage of a step input is the caller’s');
  }

  profile(): { op: string; seconds: number }[] {
    const times = this.addon.planProfile(this.handle);
    const names = new Map<number, string>(Object.entries(Op).map(([name, code]) => [code, name]));
    const out: { op: string; seconds: number }[] = [];
    for (let i = 0; i < times.length; i += 2) {
      out.push({ op: names.get(times[i] as number) ?? String(times[i]), seconds: times[i + 1] as number });
    }
    return out;
  }
}

/** A placeholder the writer maps through the guard's own index function. */
const flagBuffer = new Int32Array(1);
