// Batch and layer normalisation on the addon (native/src/norm.cc): batch norm's training statistics
// and their backward are C++ loops that sum in double; its inference and layer norm are oneDNN's.
// Batch norm's moving-statistics update is a C++ loop.
import type { FloatStorage, Kernels, NormAttrs } from '../../kernels.js';
import { Op, type OpCode } from '../binding.js';
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

type Normalized = 'BatchNorm' | 'LayerNorm';

/**
 * Batch and layer norm differ here only in their op and in what they average over: per channel
 * (`statistics` = size) or per row (`statistics` = outer).
 */
function forward(
  ctx: NativeContext,
  k: Normalized,
  code: OpCode,
  statistics: number,
  x: FloatStorage,
  gamma: FloatStorage,
  beta: FloatStorage,
  attrs: NormAttrs,
): { y: Float32Array; mean: Float32Array; invStd: Float32Array } {
  const { outer, size } = attrs;
  const y = ctx.float32(outer * size);
  const mean = ctx.float32(statistics);
  const invStd = ctx.float32(statistics);
  ctx.emit(
    code,
    [f32(x, k, outer * size), f32(gamma, k, size), f32(beta, k, size), y, mean, invStd],
    [outer, size],
    2,
    [attrs.epsilon],
  );
  return { y, mean, invStd };
}

function backward(
  ctx: NativeContext,
  k: `${Normalized}Grad`,
  code: OpCode,
  statistics: number,
  [dy, x, gamma, mean, invStd]: readonly [
    FloatStorage,
    FloatStorage,
    FloatStorage,
    FloatStorage,
    FloatStorage,
  ],
  attrs: NormAttrs,
): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  const { outer, size } = attrs;
  const dx = ctx.float32(outer * size);
  const dgamma = ctx.float32(size);
  const dbeta = ctx.float32(size);
  ctx.emit(
    code,
    [
      f32(dy, k, outer * size),
      f32(x, k, outer * size),
      f32(gamma, k, size),
      f32(mean, k, statistics),
      f32(invStd, k, statistics),
      dx,
      dgamma,
      dbeta,
    ],
    [outer, size],
    2,
    [attrs.epsilon],
  );
  return { dx, dgamma, dbeta };
}

export function normKernels(ctx: NativeContext): NormKernels {
  return {
    BatchNorm: (x, gamma, beta, attrs) =>
      forward(ctx, 'BatchNorm', Op.BatchNorm, attrs.size, x, gamma, beta, attrs),
    BatchNormGrad: (dy, x, gamma, mean, invStd, attrs) =>
      backward(ctx, 'BatchNormGrad', Op.BatchNormGrad, attrs.size, [dy, x, gamma, mean, invStd], attrs),
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
    LayerNorm: (x, gamma, beta, attrs) =>
      forward(ctx, 'LayerNorm', Op.LayerNorm, attrs.outer, x, gamma, beta, attrs),
    LayerNormGrad: (dy, x, gamma, mean, invStd, attrs) =>
      backward(ctx, 'LayerNormGrad', Op.LayerNormGrad, attrs.outer, [dy, x, gamma, mean, invStd], attrs),
  };
}
