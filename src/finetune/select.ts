// Choosing layers of a model by name, glob or index range, and freezing/unfreezing them. Pure and
// browser-safe. A selector is one string:
//   'dense_1'            a layer name
//   'conv*', 'conv2d_?'  a glob over layer names ('*' any run of characters, '?' one character)
//   '0-3', '2', '-1'     layer indices (0-based, inclusive ranges; negative counts from the end)
// and several are joined with commas: 'conv*,0-1'. Layers are the model's direct sublayers
// (model.layers), in forward order.
import type { Layer } from '../nn/layer.js';
import type { Model } from '../train/model.js';

/** A glob over layer names as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

function indexOf(text: string, count: number): number {
  const n = Number(text);
  return n < 0 ? count + n : n;
}

/** The layers a selector names, in model order; throws naming the selector when it matches none. */
export function selectLayers(model: Model, selector: string): Layer[] {
  const layers = model.layers;
  const chosen = new Set<Layer>();
  for (const part of selector.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const range = /^(-?\d+)(?:\s*(?:-|\.\.)\s*(-?\d+))?$/.exec(part);
    let matched: Layer[];
    if (range) {
      const first = indexOf(range[1] as string, layers.length);
      const last = range[2] === undefined ? first : indexOf(range[2], layers.length);
      if (first < 0 || last >= layers.length || last < first) {
        throw new Error(
          `layer range '${part}': model '${model.name}' has layers 0-${layers.length - 1}; ` +
            'give a range inside it (e.g. 0-3)',
        );
      }
      matched = layers.slice(first, last + 1);
    } else {
      const pattern = globToRegExp(part);
      matched = layers.filter((layer) => pattern.test(layer.name));
    }
    if (matched.length === 0) {
      throw new Error(
        `layer pattern '${part}' matches no layer of model '${model.name}' ` +
          `(layers: ${layers.map((l) => l.name).join(', ')})`,
      );
    }
    for (const layer of matched) chosen.add(layer);
  }
  return layers.filter((layer) => chosen.has(layer));
}

/** Layers from the first up to and including the one named `name` (Keras-style "freeze until"). */
export function layersUntil(model: Model, name: string): Layer[] {
  const layers = model.layers;
  const pattern = globToRegExp(name);
  const index = layers.findIndex((layer) => pattern.test(layer.name));
  if (index < 0) {
    throw new Error(
      `--freeze-until '${name}': no layer of model '${model.name}' has that name ` +
        `(layers: ${layers.map((l) => l.name).join(', ')})`,
    );
  }
  return layers.slice(0, index + 1);
}

/** Sets trainable = false on the selected layers; returns them. Frozen batch norm runs in inference mode. */
export function freeze(model: Model, selector: string): Layer[] {
  const layers = selectLayers(model, selector);
  for (const layer of layers) layer.trainable = false;
  return layers;
}

/** Sets trainable = true on the selected layers; returns them. */
export function unfreeze(model: Model, selector: string): Layer[] {
  const layers = selectLayers(model, selector);
  for (const layer of layers) layer.trainable = true;
  return layers;
}

/** Freezes every layer up to and including `name`, and unfreezes the rest. */
export function freezeUntil(model: Model, name: string): Layer[] {
  const frozen = new Set(layersUntil(model, name));
  for (const layer of model.layers) layer.trainable = !frozen.has(layer);
  return [...frozen];
}

/** Freezes every layer except the selected ones (those are made trainable). */
export function freezeAllBut(model: Model, selector: string): Layer[] {
  const keep = new Set(selectLayers(model, selector));
  for (const layer of model.layers) layer.trainable = keep.has(layer);
  return model.layers.filter((layer) => !keep.has(layer));
}
