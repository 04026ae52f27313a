// SoftmaxCrossEntropy: logits (N,K), labels (N) int32 -> loss (1) = mean over rows of
// -sum_k t_k log p_k with smoothed targets t = (1 - s) onehot(label) + s / K, and probs (N,K).
// NOTE: log p is computed as x - max - log(sum exp(x - max)), never as log of a rounded p.
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';

export function checkLabels(
  kernel: string,
  x: FloatStorage,
  labels: Int32Array,
  attrs: { batch: number; classes: number; labelSmoothing: number },
): void {
  const { batch, classes } = attrs;
  if (x.length !== batch * classes || labels.length !== batch) {
    throw new Error(
      `${kernel}: expected ${batch}x${classes} values and ${batch} labels, found ${x.length} and ${labels.length}`,
    );
  }
  for (let i = 0; i < batch; i++) {
    const label = labels[i] as number;
    if (!(label >= 0 && label < classes)) {
      throw new Error(`${kernel}: label ${label} at row ${i} is outside [0, ${classes})`);
    }
  }
}

export function softmaxCrossEntropy(
  alloc: Allocator,
  logits: FloatStorage,
  labels: Int32Array,
  attrs: { batch: number; classes: number; labelSmoothing: number },
): { loss: FloatStorage; probs: FloatStorage } {
  checkLabels('SoftmaxCrossEntropy', logits, labels, attrs);
  const { batch, classes, labelSmoothing } = attrs;
  const probs = allocLike(alloc, logits, batch * classes);
  const loss = allocLike(alloc, logits, 1);
  const offTarget = labelSmoothing / classes;
  let total = 0;
  for (let i = 0, row = 0; i < batch; i++, row += classes) {
    let m = -Infinity;
    for (let j = 0; j < classes; j++) m = Math.max(m, logits[row + j] as number);
    let s = 0;
    let sumShifted = 0;
    for (let j = 0; j < classes; j++) {
      const shifted = (logits[row + j] as number) - m;
      sumShifted += shifted;
      s += Math.exp(shifted);
    }
    const logSum = Math.log(s);
    const inv = 1 / s;
    for (let j = 0; j < classes; j++) probs[row + j] = Math.exp((logits[row + j] as number) - m) * inv;
    const logPLabel = (logits[row + (labels[i] as number)] as number) - m - logSum;
    // sum_k log p_k = sum_k (x_k - m) - K log s
    total -= (1 - labelSmoothing) * logPLabel + offTarget * (sumShifted - classes * logSum);
  }
  loss[0] = batch > 0 ? total / batch : 0;
  return { loss, probs };
}
