// Sum on wasm (wasm/src/eltwise.c sum_axis) when the reduced axes are contiguous (leading, trailing
// or a middle run: the bias gradients), in float64 like the js kernel; null otherwise (js runs).
import type { Shape } from '../kernels.js';
import { planReduce } from '../js/reduce-plan.js';
import { withFrame, type WasmContext } from './context.js';

export function sum(
  ctx: WasmContext,
  x: Float32Array,
  attrs: { shape: Shape; axes: readonly number[] },
): Float32Array | null {
  const { axes } = attrs;
  const first = axes[0];
  const last = axes[axes.length - 1];
  if (first === undefined || last === undefined || last - first + 1 !== axes.length) return null;
  // Validates shape and axes with the js backend's messages; contiguous axes are never transposed.
  const { outer, reduce, inner } = planReduce('Sum', x, attrs.shape, axes);
  const out = ctx.alloc('float32', outer * inner);
  if (out.length === 0) return out;
  withFrame(ctx, (f) => {
    ctx.exports.sum_axis(f.input(x), outer, reduce, inner, f.output(out), f.scratch(8 * inner));
  });
  return out;
}
