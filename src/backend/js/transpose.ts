// Transpose: out[i_perm[0], ..., i_perm[r-1]] = x[i_0, ..., i_{r-1}], i.e. out's axis d is x's axis
// perm[d]. Works on every dtype (float32, float64, int32).
//
// Axes that stay adjacent and in order under perm are merged first; the loop then walks out
// contiguously and x with strides, in 32x32 tiles when the last two (merged) axes swap, so both
// sides stay in cache.
import type { Shape, Storage } from '../kernels.js';
import { allocSame, type Allocator } from './alloc.js';

export function transpose(
  alloc: Allocator,
  x: Storage,
  attrs: { shape: Shape; perm: readonly number[] },
): Storage {
  const size = checkPerm(x, attrs.shape, attrs.perm);
  const out = allocSame(alloc, x, size);
  transposeInto(x, attrs.shape, attrs.perm, out);
  return out;
}

function checkPerm(x: Storage, shape: Shape, perm: readonly number[]): number {
  const rank = shape.length;
  const seen = new Set(perm);
  if (perm.length !== rank || seen.size !== rank || perm.some((p) => !(p >= 0 && p < rank))) {
    throw new Error(`Transpose: perm [${perm.join(',')}] is not a permutation of ${rank} axes`);
  }
  let size = 1;
  for (const d of shape) size *= d;
  if (x.length !== size)
    throw new Error(`Transpose: shape [${shape.join(',')}] needs ${size} elements, found ${x.length}`);
  return size;
}

/** Writes the transpose of x (shape, perm) into out (same length). Shared with the reductions. */
export function transposeInto(x: Storage, shape: Shape, perm: readonly number[], out: Storage): void {
  const size = x.length;
  if (size === 0) return;
  // Out axes merged where x's axes stay consecutive (size-1 axes ignored): fewer, longer loops.
  const groups = mergeGroups(shape, perm);
  const rank = groups.length;
  if (rank <= 1) {
    for (let i = 0; i < size; i++) out[i] = x[i] as number;
    return;
  }
  // Source stride of each merged group, and its extent.
  const extents = groups.map((g) => g.extent);
  const strides = groups.map((g) => g.stride);
  const n1 = extents[rank - 1] as number;
  const s1 = strides[rank - 1] as number;
  const n0 = extents[rank - 2] as number;
  const s0 = strides[rank - 2] as number;
  const outerCount = size / (n0 * n1);
  const index = new Array<number>(Math.max(rank - 2, 0)).fill(0);
  let base = 0;
  let o = 0;
  const TILE = 32;
  for (let outer = 0; outer < outerCount; outer++) {
    // The last two merged axes: a (n0 x n1) block of out read from x with strides (s0, s1).
    if (s1 === 1) {
      for (let i = 0; i < n0; i++) {
        const src = base + i * s0;
        for (let j = 0; j < n1; j++) out[o + j] = x[src + j] as number;
        o += n1;
      }
    } else {
      for (let i0 = 0; i0 < n0; i0 += TILE) {
        const i1 = Math.min(n0, i0 + TILE);
        for (let j0 = 0; j0 < n1; j0 += TILE) {
          const j1 = Math.min(n1, j0 + TILE);
          for (let i = i0; i < i1; i++) {
            const src = base + i * s0;
            const dst = o + i * n1;
            for (let j = j0; j < j1; j++) out[dst + j] = x[src + j * s1] as number;
          }
        }
      }
      o += n0 * n1;
    }
    for (let d = rank - 3; d >= 0; d--) {
      const i = (index[d] as number) + 1;
      if (i < (extents[d] as number)) {
        index[d] = i;
        base += strides[d] as number;
        break;
      }
      index[d] = 0;
      base -= (i - 1) * (strides[d] as number);
    }
  }
}

interface Group {
  extent: number;
  /** Stride in x of the group's last (fastest) axis. */
  stride: number;
}

/** Out axes in order, merged where x's axes are consecutive; size-1 axes dropped. */
function mergeGroups(shape: Shape, perm: readonly number[]): Group[] {
  const xStrides = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    xStrides[d] = stride;
    stride *= shape[d] as number;
  }
  const groups: Group[] = [];
  let lastAxis = -2;
  for (const p of perm) {
    const extent = shape[p] as number;
    if (extent === 1) continue;
    const prev = groups[groups.length - 1];
    // Consecutive in x once size-1 axes between them are ignored: stride of prev = extent * stride.
    if (prev && prev.stride === extent * (xStrides[p] as number) && p > lastAxis) {
      prev.extent *= extent;
      prev.stride = xStrides[p] as number;
    } else groups.push({ extent, stride: xStrides[p] as number });
    lastAxis = p;
  }
  return groups;
}
