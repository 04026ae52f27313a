// Model: a layer made of layers, with the Keras training surface (compile / fit / evaluate /
// predict). The loop itself lives in trainer.ts; a model only wires layers in `call`.
//   - Sequential: layers applied in order.
//   - Subclass Model and wire layers freely in call() (residual blocks): register each sublayer
//     with this.track(layer) in the constructor so its weights are found and saved.
import type { Shape } from '../backend/kernels.js';
import { layerFromConfig } from '../nn/index.js';
import { Layer } from '../nn/layer.js';
import type { CallContext, LayerArgs, LayerClasses, LayerConfig, SublayerChanges } from '../nn/layer.js';
import type { RandomSource } from '../tensor/ops/creation.js';
import { Activation } from '../nn/layers/activation.js';
import { Dense } from '../nn/layers/dense.js';
import { Normalization } from '../nn/layers/normalization.js';
import type { InputNormalization } from '../data/normalize.js';
import { zeros } from '../tensor/ops/creation.js';
import { Tensor, noGrad, tidy } from '../tensor/tensor.js';
import { Random } from '../util/random.js';
import { evaluateModel, fitModel, predictModel } from './trainer.js';
import type {
  CompileConfig,
  EvaluateOptions,
  EvaluateResult,
  FitOptions,
  FitHistory,
  ImageInput,
  LabelInput,
  PredictOptions,
} from './types.js';

/** predict() options of a model: the trainer's, and `logits`. */
export interface ModelPredictOptions extends PredictOptions {
  /**
   * The outputs before a final softmax (see logitsModel): what `fromLogits: true` losses take and
   * what calibration methods rescale. Default false: the model's outputs as they are.
   */
  logits?: boolean;
}

/** Seeded-free source for building with zeros: shape tracing needs no randomness. */
const zeroRandom = { nextFloat: () => 0.5 };

export abstract class Model extends Layer {
  private readonly children: Layer[] = [];
  /** Set by compile(). */
  compiled: CompileConfig | undefined;

  /** Registers a sublayer (call in the constructor, in forward order for summary()). */
  protected track<T extends Layer>(layer: T): T {
    this.children.push(layer);
    return layer;
  }

  /** The layers track() registered, as created (before any replaceSublayer). */
  protected get trackedLayers(): readonly Layer[] {
    return this.children;
  }

  override get sublayers(): readonly Layer[] {
    return this.children.map((layer) => this.standIn(layer));
  }

  /** The model's direct layers, in forward order (a LoRA wrapper where one stands in). */
  get layers(): readonly Layer[] {
    return this.sublayers;
  }

  /**
   * The Normalization layer this model applies first to its input, if any: such a model takes
   * pixel / 255 and standardises it itself. Models that wire their own call() override this.
   */
  get inputNormalization(): Normalization | undefined {
    return undefined;
  }

  /**
   * The config with what it does not say about the layers below (SublayerChanges): a model built
   * from its hyperparameters (the vit) rebuilds its blocks as created, so a LoRA wrapper standing in
   * for a projection, a new head and the frozen layers are recorded here, and modelFromBytes puts
   * them back (restoreSublayerChanges). Nothing is added to a model that has none.
   */
  override toConfig(): LayerConfig {
    const changes = this.sublayerChanges();
    return changes ? { ...super.toConfig(), sublayers: changes } : super.toConfig();
  }

  /** The stand-ins and frozen layers below this model, or undefined when there are none. */
  protected sublayerChanges(): SublayerChanges | undefined {
    const standIns: NonNullable<SublayerChanges['standIns']> = [];
    const frozen: string[] = [];
    for (const { layer, replaces } of layersBelow(this)) {
      if (replaces) standIns.push({ path: replaces.name, layer: layer.toConfig() });
      if (!layer.trainable) frozen.push(layer.name);
    }
    if (standIns.length === 0 && frozen.length === 0) return undefined;
    return { ...(standIns.length > 0 ? { standIns } : {}), ...(frozen.length > 0 ? { frozen } : {}) };
  }

