// The training-step kernels with no oneDNN primitive (C++ loops; native/src/fused.cc): dropout
// with its xoshiro128** stream, the finite check that guards an update, and the fused optimizer
// updates over every parameter in one op.
import type { FloatStorage, Kernels } from '../../kernels.js';
import { Op } from '../binding.js';
import { allF32, f32, type NativeContext } from '../context.js';

type TrainingKernels = Pick<Kernels, 'Dropout' | 'AllFinite' | 'AdamUpdate' | 'SgdUpdate'>;

/** The schedule buffer of an optimizer update: float64 with at least `length` values. */
function scheduleOf(
  schedule: Float64Array,
  length: number,
  kernel: 'AdamUpdate' | 'SgdUpdate',
): Float64Array {
  if (!(schedule instanceof Float64Array) || schedule.length < length) {
    throw new Error(`native backend: ${kernel} expects a float64 schedule of ${length} values`);
  }
  return schedule;
}

/** Every list as long as the first, each entry as long as the parameter it belongs to. */
function checkLists(
  kernel: string,
  params: readonly FloatStorage[],
  lists: readonly (readonly FloatStorage[])[],
): void {
  for (const list of lists) {
    if (list.length !== params.length) {
      throw new Error(`native backend: ${kernel}: parameter and state lists differ in length`);
    }
    list.forEach((x, k) => {
      if (x.length !== (params[k] as FloatStorage).length) {
        throw new Error(`native backend: ${kernel}: parameter ${k} and its gradient/state differ in length`);
      }
    });
  }
}

export function trainingKernels(ctx: NativeContext): TrainingKernels {
  return {
    Dropout(x, state, attrs) {
      const input = f32(x, 'Dropout');
      if (!(attrs.rate >= 0 && attrs.rate < 1)) {
        throw new Error(`native backend: Dropout rate must be in [0, 1), found ${attrs.rate}`);
      }
      if (!(state instanceof Uint32Array) || state.length !== 4 || state.every((word) => word === 0)) {
        throw new Error(
          'native backend: Dropout state must be a Uint32Array of 4 xoshiro128** words, not all zero',
        );
      }
      const y = ctx.float32(input.length);
      const mask = ctx.float32(input.length);
      ctx.emit(Op.Dropout, [input, y, mask, state], [input.length], 1, [1 - attrs.rate]);
      return { y, mask };
    },
    AllFinite(xs) {
      const flag = ctx.int32(1);
      const inputs = allF32(xs, 'AllFinite');
      const p = ctx.packer.start().push(inputs.length);
      for (const x of inputs) p.push(x.length);
      ctx.emit(Op.AllFinite, [flag, ...inputs], p.packed, p.length);
      return flag;
    },
    AdamUpdate(params, grads, m, v, schedule, attrs) {
      const k = 'AdamUpdate';
      checkLists(k, params, [grads, m, v]);
      const p = ctx.packer.start().push(params.length);
      for (const x of params) p.push(x.length);
      p.push(attrs.decoupledWeightDecay ? 1 : 0);
      ctx.emit(
        Op.AdamUpdate,
        [
          scheduleOf(schedule, 2, k),
          ...allF32(params, k),
          ...allF32(grads, k),
          ...allF32(m, k),
          ...allF32(v, k),
        ],
        p.packed,
        p.length,
        [attrs.beta1, attrs.beta2, attrs.epsilon, attrs.weightDecay],
      );
    },
    SgdUpdate(params, grads, velocity, schedule, attrs) {
      const k = 'SgdUpdate';
      checkLists(k, params, attrs.momentum !== 0 ? [grads, velocity] : [grads]);
      const p = ctx.packer.start().push(params.length);
      for (const x of params) p.push(x.length);
      p.push(attrs.nesterov ? 1 : 0);
      ctx.emit(
        Op.SgdUpdate,
        [
          scheduleOf(schedule, 1, k),
          ...allF32(params, k),
          ...allF32(grads, k),
          ...(attrs.momentum !== 0 ? allF32(velocity, k) : []),
        ],
        p.packed,
        p.length,
        [attrs.momentum, attrs.weightDecay],
      );
    },
  };
}
