// Batched matrix product on the addon (oneDNN matmul; native/src/matmul.cc): transposes are strides,
// nothing is copied.
import type { Kernels } from '../../kernels.js';
import { Op } from '../binding.js';
import { f32, type NativeContext } from '../context.js';

export function matmulKernels(ctx: NativeContext): Pick<Kernels, 'MatMul'> {
  return {
    MatMul(a, b, attrs) {
      const { batch, m, k, n } = attrs;
      const out = ctx.float32(batch * m * n);
      ctx.emit(
        Op.MatMul,
        [f32(a, 'MatMul', batch * m * k), f32(b, 'MatMul', batch * k * n), out],
        [
          batch,
          m,
          k,
          n,
          attrs.transposeA ? 1 : 0,
          attrs.transposeB ? 1 : 0,
          attrs.precision === 'bfloat16' ? 1 : 0,
        ],
      );
      return out;
    },
  };
}
