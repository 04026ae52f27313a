// Batch and layer normalisation on the addon (oneDNN; native/src/norm.cc), and batch norm's
// moving-statistics update (a C++ loop).
import type { Kernels } from '../../kernels.js';
import { Op } from '../binding.js';
import { f32, type NativeContext } from '../context.js';

type NormKernels = Pick<
  Kernels,
  | 'BatchNorm'
  | 'BatchNormGrad'
  | 'BatchNormInference'
  | 'BatchNormMovingUpdate'
  | 'LayerNorm'
  | 'LayerNormGrad'
>;

export function normKernels(ctx: NativeContext): NormKernels {
  return {
    BatchNorm(x, gamma, beta, attrs) {
      const { outer, size } = attrs;
      const y = ctx.float32(outer * size);
      const mean = ctx.float32(size);
      const invStd = ctx.float32(size);
      const k = 'BatchNorm';
      ctx.emit(
        Op.BatchNorm,
        [f32(x, k, outer * size), f32(gamma, k, size), f32(beta, k, size), y, mean, invStd],
        [outer, size],
        2,
        [attrs.epsilon],
      );
      return { y, mean, invStd };
    },
    BatchNormGrad(dy, x, gamma, mean, invStd, attrs) {
      const { outer, size } = attrs;
      const dx = ctx.float32(outer * size);
      const dgamma = ctx.float32(size);
      const dbeta = ctx.float32(size);
      const k = 'BatchNormGrad';
      ctx.emit(
        Op.BatchNormGrad,
        [
          f32(dy, k, outer * size),
          f32(x, k, outer * size),
          f32(gamma, k, size),
          f32(mean, k, size),
          f32(invStd, k, size),
          dx,
          dgamma,
          dbeta,
        ],
        [outer, size],
        2,
        [attrs.epsilon],
      );
      return { dx, dgamma, dbeta };
    },
    BatchNormInference(x, gamma, beta, mean, variance, attrs) {
      const { outer, size } = attrs;
      const y = ctx.float32(outer * size);
      const k = 'BatchNormInference';
      ctx.emit(
        Op.BatchNormInference,
        [
          f32(x, k, outer * size),
          f32(gamma, k, size),
          f32(beta, k, size),
          f32(mean, k, size),
          f32(variance, k, size),
          y,
        ],
        [outer, size],
        2,
        [attrs.epsilon],
      );
      return y;
    },
    BatchNormMovingUpdate(movingMean, movingVariance, batchMean, invStd, attrs) {
      const k = 'BatchNormMovingUpdate';
      const { size } = attrs;
      ctx.emit(
        Op.BatchNormMovingUpdate,
        [
          f32(movingMean, k, size),
          f32(movingVariance, k, size),
          f32(batchMean, k, size),
          f32(invStd, k, size),
        ],
        [size],
        1,
        [attrs.momentum, attrs.epsilon],
      );
    },
    LayerNorm(x, gamma, beta, attrs) {
      const { outer, size } = attrs;
      const y = ctx.float32(outer * size);
      const mean = ctx.float32(outer);
      const invStd = ctx.float32(outer);
      const k = 'LayerNorm';
      ctx.emit(
        Op.LayerNorm,
        [f32(x, k, outer * size), f32(gamma, k, size), f32(beta, k, size), y, mean, invStd],
        [outer, size],
        2,
        [attrs.epsilon],
      );
      return { y, mean, invStd };
    },
    LayerNormGrad(dy, x, gamma, mean, invStd, attrs) {
      const { outer, size } = attrs;
      const dx = ctx.float32(outer * size);
      const dgamma = ctx.float32(size);
      const dbeta = ctx.float32(size);
      const k = 'LayerNormGrad';
      ctx.emit(
        Op.LayerNormGrad,
        [
          f32(dy, k, outer * size),
          f32(x, k, outer * size),
          f32(gamma, k, size),
          f32(mean, k, outer),
          f32(invStd, k, outer),
          dx,
          dgamma,
          dbeta,
        ],
        [outer, size],
        2,
        [attrs.epsilon],
      );
      return { dx, dgamma, dbeta };
    },
  };
}
