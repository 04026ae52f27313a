// From a pretraining run to a classifier: the encoder of a masked autoencoder (its decoder dropped)
// becomes a VisionTransformer classifier with a fresh head. Weight names are the vit's own
// ('block3/attention/query/kernel'), so the classifier is a vit like one `mnist-lab train --model
// vit` writes: evaluate, predict, serve and further fine-tuning read it as any run. Browser-safe.
import { namedWeights } from '../train/checkpoint.js';
import type { Model } from '../train/model.js';
import { Random } from '../util/random.js';
import { VisionTransformer, visionTransformerFromConfig } from '../zoo/vit.js';
import { MaskedAutoencoder } from './mae.js';

/** True for a model that holds a pretrained encoder (a masked autoencoder). */
export function isPretrainingModel(model: Model): model is MaskedAutoencoder {
  return model instanceof MaskedAutoencoder;
}

/**
 * The encoder of a pretraining model; `source` names where it came from in the error. A model that
 * is not an encoder, or one made for other images than the task's, fails with one line saying
 * what was found and what is needed.
 */
export function pretrainedEncoder(
  model: Model,
  source: string,
  taskInputShape?: readonly number[],
): VisionTransformer {
  if (!isPretrainingModel(model)) {
    throw new Error(
      `${source} holds a ${model.className} ('${model.name}'), not a pretrained encoder; ` +
        "give a run of 'mnist-lab pretrain' (a MaskedAutoencoder around a vit)",
    );
  }
  const encoder = model.encoder;
  const shape = encoder.inputShape ?? [28, 28, 1];
  if (taskInputShape && shape.join('x') !== taskInputShape.join('x')) {
    throw new Error(
      `${source}: its encoder takes ${shape.join('x')} images, the task has ${taskInputShape.join('x')}; ` +
        "pretrain on images of the task's shape",
    );
  }
  return encoder;
}

/**
 * A VisionTransformer of `encoder`'s architecture with `classes` outputs: every weight but the
 * head's copied from `encoder` (by name), the head fresh from `seed`. `encoder` is not changed.
 */
export function classifierFromEncoder(
  encoder: VisionTransformer,
  classes: number,
  seed = 0,
): VisionTransformer {
  const config = { ...encoder.getConfig(), classes };
  const classifier = visionTransformerFromConfig(config);
  classifier.buildFor(encoder.inputShape ?? [28, 28, 1], new Random(seed));
  const source = new Map(namedWeights(encoder).map((w) => [w.name, w.value]));
  const headPrefix = `${classifier.head.name}/`;
  for (const { name, value } of namedWeights(classifier)) {
    if (name.startsWith(headPrefix)) continue;
    const from = source.get(name);
    if (!from || from.size !== value.size) {
      throw new Error(
        `classifierFromEncoder: the encoder has no weight '${name}' of shape [${value.shape.join(', ')}]`,
      );
    }
    value.data.set(from.data);
  }
  return classifier;
}
