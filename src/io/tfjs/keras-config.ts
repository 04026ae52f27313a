// One layer's configuration in the Keras/TF.js JSON form, both ways. Keys are snake_case as TF.js's
// model.save() writes them ('kernel_size', 'use_bias'); on import, camelCase keys are read too.
// Only what our layers can express crosses: an option we would silently drop is an error naming
// the layer, the option and what is supported.
import { canonicalActivationName } from '../../nn/activations.js';
import type { ActivationName } from '../../nn/activations.js';
import type { Layer } from '../../nn/layer.js';
import {
  Activation,
  Add,
  AveragePooling2D,
  BatchNormalization,
  Conv2D,
  Dense,
  Dropout,
  Flatten,
  GlobalAveragePooling2D,
  LayerNormalization,
  MaxPooling2D,
  Normalization,
  Rescaling,
  Reshape,
} from '../../nn/index.js';
import type { Pooling2D } from '../../nn/layers/pooling2d.js';

export type Json = Record<string, unknown>;

/** A layer entry of a Keras topology. */
export interface KerasLayerJson {
  class_name: string;
  config: Json;
}

/** Activation names TF.js knows (it reads 'log_softmax' as its 'logSoftmax'; 'gelu' is erf GELU). */
const TFJS_ACTIVATIONS: ReadonlySet<ActivationName> = new Set([
  'linear',
  'relu',
  'sigmoid',
  'tanh',
  'softmax',
  'log_softmax',
  'gelu',
]);

const KERAS_INITIALIZERS: Record<string, string> = {
  glorot_uniform: 'GlorotUniform',
  glorot_normal: 'GlorotNormal',
  he_uniform: 'HeUniform',
  he_normal: 'HeNormal',
  lecun_uniform: 'LeCunUniform',
  lecun_normal: 'LeCunNormal',
  zeros: 'Zeros',
  ones: 'Ones',
};