  /**
   * Builds every weight for inputs of `inputShape` (without the batch dimension) by tracing one
   * zero batch. Weights are initialised from `random` (seed it for reproducible initialisation;
   * the default is seed 0, never a constant source, which would give degenerate symmetric weights).
   */
  buildFor(inputShape: readonly number[], random: { nextFloat(): number } = new Random(0)): void {
    this.build([null, ...inputShape], random);
  }

  /**
   * Keras model.build(inputShape), batch first (`[null, 28, 28, 1]`), builds every layer below: their
   * shapes are found by tracing one zero example through call(), in inference mode.
   */
  protected override createWeights(inputShape: Shape, random: RandomSource): void {
    const example = inputShape.slice(1) as number[];
    tidy(() => noGrad(() => this.call(zeros([1, ...example]), { training: false, random })));
  }

  compile(config: CompileConfig): void {
    this.compiled = config;
  }

  /**
   * Trains on images (N,28,28) or (N,28,28,1) and labels, Keras-style; returns the history.
   * The deprecated `normalize` option trains this model behind a Normalization layer (see
   * withInputNormalization): the run's saved model carries it, this object does not.
   */
  async fit(x: ImageInput, y: LabelInput, options: FitOptions = {}): Promise<FitHistory> {
    const { normalize, ...rest } = options;
    return fitModel(normalize ? withInputNormalization(this, normalize) : this, x, y, rest);
  }

  async evaluate(x: ImageInput, y: LabelInput, options: EvaluateOptions = {}): Promise<EvaluateResult> {
    const { normalize, ...rest } = options;
    return evaluateModel(normalize ? withInputNormalization(this, normalize) : this, x, y, rest);
  }

  /** Model outputs (N, K) for images (with `logits: true`, before a final softmax); batched, inference mode. */
  predict(x: ImageInput, options: ModelPredictOptions = {}): Tensor {
    const { normalize, logits, ...rest } = options;
    let model: Model = normalize ? withInputNormalization(this, normalize) : this;
    if (logits) {
      if (!model.built && model.inputShape) model.buildFor(model.inputShape);
      model = model.logitsModel();
    }
    return predictModel(model, x, rest);
  }

  /**
   * This model without its final softmax: the same layers (shared weights), ending in logits. A
   * model that outputs logits already (every zoo model) is returned as it is. Sequential models drop
   * a final softmax Activation and a final Dense's softmax; a subclassed model whose call() ends in
   * a softmax overrides this.
   */
  logitsModel(): Model {
    return this;
  }

  /** Layer table: names, classes, output shapes and parameter counts, Keras style. */
  summary(print: (line: string) => void = console.log): string {
    if (!this.built) {
      if (!this.inputShape) {
        throw new Error(`summary(): model '${this.name}' is not built; give its first layer an inputShape`);
      }
      this.buildFor(this.inputShape);
    }
    const shapes = traceOutputShapes(this);
    const rows: [string, string, string][] = this.children.map((layer) => [
      `${layer.name} (${layer.className})`,
      formatShape(shapes.get(layer)),
      layer.countParams().toLocaleString('en-US'),
    ]);
    const header: [string, string, string] = ['Layer (type)', 'Output Shape', 'Param #'];
    const widths = [0, 1, 2].map((i) => Math.max(...[header, ...rows].map((r) => r[i]?.length ?? 0)) + 2);
    const line = (r: [string, string, string]): string =>
      r[0].padEnd(widths[0] as number) + r[1].padEnd(widths[1] as number) + r[2];
    const total = this.countParams();
    const trainable = this.trainableWeights.reduce((n, w) => n + w.value.size, 0);
    const rule = '─'.repeat(widths.reduce((a, b) => a + b, 0) + 4);
    const text = [
      `Model: "${this.name}"`,
      rule,
      line(header),
      rule,
      ...rows.map(line),
      rule,
      `Total params: ${total.toLocaleString('en-US')}`,
      `Trainable params: ${trainable.toLocaleString('en-US')}`,
      `Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`,
    ].join('\n');
    print(text);
    return text;
  }
}

