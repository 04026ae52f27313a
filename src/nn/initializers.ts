// Weight initialisers with Keras's formulas and names. Fans follow Keras's compute_fans:
//   dense kernel [in, out]:        fanIn = in,          fanOut = out
//   conv kernel HWIO [KH,KW,C,O]:  fanIn = KH * KW * C, fanOut = KH * KW * O
//   vector [n]:                    fanIn = fanOut = n
// Variance scaling: uniform in [-limit, limit] with limit = sqrt(3 * scale / n), or a normal
// truncated at two standard deviations with stddev = sqrt(scale / n) / 0.8796... (the stddev of a
// unit normal truncated at ±2, so the result has variance scale / n), n being fanIn, fanOut or
// their mean.
import type { Shape } from '../backend/kernels.js';
import { fill, randomNormal, randomUniform } from '../tensor/ops/creation.js';
import type { RandomSource } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Initializer } from './layer.js';

export type { Initializer } from './layer.js';

/** Keras names of the built-in initialisers (TF.js camelCase spellings are accepted too). */
export type InitializerName =
  | 'glorot_uniform'
  | 'glorot_normal'
  | 'he_uniform'
  | 'he_normal'
  | 'lecun_uniform'
  | 'lecun_normal'
  | 'zeros'
  | 'ones'
  | 'random_uniform'
  | 'random_normal'
  | 'truncated_normal';

/** A serialisable initialiser description, e.g. {className: 'Constant', config: {value: 0.1}}. */
export interface InitializerConfig {
  className: string;
  config: Record<string, unknown>;
}

/** What layers accept for kernelInitializer and friends. */
export type InitializerIdentifier = InitializerName | InitializerConfig | SerializableInitializer;

/** An initialiser that knows how to describe itself in a layer config. */
export interface SerializableInitializer extends Initializer {
  readonly identifier: InitializerName | InitializerConfig;
}

/** Stddev of a unit normal truncated to [-2, 2]; dividing by it restores the intended variance. */
const TRUNCATED_NORMAL_STDDEV = 0.87962566103423978;

/** Keras compute_fans: [fanIn, fanOut] of a weight shape. */
export function computeFans(shape: Shape): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0] as number, shape[0] as number];
  if (shape.length === 2) return [shape[0] as number, shape[1] as number];
  // Convolution kernels: the leading (spatial) dimensions form the receptive field.
  let receptiveField = 1;
  for (let i = 0; i < shape.length - 2; i++) receptiveField *= shape[i] as number;
  return [
    (shape[shape.length - 2] as number) * receptiveField,
    (shape[shape.length - 1] as number) * receptiveField,
  ];
}

type FanMode = 'fan_in' | 'fan_out' | 'fan_avg';
type Distribution = 'uniform' | 'truncated_normal';

function varianceScaling(scale: number, mode: FanMode, distribution: Distribution): Initializer {
  return (shape: Shape, random: RandomSource): Tensor => {
    const [fanIn, fanOut] = computeFans(shape);
    const n = Math.max(1, mode === 'fan_in' ? fanIn : mode === 'fan_out' ? fanOut : (fanIn + fanOut) / 2);
    if (distribution === 'uniform') {
      const limit = Math.sqrt((3 * scale) / n);
      return randomUniform(shape, random, -limit, limit);
    }
    const stddev = Math.sqrt(scale / n) / TRUNCATED_NORMAL_STDDEV;
    return randomNormal(shape, random, 0, stddev, { truncated: true });
  };
}

function named(identifier: InitializerName | InitializerConfig, init: Initializer): SerializableInitializer {
  return Object.assign(init, { identifier });
}

/** Glorot/Xavier uniform: limit = sqrt(6 / (fanIn + fanOut)). Keras's default for kernels. */
export function glorotUniform(): SerializableInitializer {
  return named('glorot_uniform', varianceScaling(1, 'fan_avg', 'uniform'));
}

/** Glorot normal: truncated normal, stddev = sqrt(2 / (fanIn + fanOut)) / 0.8796... */
export function glorotNormal(): SerializableInitializer {
  return named('glorot_normal', varianceScaling(1, 'fan_avg', 'truncated_normal'));
}

/** He uniform: limit = sqrt(6 / fanIn). */
export function heUniform(): SerializableInitializer {
  return named('he_uniform', varianceScaling(2, 'fan_in', 'uniform'));
}

/** He normal: truncated normal, stddev = sqrt(2 / fanIn) / 0.8796... */
export function heNormal(): SerializableInitializer {
  return named('he_normal', varianceScaling(2, 'fan_in', 'truncated_normal'));
}

/** LeCun uniform: limit = sqrt(3 / fanIn). */
export function lecunUniform(): SerializableInitializer {
  return named('lecun_uniform', varianceScaling(1, 'fan_in', 'uniform'));
}

/** LeCun normal: truncated normal, stddev = sqrt(1 / fanIn) / 0.8796... (for SELU networks). */
export function lecunNormal(): SerializableInitializer {
  return named('lecun_normal', varianceScaling(1, 'fan_in', 'truncated_normal'));
}

