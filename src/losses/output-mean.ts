// The mean of the model's outputs, targets ignored: the loss of a model that computes its own
// per-example loss (a self-supervised objective such as the masked autoencoder's reconstruction
// error, src/pretrain/mae.ts), so the one training loop trains it as any other model.
import { mean } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Loss } from './loss.js';

export class OutputMean implements Loss {
  readonly name = 'output_mean';

  compute(_yTrue: Tensor, yPred: Tensor): Tensor {
    return mean(yPred);
  }

  getConfig(): Record<string, unknown> {
    return {};
  }
}

export function outputMean(): OutputMean {
  return new OutputMean();
}
