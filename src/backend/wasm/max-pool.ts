// MaxPool and MaxPoolGrad on wasm (wasm/src/pool.c), split across threads by images. The workspace
// is the js backend's: flat indices into x of each window's maximum (-1 for an empty window).
import type { Storage, Window2D } from '../kernels.js';
import { checkLength, checkWindow } from '../js/im2col.js';
import { FLOPS_PER_ELEMENT, geometry, perTask, withFrame, type WasmContext } from './context.js';

/** Cells of the largest window the wasm kernel takes (MAX_WINDOW in pool.c). */
const MAX_WINDOW = 64;

/** Returns null for windows of more than MAX_WINDOW cells (the js kernel runs). */
export function maxPool(
  ctx: WasmContext,
  x: Float32Array,
  attrs: Window2D,
): { y: Float32Array; workspace: Storage } | null {
  if (attrs.KH * attrs.KW > MAX_WINDOW) return null;
  checkWindow('MaxPool', attrs);
  checkLength('MaxPool', 'x', x, attrs.N * attrs.H * attrs.W * attrs.C);
  const size = attrs.N * attrs.OH * attrs.OW * attrs.C;
  const y = ctx.alloc('float32', size);
  const workspace = ctx.alloc('int32', size);
  if (size === 0) return { y, workspace };
  withFrame(ctx, (f) => {
    const images = perTask(attrs.N, ctx.threads.threads, 1);
    const args = [f.input(x), f.output(y), f.output(workspace), f.int32s(geometry(attrs)), images];
    const work = x.length * FLOPS_PER_ELEMENT;
    ctx.threads.run('max_pool_task', args, Math.ceil(attrs.N / images), work >= ctx.minParallelFlops);
  });
  return { y, workspace };
}

/** Returns null when the js kernel should run instead (a foreign workspace: its error message). */
export function maxPoolGrad(
  ctx: WasmContext,
  dy: Float32Array,
  x: Float32Array,
  workspace: Storage,
  attrs: Window2D,
): Float32Array | null {
  if (!(workspace instanceof Int32Array) || workspace.length !== dy.length) return null;
  checkWindow('MaxPoolGrad', attrs);
  checkLength('MaxPoolGrad', 'x', x, attrs.N * attrs.H * attrs.W * attrs.C);
  checkLength('MaxPoolGrad', 'dy', dy, attrs.N * attrs.OH * attrs.OW * attrs.C);
  const dx = ctx.alloc('float32', x.length);
  if (dx.length === 0) return dx;
  withFrame(ctx, (f) => {
    const images = perTask(attrs.N, ctx.threads.threads, 1);
    const args = [f.input(dy), f.input(workspace), f.output(dx), f.int32s(geometry(attrs)), images];
    const work = x.length * FLOPS_PER_ELEMENT;
    ctx.threads.run('max_pool_grad_task', args, Math.ceil(attrs.N / images), work >= ctx.minParallelFlops);
  });
  return dx;
}