export function zeros(): SerializableInitializer {
  return named('zeros', (shape) => fill(shape, 0));
}

export function ones(): SerializableInitializer {
  return named('ones', (shape) => fill(shape, 1));
}

// NOTE: Keras's string names 'random_uniform', 'random_normal' and 'truncated_normal' mean the
// classes with their defaults (range +-0.05, stddev 0.05); a config gives other parameters, e.g.
// {className: 'TruncatedNormal', config: {stddev: 0.02}} (ViT's class token and positions).

/** Uniform in [minval, maxval); default [-0.05, 0.05) (Keras RandomUniform, Embedding's default). */
export function randomUniformInitializer(
  options: { minval?: number; maxval?: number } = {},
): SerializableInitializer {
  const { minval = -0.05, maxval = 0.05 } = options;
  return named({ className: 'RandomUniform', config: { minval, maxval } }, (shape, random) =>
    randomUniform(shape, random, minval, maxval),
  );
}

/** Normal(mean, stddev); default stddev 0.05 (Keras RandomNormal). */
export function randomNormalInitializer(
  options: { mean?: number; stddev?: number } = {},
): SerializableInitializer {
  const { mean = 0, stddev = 0.05 } = options;
  return named({ className: 'RandomNormal', config: { mean, stddev } }, (shape, random) =>
    randomNormal(shape, random, mean, stddev),
  );
}

/** Normal(mean, stddev) with draws beyond two stddev redrawn; default stddev 0.05 (Keras TruncatedNormal). */
export function truncatedNormal(options: { mean?: number; stddev?: number } = {}): SerializableInitializer {
  const { mean = 0, stddev = 0.05 } = options;
  return named({ className: 'TruncatedNormal', config: { mean, stddev } }, (shape, random) =>
    randomNormal(shape, random, mean, stddev, { truncated: true }),
  );
}

export function constant(options: { value: number }): SerializableInitializer {
  const { value } = options;
  return named({ className: 'Constant', config: { value } }, (shape) => fill(shape, value));
}

const BY_NAME: Record<InitializerName, () => SerializableInitializer> = {
  glorot_uniform: glorotUniform,
  glorot_normal: glorotNormal,
  he_uniform: heUniform,
  he_normal: heNormal,
  lecun_uniform: lecunUniform,
  lecun_normal: lecunNormal,
  zeros,
  ones,
  random_uniform: () => randomUniformInitializer(),
  random_normal: () => randomNormalInitializer(),
  truncated_normal: () => truncatedNormal(),
};

/** Parameterised initialisers by Keras class name, built from their saved config. */
const BY_CLASS: Record<string, (config: Record<string, unknown>) => SerializableInitializer> = {
  RandomUniform: (c) => randomUniformInitializer(numbers(c, ['minval', 'maxval'], 'RandomUniform')),
  RandomNormal: (c) => randomNormalInitializer(numbers(c, ['mean', 'stddev'], 'RandomNormal')),
  TruncatedNormal: (c) => truncatedNormal(numbers(c, ['mean', 'stddev'], 'TruncatedNormal')),
};

/** The numeric entries `keys` of an initialiser config (absent ones left to the defaults). */
function numbers(
  config: Record<string, unknown>,
  keys: readonly string[],
  className: string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of keys) {
    const value = config[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new Error(
        `${className} initializer: config.${key} must be a finite number, found ${JSON.stringify(value)}`,
      );
    }
    out[key] = value;
  }
  return out;
}

/** 'glorotUniform' -> 'glorot_uniform'; Keras class names 'GlorotUniform' too. */
function canonicalName(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * Resolves a name ('he_normal', 'heNormal', 'HeNormal'), a config ({className: 'Constant',
 * config: {value}}) or an initialiser to a serialisable initialiser.
 */
export function getInitializer(identifier: InitializerIdentifier | string): SerializableInitializer {
  if (typeof identifier === 'function') return identifier;
  if (typeof identifier === 'string') {
    const make = BY_NAME[canonicalName(identifier) as InitializerName] as
      (() => SerializableInitializer) | undefined;
    if (!make) {
      throw new Error(
        `unknown initializer '${identifier}' (known: ${Object.keys(BY_NAME).join(', ')}, or {className, config} with className Constant, ${Object.keys(BY_CLASS).join(', ')})`,
      );
    }
    return make();
  }
  if (identifier.className === 'Constant') {
    const value = identifier.config['value'];
    if (typeof value !== 'number') {
      throw new Error(`Constant initializer: config.value must be a number, found ${JSON.stringify(value)}`);
    }
    return constant({ value });
  }
  const fromClass = Object.hasOwn(BY_CLASS, identifier.className)
    ? BY_CLASS[identifier.className]
    : undefined;
  if (fromClass) return fromClass(identifier.config ?? {});
  return getInitializer(identifier.className);
}

/** The config form of an initialiser: its Keras name, or {className, config} for parameterised ones. */
export function serializeInitializer(init: SerializableInitializer): InitializerName | InitializerConfig {
  return init.identifier;
}
