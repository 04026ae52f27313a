// SoftmaxCrossEntropyGrad: dlogits (N,K) = (probs - smoothedTargets) * dloss[0] / N, targets
// (1 - s) onehot(label) + s / K as in SoftmaxCrossEntropy.
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { checkLabels } from './softmax-cross-entropy.js';

export function softmaxCrossEntropyGrad(
  alloc: Allocator,
  probs: FloatStorage,
  labels: Int32Array,
  dloss: FloatStorage,
  attrs: { batch: number; classes: number; labelSmoothing: number },
): FloatStorage {
  checkLabels('SoftmaxCrossEntropyGrad', probs, labels, attrs);
  const { batch, classes, labelSmoothing } = attrs;
  const dx = allocLike(alloc, probs, batch * classes);
  if (dloss.length < 1)
    throw new Error('SoftmaxCrossEntropyGrad: dloss must hold the loss gradient (1 value)');
  const scale = (dloss[0] as number) / batch;
  const offTarget = labelSmoothing / classes;
  for (let i = 0, row = 0; i < batch; i++, row += classes) {
    for (let j = 0; j < classes; j++) dx[row + j] = ((probs[row + j] as number) - offTarget) * scale;
    const at = row + (labels[i] as number);
    dx[at] = ((probs[at] as number) - offTarget - (1 - labelSmoothing)) * scale;
  }
  return dx;
}
