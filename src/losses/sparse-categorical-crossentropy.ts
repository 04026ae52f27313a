// Sparse categorical cross-entropy: yTrue class indices (N) or (N, 1), yPred (N, K) logits or
// probabilities. loss = mean over N of -sum_k t[n,k] * log p[n,k], t the (smoothed) one-hot target.
// Probabilities are rescaled so each row sums to 1 first, as Keras 3 does (a row of 0.2s is a
// uniform distribution, not five 20% guesses).
import { div, log, mul, neg } from '../tensor/ops/elementwise.js';
import { mean, sum } from '../tensor/ops/reduce.js';
import { softmaxCrossEntropy } from '../tensor/ops/nn.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Loss } from './loss.js';
import { checkSmoothing, clipProbabilities, oneHot, sparseLabels } from './common.js';

export interface SparseCategoricalCrossentropyOptions {
  /** yPred holds logits (preferred: one fused, stable softmax + cross-entropy). Default false, as in Keras. */
  fromLogits?: boolean;
  /** Targets become (1 - s) * onehot + s / K. Default 0. */
  labelSmoothing?: number;
}

const SPARSE_CE_DEFAULTS = { fromLogits: false, labelSmoothing: 0 } as const;

export class SparseCategoricalCrossentropy implements Loss {
  readonly name = 'sparse_categorical_crossentropy';
  readonly fromLogits: boolean;
  readonly labelSmoothing: number;

  constructor(options: SparseCategoricalCrossentropyOptions = {}) {
    this.fromLogits = options.fromLogits ?? SPARSE_CE_DEFAULTS.fromLogits;
    this.labelSmoothing = checkSmoothing(
      options.labelSmoothing ?? SPARSE_CE_DEFAULTS.labelSmoothing,
      this.name,
    );
  }

  compute(yTrue: Tensor, yPred: Tensor): Tensor {
    if (yPred.rank !== 2) {
      throw new Error(
        `${this.name}: predictions must be (batch, classes), found [${yPred.shape.join(', ')}]`,
      );
    }
    const [batch, classes] = yPred.shape as [number, number];
    const labels = sparseLabels(yTrue, batch, this.name);
    if (this.fromLogits) return softmaxCrossEntropy(yPred, labels, this.labelSmoothing);
    const dtype = yPred.dtype === 'float64' ? 'float64' : 'float32';
    const targets = oneHot(labels, classes, this.labelSmoothing, dtype); // (N, K)
    const probabilities = div(yPred, sum(yPred, 1, true)); // (N, K), rows summing to 1
    return mean(neg(sum(mul(targets, log(clipProbabilities(probabilities))), 1)));
  }

  getConfig(): Record<string, unknown> {
    return { fromLogits: this.fromLogits, labelSmoothing: this.labelSmoothing };
  }
}

/** Keras/TF.js-style factory: sparseCategoricalCrossentropy({fromLogits: true}). */
export function sparseCategoricalCrossentropy(
  options: SparseCategoricalCrossentropyOptions = {},
): SparseCategoricalCrossentropy {
  return new SparseCategoricalCrossentropy(options);
}