function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function camelCase(key: string): string {
  return key.replace(/_+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function initializerJson(identifier: unknown): Json {
  if (typeof identifier === 'string') {
    const className = KERAS_INITIALIZERS[identifier] ?? identifier;
    return {
      class_name: className,
      config: className.includes('Uniform') || className.includes('Normal') ? { seed: null } : {},
    };
  }
  const { className, config } = identifier as { className: string; config: Json };
  return {
    class_name: className,
    config: Object.fromEntries(Object.entries(config).map(([k, v]) => [snakeCase(k), v])),
  };
}

function activationJson(layer: Layer, name: ActivationName): string {
  if (!TFJS_ACTIVATIONS.has(name)) {
    throw new Error(
      `${layer.className} '${layer.name}': activation '${name}' has no TF.js Layers equivalent ` +
        `(TF.js knows ${[...TFJS_ACTIVATIONS].join(', ')}); export to ONNX instead`,
    );
  }
  return name;
}

function poolingJson(layer: Pooling2D): Json {
  return {
    pool_size: layer.poolSize,
    strides: layer.strides,
    padding: layer.padding,
    data_format: 'channels_last',
  };
}

/** Our layer as a Keras/TF.js layer entry named `name` (without inbound nodes). */
export function kerasLayerJson(layer: Layer, name: string): KerasLayerJson {
  const base = { name, trainable: layer.trainable };
  const entry = (className: string, config: Json): KerasLayerJson => ({
    class_name: className,
    config: { ...config, ...base },
  });
  if (layer instanceof Dense) {
    return entry('Dense', {
      units: layer.units,
      activation: activationJson(layer, layer.activation),
      use_bias: layer.useBias,
      kernel_initializer: initializerJson(layer.kernelInitializer.identifier),
      bias_initializer: initializerJson(layer.biasInitializer.identifier),
    });
  }
  if (layer instanceof Conv2D) {
    return entry('Conv2D', {
      filters: layer.filters,
      kernel_size: layer.kernelSize,
      strides: layer.strides,
      padding: layer.padding,
      data_format: 'channels_last',
      dilation_rate: layer.dilationRate,
      activation: activationJson(layer, layer.activation),
      use_bias: layer.useBias,
      kernel_initializer: initializerJson(layer.kernelInitializer.identifier),
      bias_initializer: initializerJson(layer.biasInitializer.identifier),
    });
  }
  if (layer instanceof MaxPooling2D) return entry('MaxPooling2D', poolingJson(layer));
  if (layer instanceof AveragePooling2D) return entry('AveragePooling2D', poolingJson(layer));
  if (layer instanceof Flatten) return entry('Flatten', { data_format: 'channels_last' });
  if (layer instanceof Dropout) return entry('Dropout', { rate: layer.rate, noise_shape: null, seed: null });
  if (layer instanceof Activation) {
    return entry('Activation', { activation: activationJson(layer, layer.activation) });
  }
  if (layer instanceof BatchNormalization) {
    return entry('BatchNormalization', {
      axis: -1,
      momentum: layer.momentum,
      epsilon: layer.epsilon,
      center: layer.center,
      scale: layer.scale,
      beta_initializer: initializerJson(layer.betaInitializer.identifier),
      gamma_initializer: initializerJson(layer.gammaInitializer.identifier),
      moving_mean_initializer: initializerJson(layer.movingMeanInitializer.identifier),
      moving_variance_initializer: initializerJson(layer.movingVarianceInitializer.identifier),
    });
  }
  if (layer instanceof LayerNormalization) {
    return entry('LayerNormalization', {
      axis: -1,
      epsilon: layer.epsilon,
      center: layer.center,
      scale: layer.scale,
      beta_initializer: initializerJson(layer.betaInitializer.identifier),
      gamma_initializer: initializerJson(layer.gammaInitializer.identifier),
    });
  }
  if (layer instanceof GlobalAveragePooling2D) {
    if (layer.keepDims) {
      throw new Error(
        `GlobalAveragePooling2D '${layer.name}': keepDims has no TF.js Layers equivalent; ` +
          'follow it with reshape() instead, or export to ONNX',
      );
    }
    return entry('GlobalAveragePooling2D', { data_format: 'channels_last' });
  }
  if (layer instanceof Reshape) return entry('Reshape', { target_shape: layer.targetShape });
  if (layer instanceof Rescaling) return entry('Rescaling', { scale: layer.scale, offset: layer.offset });
  // (x - mean) / std = x * (1 / std) + (-mean / std): equal up to float rounding.
  if (layer instanceof Normalization)
    return entry('Rescaling', { scale: 1 / layer.std, offset: -layer.mean / layer.std });
  if (layer instanceof Add) return entry('Add', {});
  throw new Error(
    `cannot export layer '${layer.name}' of class ${layer.className} to the TF.js Layers format ` +
      '(supported: Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation, ' +
      'BatchNormalization, LayerNormalization, GlobalAveragePooling2D, Reshape, Rescaling, Normalization, Add)',
  );
}

// ---- import ----

/** Options every layer may carry that change nothing at inference or in our training. */
const IGNORED_KEYS = new Set([
  'name',
  'trainable',
  'dtype',
  'batchInputShape',
  'inputShape',
  'batchSize',
  'inputDim',
  'seed',
  'kernelInitializer',
  'biasInitializer',
  'betaInitializer',
  'gammaInitializer',
  'movingMeanInitializer',
  'movingVarianceInitializer',
]);

/** Options accepted only with their default value, which is what our layers do. */
const DEFAULT_ONLY = new Map<string, unknown[]>(
  Object.entries({
    dataFormat: ['channels_last', 'channelsLast', null],
    noiseShape: [null],
    groups: [1],
    renorm: [false],
    renormClipping: [null],
    renormMomentum: [0.99],
    virtualBatchSize: [null],
    adjustment: [null],
    fused: [null, true, false],
    synchronized: [false],
    interpolation: ['bilinear'],
  }),
);

/** Reads a Keras layer config (snake_case or camelCase keys) into camelCase, checking options. */
function readOptions(className: string, name: string, raw: Json, handled: readonly string[]): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(raw)) {
    const camel = camelCase(key);
    out[camel] = value;
    if (handled.includes(camel) || IGNORED_KEYS.has(camel)) continue;
    const defaults = DEFAULT_ONLY.get(camel);
    const isDefault = defaults
      ? defaults.some((d) => JSON.stringify(d) === JSON.stringify(value))
      : (camel.endsWith('Regularizer') || camel.endsWith('Constraint')) && value === null;
    if (!isDefault) {
      throw new Error(
        `cannot import ${className} '${name}': option '${key}' = ${JSON.stringify(value)} is not supported` +
          (defaults ? ` (supported: ${defaults.map((d) => JSON.stringify(d)).join(' or ')})` : '') +
          '; remove it from the model before saving it, or rebuild the model without it',
      );
    }
  }
  return out;
}

