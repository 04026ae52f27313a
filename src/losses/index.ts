// Losses: the public names of src/losses, and getLoss() to resolve Keras names and saved configs.
import { BinaryCrossentropy } from './binary-crossentropy.js';
import { CategoricalCrossentropy } from './categorical-crossentropy.js';
import type { Loss } from './loss.js';
import { MeanSquaredError } from './mean-squared-error.js';
import { OutputMean } from './output-mean.js';
import { SparseCategoricalCrossentropy } from './sparse-categorical-crossentropy.js';

export type { Loss } from './loss.js';
export { BinaryCrossentropy, binaryCrossentropy } from './binary-crossentropy.js';
export type { BinaryCrossentropyOptions } from './binary-crossentropy.js';
export { CategoricalCrossentropy, categoricalCrossentropy } from './categorical-crossentropy.js';
export type { CategoricalCrossentropyOptions } from './categorical-crossentropy.js';
export { MeanSquaredError, meanSquaredError } from './mean-squared-error.js';
export type { MeanSquaredErrorOptions } from './mean-squared-error.js';
export { OutputMean, outputMean } from './output-mean.js';
export {
  SparseCategoricalCrossentropy,
  sparseCategoricalCrossentropy,
} from './sparse-categorical-crossentropy.js';
export type { SparseCategoricalCrossentropyOptions } from './sparse-categorical-crossentropy.js';

/** A saved loss: its Keras name and getConfig() (a run's config.json). */
export interface LossConfig {
  name: string;
  config: Record<string, unknown>;
}

type LossFactory = (config: Record<string, unknown>) => Loss;

const LOSSES: Record<string, LossFactory> = {
  sparse_categorical_crossentropy: (c) => new SparseCategoricalCrossentropy(c),
  categorical_crossentropy: (c) => new CategoricalCrossentropy(c),
  binary_crossentropy: (c) => new BinaryCrossentropy(c),
  mean_squared_error: (c) => new MeanSquaredError(c),
  output_mean: () => new OutputMean(),
};

const ALIASES: Record<string, string> = { mse: 'mean_squared_error' };

/**
 * A loss from a Keras name ('sparse_categorical_crossentropy', 'mse'), a TF.js camelCase name
 * ('meanSquaredError'), a saved {name, config}, or a Loss (returned as is). Keras's string form
 * means the default options (probabilities, not logits), as in Keras.
 */
export function getLoss(identifier: string | LossConfig | Loss): Loss {
  if (typeof identifier === 'object' && 'compute' in identifier) return identifier;
  const { name, config } = typeof identifier === 'string' ? { name: identifier, config: {} } : identifier;
  const snake = name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  const factory = LOSSES[ALIASES[snake] ?? snake];
  if (!factory)
    throw new Error(`unknown loss '${name}' (known: ${[...Object.keys(LOSSES), 'mse'].join(', ')})`);
  return factory(config);
}

/** The saved form of a loss, for config.json; getLoss() reads it back. */
export function serializeLoss(loss: Loss): LossConfig {
  return { name: loss.name, config: loss.getConfig() };
}

/**
 * Short names of the losses a classifier whose outputs are logits (the zoo's models) trains with:
 * `train --loss` and `compare --losses`. Labels are class indices; fit one-hot encodes them for the
 * losses that are not sparse.
 *   sparse-ce  sparse categorical cross-entropy on the logits (the default)
 *   ce         categorical cross-entropy on one-hot targets (same value as sparse-ce)
 *   mse        mean squared error between softmax(logits) and the one-hot targets
 *   bce        binary cross-entropy of each class's sigmoid(logit) against its one-hot target
 */
export const CLASSIFIER_LOSS_NAMES = ['sparse-ce', 'ce', 'mse', 'bce'] as const;
export type ClassifierLossName = (typeof CLASSIFIER_LOSS_NAMES)[number];

/** The loss `name` (CLASSIFIER_LOSS_NAMES) for logit outputs; labelSmoothing for the cross-entropies. */
export function classifierLoss(name: string, options: { labelSmoothing?: number } = {}): Loss {
  const labelSmoothing = options.labelSmoothing ?? 0;
  switch (name) {
    case 'sparse-ce':
      return new SparseCategoricalCrossentropy({ fromLogits: true, labelSmoothing });
    case 'ce':
      return new CategoricalCrossentropy({ fromLogits: true, labelSmoothing });
    case 'bce':
      return new BinaryCrossentropy({ fromLogits: true, labelSmoothing });
    case 'mse':
      if (labelSmoothing !== 0) {
        throw new Error(
          `loss 'mse' takes no label smoothing, found ${labelSmoothing}; use it with sparse-ce, ce or bce`,
        );
      }
      return new MeanSquaredError({ fromLogits: true });
    default:
      throw new Error(`unknown loss '${name}': expected one of ${CLASSIFIER_LOSS_NAMES.join(', ')}`);
  }
}
