// AllFinite: (1) int32, 1 when every value of every buffer is finite, else 0. The guard of a
// training step: the update runs only when the loss and every gradient are finite.
import type { FloatStorage } from '../kernels.js';
import type { Allocator } from './alloc.js';

export function allFinite(alloc: Allocator, xs: readonly FloatStorage[]): Int32Array {
  const flag = alloc('int32', 1);
  flag[0] = 1;
  for (const data of xs) {
    // NOTE: v * 0 is (-)0 for a finite v and NaN for NaN and ±Infinity, so one branch-free sum
    // answers for the whole buffer (about twice as fast as Number.isFinite per element).
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum += (data[i] as number) * 0;
    if (sum !== 0) {
      flag[0] = 0;
      break;
    }
  }
  return flag;
}
