// Helpers shared by the loss files: probability clipping, label preparation, smoothing.
import { cast, tensor } from '../tensor/ops/creation.js';
import { maximum, minimum } from '../tensor/ops/elementwise.js';
import { reshape } from '../tensor/ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Keras backend epsilon: probabilities are clipped to [EPSILON, 1 - EPSILON] before log. */
export const EPSILON = 1e-7;

/** min(max(p, eps), 1 - eps). NOTE: the gradient is zero where clipping binds, as in Keras. */
export function clipProbabilities(p: Tensor): Tensor {
  return minimum(maximum(p, EPSILON), 1 - EPSILON);
}

/** Class indices (N) or (N, 1), any dtype -> int32 (N); errors name the loss and both shapes. */
export function sparseLabels(yTrue: Tensor, batch: number, loss: string): Tensor {
  if (yTrue.size !== batch || (yTrue.rank === 2 && yTrue.shape[1] !== 1) || yTrue.rank > 2) {
    throw new Error(
      `${loss}: expected ${batch} class indices shaped [${batch}] or [${batch}, 1], found [${yTrue.shape.join(', ')}]` +
        (yTrue.rank === 2 ? ' (one-hot targets need categoricalCrossentropy)' : ''),
    );
  }
  const labels = yTrue.rank === 1 ? yTrue : reshape(yTrue, [batch]);
  return labels.dtype === 'int32' ? labels : cast(labels, 'int32');
}

/**
 * Smoothed one-hot targets (N, K) of int32 labels (N): (1 - s) * onehot + s / K.
 * Built in JS: a constant, outside autograd.
 */
export function oneHot(
  labels: Tensor,
  classes: number,
  smoothing: number,
  dtype: 'float32' | 'float64',
): Tensor {
  const batch = labels.size;
  const values = dtype === 'float64' ? new Float64Array(batch * classes) : new Float32Array(batch * classes);
  values.fill(smoothing / classes);
  const data = labels.data;
  for (let i = 0; i < batch; i++) {
    const label = data[i] as number;
    if (!(label >= 0 && label < classes)) {
      throw new Error(
        `label ${label} at position ${i} is outside the ${classes} classes [0, ${classes - 1}]`,
      );
    }
    values[i * classes + label] = (values[i * classes + label] as number) + (1 - smoothing);
  }
  return tensor(values, [batch, classes], dtype);
}

export function checkSmoothing(labelSmoothing: number, loss: string): number {
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new Error(`${loss}: labelSmoothing must be in [0, 1], found ${labelSmoothing}`);
  }
  return labelSmoothing;
}

export function checkSameShape(yTrue: Tensor, yPred: Tensor, loss: string): void {
  if (yTrue.rank !== yPred.rank || yTrue.shape.some((d, i) => d !== yPred.shape[i])) {
    throw new Error(
      `${loss}: targets [${yTrue.shape.join(', ')}] and predictions [${yPred.shape.join(', ')}] must have one shape`,
    );
  }
}

/** Float targets in the predictions' dtype. */
export function floatTargets(yTrue: Tensor, yPred: Tensor): Tensor {
  return yTrue.dtype === yPred.dtype ? yTrue : cast(yTrue, yPred.dtype);
}
