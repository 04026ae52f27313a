// AdamUpdate and SgdUpdate on wasm (wasm/src/optim.c), in place, float64 arithmetic as the js
// kernels (same operations in the same order). The caller routes anything but float32 to js. The
// learning rate and step count are read from the schedule buffer [lr, step] at each call (a
// replayed step rewrites it between calls).
import type { AdamAttrs, FloatStorage, SgdAttrs } from '../kernels.js';
import type { Frame } from './heap.js';
import { withFrame, type WasmContext } from './context.js';

/** True when every storage of every list is float32 (else the js kernel runs). */
export function allFloat32(...lists: (readonly FloatStorage[])[]): boolean {
  return lists.every((list) => list.every((s) => s instanceof Float32Array));
}

/** The pointer table optim.c reads: p, g, m, v, length per parameter (0 for an absent m or v). */
function table(
  f: Frame,
  params: readonly FloatStorage[],
  grads: readonly FloatStorage[],
  m: readonly FloatStorage[] | null,
  v: readonly FloatStorage[] | null,
): number {
  const entries: number[] = [];
  params.forEach((p, t) => {
    entries.push(
      f.inout(p),
      f.input(grads[t] as FloatStorage),
      m ? f.inout(m[t] as FloatStorage) : 0,
      v ? f.inout(v[t] as FloatStorage) : 0,
      p.length,
    );
  });
  return f.int32s(entries);
}

/** Returns false when the js kernel must run (its checks and errors, or float64). */
export function adamUpdate(
  ctx: WasmContext,
  params: readonly FloatStorage[],
  grads: readonly FloatStorage[],
  m: readonly FloatStorage[],
  v: readonly FloatStorage[],
  schedule: Float64Array,
  attrs: AdamAttrs,
): boolean {
  const lr = schedule[0] as number;
  const step = schedule[1] as number;
  if (!allFloat32(params, grads, m, v) || !(step >= 1)) return false;
  if (grads.length !== params.length || m.length !== params.length || v.length !== params.length)
    return false;
  const same = params.every(
    (p, t) => grads[t]!.length === p.length && m[t]!.length === p.length && v[t]!.length === p.length,
  );
  if (!same) return false;
  const { beta1, beta2, epsilon, weightDecay, decoupledWeightDecay } = attrs;
  // As src/backend/js/adam-update.ts.
  const stepSize = (lr * Math.sqrt(1 - Math.pow(beta2, step))) / (1 - Math.pow(beta1, step));
  const l2 = decoupledWeightDecay ? 0 : weightDecay;
  const decay = decoupledWeightDecay ? 1 - lr * weightDecay : 1;
  withFrame(ctx, (f) => {
    ctx.exports.adam_update(
      table(f, params, grads, m, v),
      params.length,
      stepSize,
      l2,
      decay,
      beta1,
      beta2,
      epsilon,
    );
  });
  return true;
}

export function sgdUpdate(
  ctx: WasmContext,
  params: readonly FloatStorage[],
  grads: readonly FloatStorage[],
  velocity: readonly FloatStorage[],
  schedule: Float64Array,
  attrs: SgdAttrs,
): boolean {
  const { momentum, nesterov, weightDecay } = attrs;
  const lr = schedule[0] as number;
  if (!allFloat32(params, grads, velocity) || grads.length !== params.length) return false;
  if (momentum !== 0 && velocity.length !== params.length) return false;
  const same = params.every(
    (p, t) => grads[t]!.length === p.length && (momentum === 0 || velocity[t]!.length === p.length),
  );
  if (!same) return false;
  withFrame(ctx, (f) => {
    // NOTE: momentum 0 passes no velocity (it may be empty); optim.c does not read it then.
    const pointers = table(f, params, grads, momentum === 0 ? null : velocity, null);
    ctx.exports.sgd_update(pointers, params.length, lr, momentum, nesterov ? 1 : 0, weightDecay);
  });
  return true;
}
