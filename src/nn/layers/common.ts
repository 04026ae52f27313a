// Helpers shared by the layer files: reading configs back (layerFromConfig), pairs for 2-D
// arguments, and shape errors that name the layer and both shapes.
import type { Shape } from '../../backend/kernels.js';
import type { Layer, LayerArgs } from '../layer.js';

/** The base LayerArgs (name, trainable, inputShape) of a saved config. */
export function baseArgs(config: Record<string, unknown>): LayerArgs {
  const args: LayerArgs = {};
  if (typeof config['name'] === 'string') args.name = config['name'];
  if (typeof config['trainable'] === 'boolean') args.trainable = config['trainable'];
  if (Array.isArray(config['inputShape'])) args.inputShape = config['inputShape'] as number[];
  return args;
}

/**
 * Copies the keys of `config` that are present into a typed args object. Config values are
 * trusted to have the types getConfig wrote (a layer's constructor validates what matters).
 */
export function pick<T extends object>(
  config: Record<string, unknown>,
  keys: readonly (keyof T & string)[],
): T {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (config[key] !== undefined && config[key] !== null) out[key] = config[key];
  return out as T;
}

export type Pair = number | readonly [number, number];

export function toPair(value: Pair, what: string, layerName: string): [number, number] {
  const pair: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  if (!pair.every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(
      `${layerName}: ${what} must be a positive integer or a pair of them, found ${JSON.stringify(value)}`,
    );
  }
  return pair;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** "Dense 'dense_1': expected input [batch, features], found [32, 28, 28, 1]; <hint>" */
export function shapeError(layer: Layer, expected: string, found: Shape, hint?: string): Error {
  return new Error(
    `${layer.className} '${layer.name}': expected input ${expected}, found ${formatShape(found)}` +
      (hint ? `; ${hint}` : ''),
  );
}
