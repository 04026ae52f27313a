// Layers, initialisers and activations: the public names of src/nn (the `nn` namespace of the
// package), and BUILTIN_LAYERS, the table of the layer classes src/nn defines (the classes above it,
// models and wrappers, join them in LAYER_CLASSES, src/loading/).
import type { Layer, LayerClasses, LayerConfig } from './layer.js';
import { registeredLayerFactory, registeredLayerNames } from './layer.js';
import { activationFromConfig } from './layers/activation.js';
import { addFromConfig } from './layers/add.js';
import { averagePooling2DFromConfig } from './layers/average-pooling2d.js';
import { batchNormalizationFromConfig } from './layers/batch-normalization.js';
import { conv2DFromConfig } from './layers/conv2d.js';
import { denseFromConfig } from './layers/dense.js';
import { dropoutFromConfig } from './layers/dropout.js';
import { embeddingFromConfig } from './layers/embedding.js';
import { flattenFromConfig } from './layers/flatten.js';
import { globalAveragePooling2DFromConfig } from './layers/global-average-pooling2d.js';
import { layerNormalizationFromConfig } from './layers/layer-normalization.js';
import { maxPooling2DFromConfig } from './layers/max-pooling2d.js';
import { multiHeadAttentionFromConfig } from './layers/multi-head-attention.js';
import { normalizationFromConfig } from './layers/normalization.js';
import { patchEmbeddingFromConfig } from './layers/patch-embedding.js';
import { rescalingFromConfig } from './layers/rescaling.js';
import { reshapeFromConfig } from './layers/reshape.js';
import { transformerBlockFromConfig } from './layers/transformer-block.js';

export { Layer, registerLayer, resetLayerNames } from './layer.js';
export type {
  BuildShape,
  CallContext,
  Initializer,
  LayerArgs,
  LayerClasses,
  LayerConfig,
  LayerFactory,
  Weight,
} from './layer.js';

/** The layer classes of src/nn by class name (getConfig()'s className): how a saved layer is rebuilt. */
export const BUILTIN_LAYERS: LayerClasses = new Map([
  ['Activation', activationFromConfig],
  ['Add', addFromConfig],
  ['AveragePooling2D', averagePooling2DFromConfig],
  ['BatchNormalization', batchNormalizationFromConfig],
  ['Conv2D', conv2DFromConfig],
  ['Dense', denseFromConfig],
  ['Dropout', dropoutFromConfig],
  ['Embedding', embeddingFromConfig],
  ['Flatten', flattenFromConfig],
  ['GlobalAveragePooling2D', globalAveragePooling2DFromConfig],
  ['LayerNormalization', layerNormalizationFromConfig],
  ['MaxPooling2D', maxPooling2DFromConfig],
  ['MultiHeadAttention', multiHeadAttentionFromConfig],
  ['Normalization', normalizationFromConfig],
  ['PatchEmbedding', patchEmbeddingFromConfig],
  ['Rescaling', rescalingFromConfig],
  ['Reshape', reshapeFromConfig],
  ['TransformerBlock', transformerBlockFromConfig],
]);

/**
 * A layer from its {className, config}: a class given to registerLayer(), else the class of that
 * name in `layers`, the table of the load (default: the layers of src/nn only; a model's config
 * needs LAYER_CLASSES, which has every class mnist-lab defines). The factory gets `layers` for
 * the layers below it.
 */
export function layerFromConfig(description: LayerConfig, layers: LayerClasses = BUILTIN_LAYERS): Layer {
  const { className } = description;
  const factory = registeredLayerFactory(className) ?? layers.get(className);
  if (!factory) {
    throw new Error(
      `unknown layer class '${className}' (known: ${registeredLayerClasses(layers).join(', ')}): ` +
        'load with the table that has it (LAYER_CLASSES has every mnist-lab class), or for a class of ' +
        'your own call registerLayer(className, factory) before loading',
    );
  }
  return factory(description.config, layers);
}

/** Every class name layerFromConfig(_, layers) knows: the table's and the registered ones, sorted. */
export function registeredLayerClasses(layers: LayerClasses = BUILTIN_LAYERS): string[] {
  return [...new Set([...layers.keys(), ...registeredLayerNames()])].sort();
}

export {
  computeFans,
  constant,
  getInitializer,
  glorotNormal,
  glorotUniform,
  heNormal,
  heUniform,
  lecunNormal,
  lecunUniform,
  ones,
  randomNormalInitializer,
  randomUniformInitializer,
  serializeInitializer,
  truncatedNormal,
  zeros,
} from './initializers.js';
export type {
  InitializerConfig,
  InitializerIdentifier,
  InitializerName,
  SerializableInitializer,
} from './initializers.js';

export { activationNames, getActivation } from './activations.js';
export type { ActivationFunction, ActivationName } from './activations.js';

export { Activation, activation } from './layers/activation.js';
export type { ActivationArgs } from './layers/activation.js';
export { Add, add } from './layers/add.js';
export type { AddArgs } from './layers/add.js';
export { AveragePooling2D, averagePooling2d } from './layers/average-pooling2d.js';
export { BatchNormalization, batchNormalization } from './layers/batch-normalization.js';
export type { BatchNormalizationArgs } from './layers/batch-normalization.js';
export { Conv2D, conv2d } from './layers/conv2d.js';
export type { Conv2DArgs } from './layers/conv2d.js';
export { Dense, dense } from './layers/dense.js';
export type { DenseArgs } from './layers/dense.js';
export { Dropout, dropout } from './layers/dropout.js';
export type { DropoutArgs } from './layers/dropout.js';
export { Embedding, embedding } from './layers/embedding.js';
export type { EmbeddingArgs } from './layers/embedding.js';
export { Flatten, flatten } from './layers/flatten.js';
export type { FlattenArgs } from './layers/flatten.js';
export { GlobalAveragePooling2D, globalAveragePooling2d } from './layers/global-average-pooling2d.js';
export type { GlobalAveragePooling2DArgs } from './layers/global-average-pooling2d.js';
export { LayerNormalization, layerNormalization } from './layers/layer-normalization.js';
export type { LayerNormalizationArgs } from './layers/layer-normalization.js';
export { MaxPooling2D, maxPooling2d } from './layers/max-pooling2d.js';
export { MultiHeadAttention, multiHeadAttention } from './layers/multi-head-attention.js';
export type {
  AttentionInputs,
  AttentionOptions,
  AttentionOutput,
  MultiHeadAttentionArgs,
} from './layers/multi-head-attention.js';
export { PatchEmbedding, patchEmbedding } from './layers/patch-embedding.js';
export type { PatchEmbeddingArgs } from './layers/patch-embedding.js';
export type { Pooling2DArgs } from './layers/pooling2d.js';
export { Normalization, normalization } from './layers/normalization.js';
export type { NormalizationArgs } from './layers/normalization.js';
export { Rescaling, rescaling } from './layers/rescaling.js';
export type { RescalingArgs } from './layers/rescaling.js';
export { Reshape, reshape } from './layers/reshape.js';
export type { ReshapeArgs } from './layers/reshape.js';
export { TransformerBlock, transformerBlock } from './layers/transformer-block.js';
export type { TransformerBlockArgs } from './layers/transformer-block.js';
