// MaxPoolGrad: dx (N,H,W,C) gets each dy routed to its window's maximum, using the workspace
// MaxPool returned (flat indices into x; -1 for an empty window). x is not read.
import type { FloatStorage, Storage, Window2D } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkLength, checkWindow } from './im2col.js';

export function maxPoolGrad(
  alloc: Allocator,
  dy: FloatStorage,
  x: FloatStorage,
  workspace: Storage,
  attrs: Window2D,
): FloatStorage {
  const { N, H, W, C, OH, OW } = attrs;
  checkWindow('MaxPoolGrad', attrs);
  checkLength('MaxPoolGrad', 'x', x, N * H * W * C);
  checkLength('MaxPoolGrad', 'dy', dy, N * OH * OW * C);
  if (!(workspace instanceof Int32Array) || workspace.length !== dy.length) {
    throw new Error(
      "MaxPoolGrad: the workspace must be the Int32Array that this backend's MaxPool returned for the same attrs",
    );
  }
  const dx = allocLike(alloc, dy, x.length);
  dx.fill(0);
  for (let i = 0; i < dy.length; i++) {
    const at = workspace[i] as number;
    if (at >= 0) dx[at] = (dx[at] as number) + (dy[i] as number);
  }
  return dx;
}
