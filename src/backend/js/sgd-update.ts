// SgdUpdate, in place over every parameter (Keras form; the velocity carries the learning rate),
// lr from the schedule [lr]:
//   g' = g + weightDecay * p
//   momentum 0:  p -= lr * g'                      (velocity may be empty)
//   otherwise:   velocity = momentum * velocity - lr * g'
//                p += velocity                                  (plain)
//                p += momentum * velocity - lr * g'             (Nesterov)
import type { FloatStorage, SgdAttrs } from '../kernels.js';
import type { Allocator } from './alloc.js';

export function sgdUpdate(
  _alloc: Allocator,
  params: readonly FloatStorage[],
  grads: readonly FloatStorage[],
  velocity: readonly FloatStorage[],
  schedule: Float64Array,
  attrs: SgdAttrs,
): void {
  const { momentum, nesterov, weightDecay } = attrs;
  const lr = schedule[0] as number;
  if (grads.length !== params.length) {
    throw new Error(`SgdUpdate: expected one grad per param (${params.length}), found ${grads.length}`);
  }
  if (momentum !== 0 && velocity.length !== params.length) {
    throw new Error(
      `SgdUpdate: momentum ${momentum} needs one velocity per param (${params.length}), found ${velocity.length}`,
    );
  }
  for (let t = 0; t < params.length; t++) {
    const p = params[t] as FloatStorage;
    const g = grads[t] as FloatStorage;
    if (g.length !== p.length)
      throw new Error(`SgdUpdate: parameter ${t} has ${p.length} elements, its grad ${g.length}`);
    if (momentum === 0) {
      for (let i = 0; i < p.length; i++) {
        const pi = p[i] as number;
        p[i] = pi - lr * ((g[i] as number) + weightDecay * pi);
      }
      continue;
    }
    const vel = velocity[t] as FloatStorage;
    if (vel.length !== p.length)
      throw new Error(`SgdUpdate: parameter ${t} has ${p.length} elements, its velocity ${vel.length}`);
    for (let i = 0; i < p.length; i++) {
      const pi = p[i] as number;
      const step = lr * ((g[i] as number) + weightDecay * pi);
      const vi = momentum * (vel[i] as number) - step;
      vel[i] = vi;
      p[i] = nesterov ? pi + momentum * vi - step : pi + vi;
    }
  }
}
