// A new classification head: the base model's last Dense layer replaced by a fresh one with the new
// task's class count; every other layer (and its weights) is kept, shared with the base model
// object. Pure and browser-safe.
import { Dense } from '../nn/layers/dense.js';
import { Sequential } from '../train/model.js';
import type { Model } from '../train/model.js';
import { DEFAULT_INPUT_SHAPE } from '../train/checkpoint.js';
import { Random } from '../util/random.js';

export interface NewHeadOptions {
  /** Seeds the new head's initial weights. Default 0. */
  seed?: number;
  /** Name of the new layer. Default 'head' (with a suffix if taken). */
  name?: string;
}

const NEW_HEAD_DEFAULTS = { seed: 0, name: 'head' } as const;

/** The index of the classifier: the last layer that has weights, which must be a Dense layer. */
export function classifierIndex(model: Model): number {
  const layers = model.layers;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (layer && layer.weights.length > 0) {
      if (!(layer instanceof Dense)) {
        throw new Error(
          `model '${model.name}': its last layer with weights, '${layer.name}', is a ${layer.className}, ` +
            'expected a Dense classifier to replace',
        );
      }
      return i;
    }
  }
  throw new Error(`model '${model.name}' has no layer with weights to replace with a new head`);
}

/**
 * `model` with its classifier (last Dense) replaced by one of `classes` outputs and fresh weights:
 * a new Sequential sharing the other layers, or, for a model whose classifier slot can be swapped
 * (the vit; Layer.replaceSublayer), the same model changed in place, the new head taking the old
 * one's name. The model is built; compile it before fitting.
 */
export function replaceHead(model: Model, classes: number, options: NewHeadOptions = {}): Model {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(`replaceHead: classes must be a positive whole number, found ${classes}`);
  }
  const o = { ...NEW_HEAD_DEFAULTS, ...options };
  const index = classifierIndex(model);
  const old = model.layers[index] as Dense;
  if (!(model instanceof Sequential)) return replaceHeadInPlace(model, old, classes, o.seed);
  const taken = new Set(model.layers.map((l) => l.name));
  let name = o.name;
  for (let k = 1; taken.has(name); k++) name = `${o.name}_${k}`;
  const head = new Dense({
    name,
    units: classes,
    activation: old.activation,
    useBias: old.useBias,
    kernelInitializer: old.kernelInitializer,
    biasInitializer: old.biasInitializer,
  });
  const layers = [...model.layers];
  layers[index] = head;
  const adapted = new Sequential({
    name: model.name,
    layers,
    ...(model.inputShape ? { inputShape: model.inputShape } : {}),
  });
  adapted.buildFor(model.inputShape ?? DEFAULT_INPUT_SHAPE, new Random(o.seed));
  return adapted;
}

function replaceHeadInPlace(model: Model, old: Dense, classes: number, seed: number): Model {
  const head = new Dense({
    name: old.name,
    units: classes,
    activation: old.activation,
    useBias: old.useBias,
    kernelInitializer: old.kernelInitializer,
    biasInitializer: old.biasInitializer,
  });
  if (!old.inputShape || !model.replaceSublayer(old, head)) {
    throw new Error(
      `replaceHead: model '${model.name}' is a ${model.className} whose classifier '${old.name}' cannot be ` +
        'swapped; build the new model in code and copy the trunk weights',
    );
  }
  head.inputShape = [...old.inputShape];
  head.build([1, ...old.inputShape], new Random(seed));
  head.built = true;
  return model;
}

/** The class count of a model's classifier (units of its last Dense layer). */
export function headClasses(model: Model): number {
  return (model.layers[classifierIndex(model)] as Dense).units;
}
