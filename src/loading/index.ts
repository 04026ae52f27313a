// Loading a saved model: LAYER_CLASSES, the one table of every layer and model class mnist-lab
// defines (a saved file names each layer by its className), and modelFromBytes, the loader that
// passes it. It sits above every module that defines a class, so none of them registers itself and
// what loads does not depend on what was imported; the CLI and the server pass this table down to
// the code that loads runs (evaluation, fine-tuning). Browser-safe; loadModel is in node.ts.
import { BUILTIN_LAYERS } from '../nn/index.js';
import type { LayerClasses } from '../nn/layer.js';
import { loraFromConfig } from '../finetune/lora.js';
import { functionalFromConfig } from '../io/tfjs/functional.js';
import { maskedAutoencoderFromConfig } from '../pretrain/mae.js';
import { decodeModel } from '../train/model-file.js';
import { sequentialFromConfig, type Model } from '../train/model.js';
import { resNetFromConfig, residualBlockFromConfig } from '../zoo/resnet.js';
import { visionTransformerFromConfig } from '../zoo/vit.js';

/**
 * Every layer and model class of mnist-lab by className: the layers of src/nn (BUILTIN_LAYERS),
 * then the models and wrappers built on them. A class of your own is not added here but given to
 * registerLayer(), which every load consults first.
 */
export const LAYER_CLASSES: LayerClasses = new Map([
  ...BUILTIN_LAYERS,
  ['Sequential', sequentialFromConfig],
  ['ResidualBlock', residualBlockFromConfig],
  ['ResNet', resNetFromConfig],
  ['VisionTransformer', visionTransformerFromConfig],
  ['MaskedAutoencoder', maskedAutoencoderFromConfig],
  ['Functional', functionalFromConfig],
  ['LoraDense', loraFromConfig],
  ['LoraConv2D', loraFromConfig],
]);

/**
 * Rebuilds a model from model.safetensors bytes (what encodeModel and every run write): the
 * architecture from the file's metadata, each class from LAYER_CLASSES or registerLayer(), then the
 * weights. `source` names the bytes in errors.
 */
export function modelFromBytes(bytes: Uint8Array, source = 'model.safetensors'): Model {
  return decodeModel(bytes, LAYER_CLASSES, source);
}
