// Layers, initialisers and activations: the public names of src/nn. Importing this module
// registers every built-in layer class for layerFromConfig().

export { Layer, layerFromConfig, registerLayer, registeredLayerClasses, resetLayerNames } from './layer.js';
export type { BuildShape, CallContext, Initializer, LayerArgs, LayerConfig, Weight } from './layer.js';

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
