// BatchNormMovingUpdate, in place (Keras semantics), float64 arithmetic per channel c:
//   variance = max(1 / invStd[c]^2 - epsilon, 0)            (the batch's biased variance)
//   movingMean[c] = movingMean[c] * momentum + batchMean[c] * (1 - momentum)
//   movingVariance[c] = movingVariance[c] * momentum + variance * (1 - momentum)
import type { FloatStorage } from '../kernels.js';
import type { Allocator } from './alloc.js';

export function batchNormMovingUpdate(
  _alloc: Allocator,
  movingMean: FloatStorage,
  movingVariance: FloatStorage,
  batchMean: FloatStorage,
  invStd: FloatStorage,
  attrs: { size: number; momentum: number; epsilon: number },
): void {
  const { size, momentum, epsilon } = attrs;
  for (const [name, x] of [
    ['movingMean', movingMean],
    ['movingVariance', movingVariance],
    ['batchMean', batchMean],
    ['invStd', invStd],
  ] as const) {
    if (x.length < size) {
      throw new Error(`BatchNormMovingUpdate: ${name} has ${x.length} elements, expected ${size}`);
    }
  }
  for (let c = 0; c < size; c++) {
    const s = invStd[c] as number;
    const variance = Math.max(1 / (s * s) - epsilon, 0);
    movingMean[c] = (movingMean[c] as number) * momentum + (batchMean[c] as number) * (1 - momentum);
    movingVariance[c] = (movingVariance[c] as number) * momentum + variance * (1 - momentum);
  }
}
