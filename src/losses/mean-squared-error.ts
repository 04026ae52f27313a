// Mean squared error: mean over every element of (yPred - yTrue)^2. With fromLogits the predictions
// are a classifier's logits (N, K), compared after a softmax over K: what a model ending in softmax
// would output (the seed tutorial's MSE experiment on a model that outputs logits).
import { square, sub } from '../tensor/ops/elementwise.js';
import { softmax } from '../tensor/ops/nn.js';
import { mean } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Loss } from './loss.js';
import { checkSameShape, floatTargets } from './common.js';

export interface MeanSquaredErrorOptions {
  /** yPred holds logits (N, K): a softmax over the last axis comes first. Default false. */
  fromLogits?: boolean;
}

export class MeanSquaredError implements Loss {
  readonly name = 'mean_squared_error';
  readonly fromLogits: boolean;

  constructor(options: MeanSquaredErrorOptions = {}) {
    this.fromLogits = options.fromLogits ?? false;
  }

  compute(yTrue: Tensor, yPred: Tensor): Tensor {
    checkSameShape(yTrue, yPred, this.name);
    const predictions = this.fromLogits ? softmax(yPred) : yPred;
    return mean(square(sub(predictions, floatTargets(yTrue, yPred))));
  }

  getConfig(): Record<string, unknown> {
    return this.fromLogits ? { fromLogits: true } : {};
  }
}

export function meanSquaredError(options: MeanSquaredErrorOptions = {}): MeanSquaredError {
  return new MeanSquaredError(options);
}
