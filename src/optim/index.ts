// Optimizers and learning-rate schedules: the public names of src/optim, and getOptimizer() to
// resolve Keras names and saved configs.
import { Adam } from './adam.js';
import type { AdamOptions } from './adam.js';
import { AdamW } from './adamw.js';
import type { Optimizer } from './optimizer.js';
import { RMSprop } from './rmsprop.js';
import type { RmspropOptions } from './rmsprop.js';
import { scheduleFromConfig } from './schedules.js';
import type { ScheduleConfig } from './schedules.js';
import { SGD } from './sgd.js';
import type { SgdOptions } from './sgd.js';

export { Optimizer } from './optimizer.js';
export type { LearningRateSchedule, OptimizerState } from './optimizer.js';
export { SlotOptimizer } from './slot-optimizer.js';
export type { LrMultipliers, OptimizerOptions } from './slot-optimizer.js';
export { Adam, adam } from './adam.js';
export type { AdamOptions } from './adam.js';
export { AdamW, adamW } from './adamw.js';
export { SGD, sgd } from './sgd.js';
export type { SgdOptions } from './sgd.js';
export { RMSprop, rmsprop } from './rmsprop.js';
export type { RmspropOptions } from './rmsprop.js';
export { clipByGlobalNorm, globalNorm } from './clip.js';
export {
  CosineDecay,
  ExponentialDecay,
  COSINE_WARMUP,
  OneCycle,
  PiecewiseConstantDecay,
  SCHEDULE_NAMES,
  StepDecay,
  cosineDecay,
  exponentialDecay,
  oneCycle,
  piecewiseConstantDecay,
  scheduleByName,
  scheduleFromConfig,
  serializeSchedule,
  stepDecay,
} from './schedules.js';
export type {
  CosineDecayOptions,
  ExponentialDecayOptions,
  OneCycleOptions,
  PiecewiseConstantDecayOptions,
  ScheduleConfig,
  ScheduleName,
  StepDecayOptions,
} from './schedules.js';

/** A saved optimizer: its class name and getConfig() (a run's config.json). */
export interface OptimizerConfig {
  className: string;
  config: Record<string, unknown>;
}

type OptimizerFactory = (config: Record<string, unknown>) => Optimizer;

const OPTIMIZERS: Record<string, OptimizerFactory> = {
  adam: (c) => new Adam(c as AdamOptions),
  adamw: (c) => new AdamW(c as AdamOptions),
  sgd: (c) => new SGD(c as SgdOptions),
  rmsprop: (c) => new RMSprop(c as RmspropOptions),
};

/**
 * An optimizer from a Keras name ('adam', 'sgd', 'adamw', 'rmsprop'; any case), a saved
 * {className, config} (schedules included), or an Optimizer (returned as is). Names give Keras's
 * defaults.
 */
export function getOptimizer(identifier: string | OptimizerConfig | Optimizer): Optimizer {
  if (typeof identifier === 'object' && 'applyGradients' in identifier) return identifier;
  const { className, config } =
    typeof identifier === 'string' ? { className: identifier, config: {} } : identifier;
  const factory = OPTIMIZERS[className.toLowerCase()];
  if (!factory) {
    throw new Error(`unknown optimizer '${className}' (known: ${Object.keys(OPTIMIZERS).join(', ')})`);
  }
  const options: Record<string, unknown> = { ...config };
  const lr = options['learningRate'];
  if (lr !== null && typeof lr === 'object')
    options['learningRate'] = scheduleFromConfig(lr as ScheduleConfig);
  return factory(options);
}

/** The saved form of an optimizer, for config.json; getOptimizer() reads it back. */
export function serializeOptimizer(optimizer: Optimizer): OptimizerConfig {
  return { className: optimizer.className, config: optimizer.getConfig() };
}