function activationOf(className: string, name: string, value: unknown): ActivationName {
  if (value === undefined || value === null) return 'linear';
  const text = typeof value === 'string' ? value : (value as { class_name?: unknown }).class_name;
  try {
    if (typeof text !== 'string')
      throw new Error(`activation ${JSON.stringify(value)?.slice(0, 80)} is not a name`);
    return canonicalActivationName(text);
  } catch (error) {
    throw new Error(`cannot import ${className} '${name}': ${(error as Error).message}`);
  }
}

function pair(value: unknown): number | [number, number] {
  return Array.isArray(value) ? [value[0] as number, value[1] as number] : (value as number);
}

function padding(className: string, name: string, value: unknown): 'same' | 'valid' {
  if (value === undefined) return 'valid';
  if (value === 'same' || value === 'valid') return value;
  throw new Error(
    `cannot import ${className} '${name}': padding ${JSON.stringify(value)} is not supported (use 'same' or 'valid')`,
  );
}

/** Axis -1, or the last axis written as a positive index (checked once the input rank is known). */
function lastAxis(className: string, name: string, value: unknown): number {
  const axis = Array.isArray(value) && value.length === 1 ? (value[0] as unknown) : (value ?? -1);
  if (typeof axis !== 'number' || !Number.isInteger(axis) || (axis < 1 && axis !== -1)) {
    throw new Error(
      `cannot import ${className} '${name}': axis ${JSON.stringify(value)} is not supported (only the last axis, channels last)`,
    );
  }
  return axis;
}

/**
 * An imported layer, and the positive axis it must act on when the file gave one (checked against
 * the input rank once the model is built: it must be the last axis).
 */
export interface ImportedLayer {
  layer: Layer;
  positiveAxis?: number;
}

