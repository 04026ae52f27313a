// Functional: a model that is a graph of layers, what a Keras/TF.js functional model imports as.
// One input, one output; every node applies one layer to the outputs of earlier nodes (or the
// input), by name. LAYER_CLASSES (src/loading/) has it, so an imported model saves and loads like
// any other (model.safetensors keeps the graph in its config).
import { layerFromConfig } from '../../nn/index.js';
import type { CallContext, Layer, LayerArgs, LayerClasses, LayerConfig } from '../../nn/layer.js';
import { Add } from '../../nn/layers/add.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Model } from '../../train/model.js';

export interface FunctionalNode {
  layer: Layer;
  /** Names of the values the layer takes: the input's name or earlier layers' names. */
  inbound: readonly string[];
}

export interface FunctionalArgs extends LayerArgs {
  /** Name of the input value (the Keras InputLayer's name). */
  inputName: string;
  /** In execution order: every inbound name is the input or an earlier node's layer. */
  nodes: readonly FunctionalNode[];
  /** The layer whose output is the model's output. */
  outputName: string;
}

export class Functional extends Model {
  readonly className = 'Functional';
  readonly inputName: string;
  readonly outputName: string;
  readonly nodes: readonly FunctionalNode[];

  constructor(args: FunctionalArgs) {
    super(args, 'functional');
    this.inputName = args.inputName;
    this.outputName = args.outputName;
    this.nodes = args.nodes;
    const defined = new Set([args.inputName]);
    for (const node of args.nodes) {
      for (const name of node.inbound) {
        if (!defined.has(name)) {
          throw new Error(
            `Functional '${this.name}': layer '${node.layer.name}' takes '${name}', which is not ` +
              'the input or an earlier layer (nodes must be in execution order)',
          );
        }
      }
      if (defined.has(node.layer.name)) {
        throw new Error(`Functional '${this.name}': two values are named '${node.layer.name}'`);
      }
      defined.add(node.layer.name);
      this.track(node.layer);
    }
    if (!defined.has(args.outputName)) {
      throw new Error(`Functional '${this.name}': output '${args.outputName}' is not a layer of the model`);
    }
  }

  call(x: Tensor, context: CallContext): Tensor {
    const values = new Map<string, Tensor>([[this.inputName, x]]);
    for (const { layer, inbound } of this.nodes) {
      const inputs = inbound.map((name) => values.get(name) as Tensor);
      const out =
        layer instanceof Add ? layer.apply(inputs, context) : layer.apply(inputs[0] as Tensor, context);
      values.set(layer.name, out);
    }
    return values.get(this.outputName) as Tensor;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      inputName: this.inputName,
      outputName: this.outputName,
      nodes: this.nodes.map((node) => ({ layer: node.layer.toConfig(), inbound: node.inbound })),
    };
  }
}

/** A Functional from its getConfig(), each node's layer rebuilt from `classes` (its row in LAYER_CLASSES). */
export function functionalFromConfig(config: Record<string, unknown>, classes: LayerClasses): Functional {
  const nodes = (config['nodes'] as { layer: LayerConfig; inbound: string[] }[]).map((node) => ({
    layer: layerFromConfig(node.layer, classes),
    inbound: node.inbound,
  }));
  const args: FunctionalArgs = {
    inputName: config['inputName'] as string,
    outputName: config['outputName'] as string,
    nodes,
  };
  if (typeof config['name'] === 'string') args.name = config['name'];
  if (typeof config['trainable'] === 'boolean') args.trainable = config['trainable'];
  if (Array.isArray(config['inputShape'])) args.inputShape = config['inputShape'] as number[];
  return new Functional(args);
}
