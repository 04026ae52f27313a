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
  mean_squared_error: () => new MeanSquaredError(),
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