/** Our layer for a Keras/TF.js layer entry (InputLayer and models are handled by the caller). */
export function layerFromKeras(className: string, name: string, raw: Json): ImportedLayer {
  const read = (handled: readonly string[]): Json => readOptions(className, name, raw, handled);
  const args = { name, trainable: raw['trainable'] !== false };
  switch (className) {
    case 'Dense': {
      const o = read(['units', 'activation', 'useBias']);
      return {
        layer: new Dense({
          ...args,
          units: o['units'] as number,
          activation: activationOf(className, name, o['activation']),
          useBias: o['useBias'] !== false,
        }),
      };
    }
    case 'Conv2D': {
      const o = read([
        'filters',
        'kernelSize',
        'strides',
        'padding',
        'dilationRate',
        'activation',
        'useBias',
      ]);
      return {
        layer: new Conv2D({
          ...args,
          filters: o['filters'] as number,
          kernelSize: pair(o['kernelSize']),
          strides: pair(o['strides'] ?? 1),
          padding: padding(className, name, o['padding']),
          dilationRate: pair(o['dilationRate'] ?? 1),
          activation: activationOf(className, name, o['activation']),
          useBias: o['useBias'] !== false,
        }),
      };
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const o = read(['poolSize', 'strides', 'padding']);
      const poolArgs = {
        ...args,
        poolSize: pair(o['poolSize'] ?? 2),
        padding: padding(className, name, o['padding']),
        ...(o['strides'] !== undefined && o['strides'] !== null ? { strides: pair(o['strides']) } : {}),
      };
      return {
        layer: className === 'MaxPooling2D' ? new MaxPooling2D(poolArgs) : new AveragePooling2D(poolArgs),
      };
    }
    case 'Flatten':
      read([]);
      return { layer: new Flatten(args) };
    case 'Dropout': {
      const o = read(['rate']);
      return { layer: new Dropout({ ...args, rate: o['rate'] as number }) };
    }
    case 'Activation': {
      const o = read(['activation']);
      return {
        layer: new Activation({ ...args, activation: activationOf(className, name, o['activation']) }),
      };
    }
    case 'ReLU': {
      const o = read(['maxValue', 'negativeSlope', 'threshold']);
      if (
        (o['maxValue'] ?? null) !== null ||
        (o['negativeSlope'] ?? 0) !== 0 ||
        (o['threshold'] ?? 0) !== 0
      ) {
        throw new Error(
          `cannot import ReLU '${name}': only max_value null, negative_slope 0 and threshold 0 are supported`,
        );
      }
      return { layer: new Activation({ ...args, activation: 'relu' }) };
    }
    case 'Softmax': {
      // NOTE: TF.js's own Softmax defaults to axis 1 (the last axis of [N, classes]); a positive
      // axis is checked against the input rank once the model is built.
      const o = read(['axis']);
      const axis = lastAxis(className, name, o['axis']);
      const layer = new Activation({ ...args, activation: 'softmax' });
      return axis === -1 ? { layer } : { layer, positiveAxis: axis };
    }
    case 'BatchNormalization': {
      const o = read(['axis', 'momentum', 'epsilon', 'center', 'scale']);
      const axis = lastAxis(className, name, o['axis']);
      const layer = new BatchNormalization({
        ...args,
        momentum: (o['momentum'] as number | undefined) ?? 0.99,
        epsilon: (o['epsilon'] as number | undefined) ?? 1e-3,
        center: o['center'] !== false,
        scale: o['scale'] !== false,
      });
      return axis === -1 ? { layer } : { layer, positiveAxis: axis };
    }
    case 'LayerNormalization': {
      const o = read(['axis', 'epsilon', 'center', 'scale']);
      const axis = lastAxis(className, name, o['axis']);
      const layer = new LayerNormalization({
        ...args,
        epsilon: (o['epsilon'] as number | undefined) ?? 1e-3,
        center: o['center'] !== false,
        scale: o['scale'] !== false,
      });
      return axis === -1 ? { layer } : { layer, positiveAxis: axis };
    }
    case 'GlobalAveragePooling2D': {
      const o = read(['keepdims', 'keepDims']);
      return {
        layer: new GlobalAveragePooling2D({
          ...args,
          keepDims: o['keepdims'] === true || o['keepDims'] === true,
        }),
      };
    }
    case 'Reshape': {
      const o = read(['targetShape']);
      return { layer: new Reshape({ ...args, targetShape: o['targetShape'] as number[] }) };
    }
    case 'Rescaling': {
      const o = read(['scale', 'offset']);
      return {
        layer: new Rescaling({
          ...args,
          scale: o['scale'] as number,
          offset: (o['offset'] as number | undefined) ?? 0,
        }),
      };
    }
    case 'Add':
      read([]);
      return { layer: new Add(args) };
    default:
      throw new Error(
        `cannot import layer '${name}': class ${className} is not supported (supported: Dense, Conv2D, ` +
          'MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation, ReLU, Softmax, BatchNormalization, ' +
          'LayerNormalization, GlobalAveragePooling2D, Reshape, Rescaling, Add, InputLayer)',
      );
  }
}