function formatShape(shape: Shape | undefined): string {
  return shape ? `(None, ${shape.slice(1).join(', ')})` : '?';
}

/** Output shape of each direct sublayer, found by running one zero batch with apply() observed. */
function traceOutputShapes(model: Model): Map<Layer, Shape> {
  const shapes = new Map<Layer, Shape>();
  const restore: (() => void)[] = [];
  for (const layer of model.sublayers) {
    const original = layer.apply.bind(layer);
    layer.apply = (x: Tensor, context: CallContext): Tensor => {
      const out = original(x, context);
      shapes.set(layer, out.shape);
      return out;
    };
    restore.push(() => {
      // Remove the instance override so the prototype method is used again.
      delete (layer as { apply?: unknown }).apply;
    });
  }
  try {
    tidy(() =>
      noGrad(() =>
        model.apply(zeros([1, ...(model.inputShape ?? [])]), { training: false, random: zeroRandom }),
      ),
    );
  } finally {
    for (const undo of restore) undo();
  }
  return shapes;
}

export interface SequentialArgs extends LayerArgs {
  layers?: readonly Layer[];
}

/** Layers applied one after another. */
export class Sequential extends Model {
  readonly className = 'Sequential';

  constructor(args: SequentialArgs = {}) {
    super(args, 'sequential');
    for (const layer of args.layers ?? []) this.add(layer);
  }

  override get inputNormalization(): Normalization | undefined {
    const first = this.sublayers[0];
    if (first instanceof Normalization) return first;
    return first instanceof Model ? first.inputNormalization : undefined;
  }

  /** Any layer of a Sequential may be swapped (Layer.replaceSublayer). */
  protected override get swappableSublayers(): readonly Layer[] {
    return this.trackedLayers;
  }

  override logitsModel(): Model {
    const layers = this.sublayers;
    const last = layers[layers.length - 1];
    let tail: Layer[];
    if (last instanceof Activation && last.activation === 'softmax') tail = [];
    else if (last instanceof Dense && last.activation === 'softmax') tail = [linearView(last)];
    else if (last instanceof Model && last.logitsModel() !== last) tail = [last.logitsModel()];
    else return this;
    const inputShape = this.inputShape ? { inputShape: [...this.inputShape] } : {};
    const view = new Sequential({
      name: this.name,
      layers: [...layers.slice(0, -1), ...tail],
      ...inputShape,
    });
    view.built = this.built;
    return view;
  }

  add(layer: Layer): void {
    if (this.sublayers.length === 0 && layer.inputShape && !this.inputShape)
      this.inputShape = [...layer.inputShape];
    this.track(layer);
  }

  call(x: Tensor, context: CallContext): Tensor {
    let out = x;
    for (const layer of this.sublayers) {
      try {
        out = layer.apply(out, context);
      } catch (error) {
        throw withLayerName(layer, out.shape, error);
      }
    }
    return out;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), layers: this.sublayers.map((layer) => layer.toConfig()) };
  }

  /** None: the config lists its layers as they are (wrappers, new heads, trainable flags). */
  protected override sublayerChanges(): SublayerChanges | undefined {
    return undefined;
  }
}

/** `layer` with a linear activation: a Dense sharing its kernel and bias (no weights of its own). */
function linearView(layer: Dense): Dense {
  if (!layer.built || !layer.kernel) {
    throw new Error(
      `predict({logits: true}): layer '${layer.name}' is not built yet; build the model first (model.build([null, ...inputShape]))`,
    );
  }
  const view = new Dense({ name: layer.name, units: layer.units, useBias: layer.useBias });
  view.kernel = layer.kernel;
  view.bias = layer.bias;
  view.inputShape = layer.inputShape ? [...layer.inputShape] : undefined;
  view.built = true;
  return view;
}

