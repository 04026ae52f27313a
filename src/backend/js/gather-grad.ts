// GatherGrad: dtable (rows, width) = sum over i of dy[i] (a row of width) added into row
// indices[i]; rows no index names are 0. dy (n, width), indices (n) int32.
// NOTE: sums in dtable's own dtype, in index order (as PyTorch's CPU embedding backward does): a
// float64 scratch table would cost rows x width x 8 bytes, large for a big vocabulary.
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkGather } from './gather.js';

export function gatherGrad(
  alloc: Allocator,
  dy: FloatStorage,
  indices: Int32Array,
  attrs: { rows: number; width: number },
): FloatStorage {
  const { rows, width } = attrs;
  checkGather('GatherGrad', dy, 'dy', attrs, indices, indices.length * width);
  const dtable = allocLike(alloc, dy, rows * width);
  dtable.fill(0);
  for (let i = 0; i < indices.length; i++) {
    const to = (indices[i] as number) * width;
    const from = i * width;
    for (let j = 0; j < width; j++) dtable[to + j] = (dtable[to + j] as number) + (dy[from + j] as number);
  }
  return dtable;
}
