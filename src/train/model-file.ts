// A Model from model.safetensors bytes: the architecture from the metadata (with what it records
// below a model built from its hyperparameters: LoRA wrappers, a new head, frozen layers), then the
// weights. Above both model.ts and the checkpoint codec (checkpoint.ts), which know nothing of it.
// The classes the file may name come from the caller (LAYER_CLASSES, src/loading/, has them all).
import { decodeSafetensors } from '../formats/safetensors.js';
import { layerFromConfig } from '../nn/index.js';
import { foldPaths } from '../nn/layer.js';
import type { LayerClasses, LayerConfig, SublayerChanges } from '../nn/layer.js';
import { copyInto, DEFAULT_INPUT_SHAPE, MODEL_FORMAT, namedWeights } from './checkpoint.js';
import { Model, layersBelow } from './model.js';

/** Building with zeros: a stand-in's shape needs no randomness. */
const zeroRandom = { nextFloat: () => 0.5 };

/**
 * Rebuilds a model from model.safetensors bytes (encodeModel's): architecture from the metadata,
 * each class looked up in `layers` (and registerLayer's), then weights. `source` names the file in
 * errors. The public modelFromBytes (src/loading/) is this with LAYER_CLASSES.
 */
export function decodeModel(bytes: Uint8Array, layers: LayerClasses, source = 'model.safetensors'): Model {
  const file = decodeSafetensors(bytes, source);
  const { format, model_config: modelConfig, input_shape: inputShape } = file.metadata;
  if (format !== MODEL_FORMAT || modelConfig === undefined) {
    throw new Error(
      `${source}: not an mnist-lab model file (metadata format '${format}', expected '${MODEL_FORMAT}')`,
    );
  }
  const config = JSON.parse(modelConfig) as LayerConfig;
  const layer = layerFromConfig(config, layers);
  if (!(layer instanceof Model)) {
    throw new Error(`${source}: the saved architecture is a ${layer.className}, not a model`);
  }
  layer.buildFor(
    layer.inputShape ?? (inputShape ? (JSON.parse(inputShape) as number[]) : DEFAULT_INPUT_SHAPE),
  );
  // Below a model built from its hyperparameters (the vit): LoRA wrappers, a new head, frozen layers.
  if (config.sublayers) restoreSublayerChanges(layer, config.sublayers, layers, source);
  copyInto(namedWeights(layer), file, source);
  return layer;
}

/**
 * Puts back what Model.toConfig recorded below a model just rebuilt and built from its config:
 * each stand-in (a LoRA wrapper, a new head) built and swapped in for the layer it replaced, then
 * every layer's trainable flag. `source` names the file in errors.
 */
function restoreSublayerChanges(
  model: Model,
  changes: SublayerChanges,
  layers: LayerClasses,
  source: string,
): void {
  for (const { path, layer: config } of changes.standIns ?? []) {
    const below = layersBelow(model);
    const target = below.find(({ layer }) => layer.name === path);
    if (!target) {
      throw new Error(
        `${source}: records a ${config.className} in place of layer '${path}', but ${model.className} ` +
          `'${model.name}' has no layer '${path}' (its layers: ${foldPaths(below.map(({ layer }) => layer.name))}); ` +
          'the file does not match its architecture: save the model again or load the adapter onto its base',
      );
    }
    const replacement = layerFromConfig(config, layers);
    const inputShape = replacement.inputShape ?? target.layer.inputShape;
    if (!inputShape) {
      throw new Error(
        `${source}: the ${config.className} recorded in place of layer '${path}' has no input shape; save the model again`,
      );
    }
    replacement.build([null, ...inputShape], zeroRandom);
    if (!target.parent.replaceSublayer(target.layer, replacement)) {
      throw new Error(
        `${source}: records a ${config.className} in place of layer '${path}', but ` +
          `${target.parent.className} '${target.parent.name}' cannot swap that layer; save the model again`,
      );
    }
  }
  if (changes.frozen) {
    const frozen = new Set(changes.frozen);
    // A parent's flag reaches every layer below it, so parents come first and their sublayers after.
    for (const { layer } of layersBelow(model)) layer.trainable = !frozen.has(layer.name);
  }
}
