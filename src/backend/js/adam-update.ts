// AdamUpdate, in place over every parameter (Keras form), schedule [lr, t], step t 1-based:
//   g' = g + weightDecay * p                      (L2; only when not decoupled)
//   m = beta1 m + (1 - beta1) g';  v = beta2 v + (1 - beta2) g'^2
//   p -= lr * weightDecay * p                     (AdamW; before the Adam step)
//   p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon)
import type { AdamAttrs, FloatStorage } from '../kernels.js';
import type { Allocator } from './alloc.js';

export function adamUpdate(
  _alloc: Allocator,
  params: readonly FloatStorage[],
  grads: readonly FloatStorage[],
  m: readonly FloatStorage[],
  v: readonly FloatStorage[],
  schedule: Float64Array,
  attrs: AdamAttrs,
): void {
  const { beta1, beta2, epsilon, weightDecay, decoupledWeightDecay } = attrs;
  const lr = schedule[0] as number;
  const step = schedule[1] as number;
  if (grads.length !== params.length || m.length !== params.length || v.length !== params.length) {
    throw new Error(
      `AdamUpdate: expected as many grads, m and v as params (${params.length}), found ${grads.length}, ${m.length}, ${v.length}`,
    );
  }
  if (!(step >= 1)) throw new Error(`AdamUpdate: step is 1-based, found ${step}`);
  const stepSize = (lr * Math.sqrt(1 - Math.pow(beta2, step))) / (1 - Math.pow(beta1, step));
  const l2 = decoupledWeightDecay ? 0 : weightDecay;
  const decay = decoupledWeightDecay ? 1 - lr * weightDecay : 1;
  for (let t = 0; t < params.length; t++) {
    const p = params[t] as FloatStorage;
    const g = grads[t] as FloatStorage;
    const mt = m[t] as FloatStorage;
    const vt = v[t] as FloatStorage;
    if (g.length !== p.length || mt.length !== p.length || vt.length !== p.length) {
      throw new Error(
        `AdamUpdate: parameter ${t} has ${p.length} elements but its grad/m/v have ${g.length}/${mt.length}/${vt.length}`,
      );
    }
    for (let i = 0; i < p.length; i++) {
      const pi = p[i] as number;
      const gi = (g[i] as number) + l2 * pi;
      const mi = beta1 * (mt[i] as number) + (1 - beta1) * gi;
      const vi = beta2 * (vt[i] as number) + (1 - beta2) * gi * gi;
      mt[i] = mi;
      vt[i] = vi;
      p[i] = pi * decay - (stepSize * mi) / (Math.sqrt(vi) + epsilon);
    }
  }
}