/**
 * A shape error from inside a layer (a kernel's check) names the layer and its input shape. The
 * error itself goes on with its message prefixed, so a typed error keeps its class and its fields.
 */
function withLayerName(layer: Layer, inputShape: Shape, error: unknown): unknown {
  if (!(error instanceof Error) || error.message.includes(`'${layer.name}'`)) return error;
  const header = `${error.name}: ${error.message}`;
  try {
    error.message = `${layer.className} '${layer.name}' (input ${formatShape(inputShape)}): ${error.message}`;
  } catch {
    return error; // a message that cannot be set (a DOMException's is a getter) stays as it is
  }
  // V8 formats a stack when it is first read, from the message then; one read before keeps the old.
  if (error.stack?.startsWith(header))
    error.stack = `${error.name}: ${error.message}${error.stack.slice(header.length)}`;
  return error;
}

/**
 * `model` behind a leading Normalization layer with `normalization`: a model that takes pixel / 255
 * and standardises it itself. The layers are shared (training one trains the other); a Sequential
 * stays flat ([normalization, ...its layers]), any other model is wrapped ([normalization, model]).
 * Weight names do not change, so checkpoints of either load into the other. Throws when `model`
 * already starts with a Normalization: inputs would be standardised twice.
 */
export function withInputNormalization(model: Model, normalization: InputNormalization): Model {
  const existing = model.inputNormalization;
  if (existing) {
    throw new Error(
      `model '${model.name}' already standardises its inputs (its layer '${existing.name}': mean ` +
        `${existing.mean}, std ${existing.std}); drop the normalize option, or it would standardise twice`,
    );
  }
  const taken = new Set(model.layers.map((layer) => layer.name));
  let name = 'input_normalization';
  for (let k = 1; taken.has(name); k++) name = `input_normalization_${k}`;
  const inputShape = model.inputShape ? { inputShape: [...model.inputShape] } : {};
  const layer = new Normalization({ name, mean: normalization.mean, std: normalization.std, ...inputShape });
  const layers = model instanceof Sequential ? model.layers : [model];
  const wrapped = new Sequential({ name: model.name, layers: [layer, ...layers], ...inputShape });
  wrapped.built = model.built;
  wrapped.compiled = model.compiled;
  return wrapped;
}

/** Keras/TF.js `tf.sequential({layers})`, also callable with the array directly. */
export function sequential(layers: readonly Layer[] | SequentialArgs = {}): Sequential {
  return new Sequential(
    Array.isArray(layers) ? { layers: layers as readonly Layer[] } : (layers as SequentialArgs),
  );
}

/** A Sequential from its getConfig(), its layers rebuilt from `classes` (its row in LAYER_CLASSES). */
export function sequentialFromConfig(config: Record<string, unknown>, classes: LayerClasses): Sequential {
  const layers = ((config['layers'] as LayerConfig[] | undefined) ?? []).map((layer) =>
    layerFromConfig(layer, classes),
  );
  const args: SequentialArgs = { layers };
  if (typeof config['name'] === 'string') args.name = config['name'];
  if (typeof config['trainable'] === 'boolean') args.trainable = config['trainable'];
  if (Array.isArray(config['inputShape'])) args.inputShape = config['inputShape'] as number[];
  return new Sequential(args);
}

/** A layer below a model, the layer holding it, and the layer it stands in for there, if any. */
interface LayerBelow {
  layer: Layer;
  parent: Layer;
  replaces: Layer | undefined;
}

/**
 * Every layer below `root`, depth first in forward order (a parent before its sublayers), without
 * going inside a stand-in: its own config holds what is inside it.
 */
export function layersBelow(root: Layer): LayerBelow[] {
  const out: LayerBelow[] = [];
  const visit = (parent: Layer): void => {
    for (const layer of parent.sublayers) {
      const replaces = parent.replacedBy(layer);
      out.push({ layer, parent, replaces });
      if (!replaces) visit(layer);
    }
  };
  visit(root);
  return out;
}
