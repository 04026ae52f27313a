// The layer graph of a model: which layer consumes which value, found by running the model once.
// Both exporters use it (TF.js functional topology, ONNX graph): subclassed models such as the zoo's
// ResNet wire layers in code, so their structure exists only while call() runs.
//
// How: every leaf layer's apply() is wrapped for one forward pass of a zero batch (1, ...inputShape)
// in inference mode with gradients recorded; each call becomes a node. Ops a model's call() applies
// between layers (ResNet's relu(x), a residual add(a, b)) are found on the autograd record of the
// tensors the next layer receives, and become 'activation' / 'add' nodes. Anything else there
// cannot be expressed and is refused, naming the op.
import type { Shape } from '../../backend/kernels.js';
import { Dropout } from '../../nn/layers/dropout.js';
import type { CallContext, Layer } from '../../nn/layer.js';
import { zeros } from '../../tensor/ops/creation.js';
import { Tensor, tidy } from '../../tensor/tensor.js';
import type { Model } from '../../train/model.js';

/** A node of the graph. Value ids are indices into LayerGraph.shapes. */
export type GraphNode =
  | { kind: 'layer'; layer: Layer; inputs: number[]; output: number }
  /** An activation function applied in a model's call() (not a layer): our activation name. */
  | { kind: 'activation'; activation: 'relu' | 'sigmoid' | 'tanh'; inputs: [number]; output: number }
  /** An elementwise sum of equal-shape tensors computed in call() with the add op. */
  | { kind: 'add'; inputs: number[]; output: number };

export interface LayerGraph {
  /** Value id of the model input. */
  input: number;
  /** Value id of the model output. */
  output: number;
  /** Shape of every value, batch dimension 1 first (as traced). */
  shapes: Shape[];
  /** Nodes in execution order (topological). */
  nodes: GraphNode[];
}

/** Autograd op names of activation functions call() may apply between layers. */
const GLUE_ACTIVATIONS: Record<string, 'relu' | 'sigmoid' | 'tanh'> = {
  relu: 'relu',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
};

/** The layers that do the work: layers without sublayers, depth first. */
export function leafLayers(layer: Layer): Layer[] {
  return layer.sublayers.length === 0 ? [layer] : layer.sublayers.flatMap(leafLayers);
}

const TRACE_RANDOM = { nextFloat: (): number => 0.5 };

/** Traces `model` on inputs of `inputShape` (without the batch dimension). The model must be built. */
export function traceLayerGraph(model: Model, inputShape: readonly number[]): LayerGraph {
  const shapes: Shape[] = [];
  const nodes: GraphNode[] = [];
  const ids = new Map<Tensor, number>();
  const newValue = (t: Tensor): number => {
    shapes.push([...t.shape]);
    ids.set(t, shapes.length - 1);
    return shapes.length - 1;
  };
  const calls = new Map<Layer, number>();

  // The value id of `t`: a known value, or an op of call() between layers, resolved recursively.
  const resolve = (t: Tensor, consumer: string): number => {
    const known = ids.get(t);
    if (known !== undefined) return known;
    const node = t.node;
    const glue = node ? GLUE_ACTIVATIONS[node.op] : undefined;
    if (node && glue && node.inputs.length === 1) {
      const input = resolve(node.inputs[0] as Tensor, consumer);
      const output = newValue(t);
      nodes.push({ kind: 'activation', activation: glue, inputs: [input], output });
      return output;
    }
    if (node?.op === 'add' && node.inputs.every((u) => sameShape(u.shape, t.shape))) {
      const inputs = node.inputs.map((u) => resolve(u, consumer));
      const output = newValue(t);
      nodes.push({ kind: 'add', inputs, output });
      return output;
    }
    throw new Error(
      `cannot export model '${model.name}': the input of ${consumer} is computed in call() by ` +
        `'${node?.op ?? 'a constant'}', which is not a layer; only relu/sigmoid/tanh and add of two ` +
        'layer outputs can be exported from call(). Use a layer for it (activation(), add(), ...)',
    );
  };

  const restore: (() => void)[] = [];
  for (const layer of leafLayers(model)) {
    const original = layer.apply.bind(layer) as (x: Tensor | readonly Tensor[], c: CallContext) => Tensor;
    const wrapped = (x: Tensor | readonly Tensor[], context: CallContext): Tensor => {
      const consumer = `${layer.className} '${layer.name}'`;
      const inputs = (Array.isArray(x) ? x : [x as Tensor]).map((t) => resolve(t, consumer));
      calls.set(layer, (calls.get(layer) ?? 0) + 1);
      if (calls.get(layer) === 2) {
        throw new Error(
          `cannot export model '${model.name}': layer '${layer.name}' is applied twice (shared ` +
            'weights); exported graphs need one layer per use',
        );
      }
      const out = original(x, context);
      // Identity in inference (Dropout returns its input): the value passes through unchanged.
      if (ids.has(out) && layer instanceof Dropout) return out;
      nodes.push({ kind: 'layer', layer, inputs, output: newValue(out) });
      return out;
    };
    (layer as { apply: unknown }).apply = wrapped;
    restore.push(() => delete (layer as { apply?: unknown }).apply);
  }
  try {
    let ends = { input: 0, output: 0 };
    // The tidy frees the traced activations; only numbers leave it.
    tidy(() => {
      const x = zeros([1, ...inputShape]);
      // Recorded ops let resolve() see what call() computes between layers.
      x.requiresGrad = true;
      const input = newValue(x);
      const y = model.apply(x, { training: false, random: TRACE_RANDOM });
      ends = { input, output: resolve(y, `the output of model '${model.name}'`) };
    });
    return { ...ends, shapes, nodes };
  } finally {
    for (const undo of restore) undo();
  }
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The input shape an exported model takes, without the batch dimension: MNIST images [28, 28, 1]
 * for models of 28x28 images (the mlp recipe declares [28, 28]; its Flatten gives the same 784
 * values for [28, 28, 1]), else the model's own input shape.
 */
export function exportInputShape(model: Model): number[] {
  const own = model.inputShape ?? [28, 28, 1];
  const image = own[0] === 28 && own[1] === 28 && (own.length === 2 || (own.length === 3 && own[2] === 1));
  return image ? [28, 28, 1] : [...own];
}
