// Operations across the processes of data-parallel training (src/distributed): a differentiable sum
// over processes, and batch norm whose batch statistics are those of the global batch (--sync-bn).
// Browser-safe: the communication is a function the caller passes (MPI's all-reduce on Node).
//
// Letters: C channels (the last axis), n this process's rows, N rows over all processes.
import { getBackend } from '../../backend/registry.js';
import { Tensor, fromKernel } from '../tensor.js';
import { add, div, mul, sqrt, sub } from './elementwise.js';
import { floatData } from './float-data.js';
import { sum } from './reduce.js';

/** Communication of one data-parallel step; every process calls it at the same points, in order. */
export interface CrossReplica {
  /** Sums `values` over every process, in place. */
  sum(values: Float32Array): void;
  /**
   * The same for gradients flowing back through a sum: this process's values weighted by its share
   * of the global batch, summed, then divided by that share again, so that the trainer's later
   * weighting of every gradient by the share (see DataParallel) gives the global batch's gradient.
   */
  sumGradients(values: Float32Array): void;
}

/** y = the sum of x over every process; dx = the (share-weighted) sum of dy likewise. */
export function crossReplicaSum(x: Tensor, replicas: CrossReplica): Tensor {
  const y = getBackend().alloc('float32', x.size);
  y.set(floatData(x, 'crossReplicaSum'));
  replicas.sum(y);
  return fromKernel(y, x.shape, {
    op: 'crossReplicaSum',
    inputs: [x],
    backward: (dy) => {
      const dx = getBackend().alloc('float32', dy.size);
      dx.set(floatData(dy, 'crossReplicaSum'));
      replicas.sumGradients(dx);
      return [fromKernel(dx, x.shape)];
    },
  });
}

export interface SyncedBatchNormOptions {
  movingMean: Tensor;
  movingVariance: Tensor;
  /** Keras semantics: moving = moving * momentum + batch * (1 - momentum). */
  momentum: number;
  epsilon: number;
}

/**
 * Training-mode batch norm over the last axis with the global batch's statistics:
 * mean = sum(x) / N, variance = sum((x - mean)^2) / N (two passes, the sums all-reduced), composed
 * of differentiable ops so autograd carries the gradient across processes. Updates the moving
 * statistics in place, identically on every process.
 */
export function syncedBatchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  replicas: CrossReplica,
  options: SyncedBatchNormOptions,
): Tensor {
  const channels = x.shape[x.rank - 1] as number; // C
  const axes = x.shape.slice(0, -1).map((_, axis) => axis);
  const rows = Float32Array.of(x.size / channels); // n, then N
  replicas.sum(rows);
  const count = rows[0] as number;
  const mean = div(crossReplicaSum(sum(x, axes), replicas), count); // (C)
  const centered = sub(x, mean); // (..., C)
  const variance = div(crossReplicaSum(sum(mul(centered, centered), axes), replicas), count); // (C)
  const y = add(mul(centered, div(gamma, sqrt(add(variance, options.epsilon)))), beta);
  // In place, outside autograd: the moving statistics are state, not parameters.
  const { momentum } = options;
  const movingMean = options.movingMean.data as Float32Array;
  const movingVariance = options.movingVariance.data as Float32Array;
  for (let c = 0; c < channels; c++) {
    movingMean[c] = (movingMean[c] as number) * momentum + (mean.data[c] as number) * (1 - momentum);
    movingVariance[c] =
      (movingVariance[c] as number) * momentum + (variance.data[c] as number) * (1 - momentum);
  }
  return y;
}
