// Categorical cross-entropy: yTrue (N, K) one-hot or probability targets, yPred (N, K) logits or
// probabilities. loss = mean over N of -sum_k t[n,k] * log p[n,k], t = (1 - s) * yTrue + s / K.
import { add, div, log, mul, neg } from '../tensor/ops/elementwise.js';
import { logSoftmax } from '../tensor/ops/nn.js';
import { mean, sum } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Loss } from './loss.js';
import { checkSameShape, checkSmoothing, clipProbabilities, floatTargets } from './common.js';

export interface CategoricalCrossentropyOptions {
  /** yPred holds logits (log-softmax then the sum; stable). Default false, as in Keras. */
  fromLogits?: boolean;
  labelSmoothing?: number;
}

const CATEGORICAL_CE_DEFAULTS = { fromLogits: false, labelSmoothing: 0 } as const;

export class CategoricalCrossentropy implements Loss {
  readonly name = 'categorical_crossentropy';
  readonly fromLogits: boolean;
  readonly labelSmoothing: number;

  constructor(options: CategoricalCrossentropyOptions = {}) {
    this.fromLogits = options.fromLogits ?? CATEGORICAL_CE_DEFAULTS.fromLogits;
    this.labelSmoothing = checkSmoothing(
      options.labelSmoothing ?? CATEGORICAL_CE_DEFAULTS.labelSmoothing,
      this.name,
    );
  }

  compute(yTrue: Tensor, yPred: Tensor): Tensor {
    if (yTrue.rank === 1 && yPred.rank === 2) {
      throw new Error(
        `${this.name}: targets [${yTrue.shape.join(', ')}] look like class indices; use sparseCategoricalCrossentropy or one-hot targets [${yPred.shape.join(', ')}]`,
      );
    }
    checkSameShape(yTrue, yPred, this.name);
    const classes = yPred.shape[yPred.rank - 1] as number;
    let targets = floatTargets(yTrue, yPred);
    const s = this.labelSmoothing;
    if (s > 0) targets = add(mul(targets, 1 - s), s / classes);
    const axis = yPred.rank - 1;
    let logProbs: Tensor;
    if (this.fromLogits) logProbs = logSoftmax(yPred);
    else {
      // As Keras: rescale so each row sums to 1, then clip away from 0 and 1.
      logProbs = log(clipProbabilities(div(yPred, sum(yPred, axis, true))));
    }
    return mean(neg(sum(mul(targets, logProbs), axis)));
  }

  getConfig(): Record<string, unknown> {
    return { fromLogits: this.fromLogits, labelSmoothing: this.labelSmoothing };
  }
}

export function categoricalCrossentropy(
  options: CategoricalCrossentropyOptions = {},
): CategoricalCrossentropy {
  return new CategoricalCrossentropy(options);
}
