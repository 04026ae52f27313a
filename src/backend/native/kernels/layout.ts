// Layout kernels on the addon: Transpose (a oneDNN reorder), Concat, Slice, Pad, ArgMax and the
// embedding lookup Gather with its gradient (C++ copies; native/src/layout.cc, fused.cc).
import type { Kernels } from '../../kernels.js';
import { Op } from '../binding.js';
import { f32, sizeOf, words, type NativeContext } from '../context.js';

type LayoutKernels = Pick<
  Kernels,
  'Transpose' | 'Concat' | 'Slice' | 'Pad' | 'ArgMax' | 'Gather' | 'GatherGrad'
>;

export function layoutKernels(ctx: NativeContext): LayoutKernels {
  const like = (x: Float32Array | Int32Array, n: number): Float32Array | Int32Array =>
    x instanceof Int32Array ? ctx.int32(n) : ctx.float32(n);
  const indicesOf = (indices: Int32Array, kernel: 'Gather' | 'GatherGrad'): Int32Array => {
    if (!(indices instanceof Int32Array)) {
      throw new Error(`native backend: ${kernel} expects int32 indices (an Int32Array)`);
    }
    return indices;
  };

  return {
    Transpose(x, attrs) {
      const input = words(x, 'Transpose', sizeOf(attrs.shape));
      const out = like(input, sizeOf(attrs.shape));
      const p = ctx.packer
        .start()
        .push(input instanceof Int32Array ? 1 : 0)
        .shape(attrs.shape)
        .list(attrs.perm);
      ctx.emit(Op.Transpose, [input, out], p.packed, p.length);
      return out;
    },
    Concat(xs, attrs) {
      const first = xs[0];
      if (first === undefined) throw new Error('native backend: Concat needs at least one input');
      const inputs = xs.map((x, i) => words(x, 'Concat', sizeOf(attrs.shapes[i] ?? [])));
      const rank = attrs.shapes[0]?.length ?? 0;
      const p = ctx.packer.start().push(xs.length).push(rank);
      let total = 0;
      for (const shape of attrs.shapes) {
        p.list(shape);
        total += sizeOf(shape);
      }
      p.push(attrs.axis);
      const out = like(words(first, 'Concat'), total);
      ctx.emit(Op.Concat, [out, ...inputs], p.packed, p.length);
      return out;
    },
    Slice(x, attrs) {
      const input = words(x, 'Slice', sizeOf(attrs.shape));
      const out = like(input, sizeOf(attrs.size));
      const p = ctx.packer.start().shape(attrs.shape).list(attrs.begin).list(attrs.size);
      ctx.emit(Op.Slice, [input, out], p.packed, p.length);
      return out;
    },
    Pad(x, attrs) {
      const p = ctx.packer.start().shape(attrs.shape);
      let size = 1;
      attrs.shape.forEach((d, i) => {
        const [before, after] = attrs.paddings[i] ?? [0, 0];
        size *= d + before + after;
      });
      for (const [before] of attrs.paddings) p.push(before);
      for (const [, after] of attrs.paddings) p.push(after);
      const out = ctx.float32(size);
      ctx.emit(Op.Pad, [f32(x, 'Pad', sizeOf(attrs.shape)), out], p.packed, p.length, [attrs.value]);
      return out;
    },
    ArgMax(x, attrs) {
      const { shape, axis } = attrs;
      const outer = sizeOf(shape.slice(0, axis));
      const inner = sizeOf(shape.slice(axis + 1));
      const out = ctx.int32(outer * inner);
      ctx.emit(Op.ArgMax, [f32(x, 'ArgMax', sizeOf(shape)), out], [outer, shape[axis] ?? 1, inner]);
      return out;
    },
    Gather(table, indices, attrs) {
      const ids = indicesOf(indices, 'Gather');
      const out = ctx.float32(ids.length * attrs.width);
      ctx.emit(
        Op.Gather,
        [f32(table, 'Gather', attrs.rows * attrs.width), ids, out],
        [attrs.rows, attrs.width, ids.length],
      );
      return out;
    },
    GatherGrad(dy, indices, attrs) {
      const ids = indicesOf(indices, 'GatherGrad');
      const dtable = ctx.float32(attrs.rows * attrs.width);
      ctx.emit(
        Op.GatherGrad,
        [f32(dy, 'GatherGrad', ids.length * attrs.width), ids, dtable],
        [attrs.rows, attrs.width, ids.length],
      );
      return dtable;
    },
  };
}
