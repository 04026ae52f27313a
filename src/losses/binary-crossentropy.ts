// Binary cross-entropy, elementwise then the mean over every element (Keras: mean over the last
// axis, then over the batch — the same number for equal row lengths).
//   fromLogits (x logits, z targets): max(x, 0) - x * z + log(1 + exp(-|x|))  — finite for any x
//   probabilities p: -(z * log p + (1 - z) * log(1 - p)), p clipped to [eps, 1 - eps]
import { add, exp, log, maximum, minimum, mul, neg, sub } from '../tensor/ops/elementwise.js';
import { mean } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Loss } from './loss.js';
import { checkSameShape, checkSmoothing, clipProbabilities, floatTargets } from './common.js';

export interface BinaryCrossentropyOptions {
  fromLogits?: boolean;
  /** Targets become z * (1 - s) + s / 2. Default 0. */
  labelSmoothing?: number;
}

const BINARY_CE_DEFAULTS = { fromLogits: false, labelSmoothing: 0 } as const;

export class BinaryCrossentropy implements Loss {
  readonly name = 'binary_crossentropy';
  readonly fromLogits: boolean;
  readonly labelSmoothing: number;

  constructor(options: BinaryCrossentropyOptions = {}) {
    this.fromLogits = options.fromLogits ?? BINARY_CE_DEFAULTS.fromLogits;
    this.labelSmoothing = checkSmoothing(
      options.labelSmoothing ?? BINARY_CE_DEFAULTS.labelSmoothing,
      this.name,
    );
  }

  compute(yTrue: Tensor, yPred: Tensor): Tensor {
    checkSameShape(yTrue, yPred, this.name);
    let z = floatTargets(yTrue, yPred);
    if (this.labelSmoothing > 0) z = add(mul(z, 1 - this.labelSmoothing), this.labelSmoothing / 2);
    if (this.fromLogits) {
      const x = yPred;
      // -|x| = min(x, -x): exp(-|x|) <= 1, so nothing overflows (the log term underflows to 0 for
      // large |x|). NOTE: the argument order is chosen for the gradient at the kink x = 0
      // (zero-initialised heads start there): maximum/minimum send a tie's gradient to their first
      // argument, so maximum(0, x)' = 0 and min(x, -x)' = 1 there, which sum to the true derivative
      // sigmoid(0) - z = 0.5 - z (max(x, 0) and |x| would give 1 - z).
      const softplusTail = log(add(exp(minimum(x, neg(x))), 1));
      return mean(add(sub(maximum(0, x), mul(x, z)), softplusTail));
    }
    const p = clipProbabilities(yPred);
    return mean(neg(add(mul(z, log(p)), mul(sub(1, z), log(sub(1, p))))));
  }

  getConfig(): Record<string, unknown> {
    return { fromLogits: this.fromLogits, labelSmoothing: this.labelSmoothing };
  }
}

export function binaryCrossentropy(options: BinaryCrossentropyOptions = {}): BinaryCrossentropy {
  return new BinaryCrossentropy(options);
}
