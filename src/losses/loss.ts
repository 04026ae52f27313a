// The loss contract: a callable description that reduces a batch to a scalar tensor.
import type { Tensor } from '../tensor/tensor.js';

export interface Loss {
  /** Keras name: 'sparse_categorical_crossentropy', 'mean_squared_error', ... */
  readonly name: string;
  /**
   * Mean loss over the batch as a scalar tensor. yTrue: int32 class indices (N) for sparse losses,
   * float targets shaped like yPred otherwise. yPred: the model's output (logits when fromLogits).
   */
  compute(yTrue: Tensor, yPred: Tensor): Tensor;
  /** Arguments that rebuild this loss (saved in a run's config.json). */
  getConfig(): Record<string, unknown>;
}
