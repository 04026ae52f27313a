// Mean squared error: mean over every element of (yPred - yTrue)^2.
import { square, sub } from '../tensor/ops/elementwise.js';
import { mean } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Loss } from './loss.js';
import { checkSameShape, floatTargets } from './common.js';

export class MeanSquaredError implements Loss {
  readonly name = 'mean_squared_error';

  compute(yTrue: Tensor, yPred: Tensor): Tensor {
    checkSameShape(yTrue, yPred, this.name);
    return mean(square(sub(yPred, floatTargets(yTrue, yPred))));
  }

  getConfig(): Record<string, unknown> {
    return {};
  }
}

export function meanSquaredError(): MeanSquaredError {
  return new MeanSquaredError();
}
