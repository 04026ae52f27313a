// Layer: the unit models are made of. A layer owns weights, builds them for the first input shape
// it sees, and maps a tensor to a tensor in `call`. Layers know nothing of training loops
// (src/train) or backends (src/backend); they only call tensor ops.
import type { Shape } from '../backend/kernels.js';
import { clone, type RandomSource } from '../tensor/ops/creation.js';
import type { CrossReplica } from '../tensor/ops/cross-replica.js';
import { Tensor, keep } from '../tensor/tensor.js';
import { Random } from '../util/random.js';

/** What a forward pass needs besides its input. */
export interface CallContext {
  /** Dropout active, batch norm on batch statistics and updating its moving ones. */
  training: boolean;
  /** Seeded source for dropout masks and other randomness of the forward pass. */
  random: RandomSource;
  /**
   * The Normalization layer whose output this input already is: the batch pipeline folded the
   * model's leading normalisation into its pixel lookup (same arithmetic, bit for bit), so that
   * layer passes the input through.
   */
  normalizedBy?: Layer | undefined;
  /**
   * Data-parallel training with synchronised batch norm (--sync-bn): batch norm takes the global
   * batch's statistics over every process. Absent: the statistics of this process's batch.
   */
  crossReplica?: CrossReplica | undefined;
  /** Data-parallel training: where this call's rows sit in the global batch (see BatchShare). */
  batchShare?: BatchShare | undefined;
}

/**
 * Data-parallel training: this call's B rows are rows [begin, begin + B) of a global batch of
 * `rows`, and `random` is that global batch's stream, the same on every process. A layer that draws
 * randomness per example (the masked autoencoder's patch masks) draws it for all `rows` from
 * `random` and keeps its own, so the draws are those of one process on the whole batch, however the
 * batch is shared. Absent: the call's batch is the whole batch.
 */
export interface BatchShare {
  begin: number;
  rows: number;
  random: RandomSource;
}

/** A weight of a layer: a persistent tensor, trainable or state (batch-norm moving statistics). */
export interface Weight {
  /** Unique within the layer, Keras-style: 'kernel', 'bias', 'gamma', 'moving_mean'. */
  readonly name: string;
  readonly value: Tensor;
  /** Trainable by the optimizer (also requires the layer to be trainable). */
  readonly trainable: boolean;
}

/** An input shape with its batch dimension first, which may be null (Keras: `(None, 784)`). */
export type BuildShape = readonly (number | null)[];

/** Makes a weight's initial values for a shape. */
export type Initializer = (shape: Shape, random: RandomSource) => Tensor;

export interface LayerArgs {
  name?: string;
  trainable?: boolean;
  /** Input shape without the batch dimension; needed on the first layer to build before fit. */
  inputShape?: readonly number[];
}

/** A serialisable description of a layer: enough to rebuild it (weights travel separately). */
export interface LayerConfig {
  className: string;
  config: Record<string, unknown>;
  /** A model's changes below it that `config` does not say (Model.toConfig): stand-ins, frozen layers. */
  sublayers?: SublayerChanges;
}

/**
 * What was changed after construction in the layers below a model built from its hyperparameters
 * (the vit: its blocks are not in its config): layers swapped by replaceSublayer and layers frozen.
 * Layers are named by their name, which inside such models is their path ('block3/attention/query').
 */
export interface SublayerChanges {
  /** Each stand-in, whole (a LoRA wrapper's config holds its base), with the name of the layer it replaced. */
  standIns?: { path: string; layer: LayerConfig }[];
  /** The layers below the model that are frozen. */
  frozen?: string[];
}

const nameCounters = new Map<string, number>();

/** Keras-style unique default names: dense, dense_1, dense_2, ... */
export function uniqueLayerName(prefix: string): string {
  const count = nameCounters.get(prefix) ?? 0;
  nameCounters.set(prefix, count + 1);
  return count === 0 ? prefix : `${prefix}_${count}`;
}

/** Resets default naming (tests and loaders that must reproduce names). */
export function resetLayerNames(): void {
  nameCounters.clear();
}

function snakeCase(className: string): string {
  return className.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

let revision = 0;

/**
 * A number that changes whenever host code changes what a layer computes without touching a
 * weight's storage (a sublayer swapped, a LoRA adapter merged or unmerged): captured steps
 * (src/tensor/capture.ts) list it among their dependencies and record again after it changes.
 */
export function layerRevision(): number {
  return revision;
}

/** Says that a layer now computes differently (see layerRevision). */
export function noteLayerChange(): void {
  revision++;
}

export abstract class Layer {
  /** The registered class name, as in Keras ('Dense', 'Conv2D'). */
  abstract readonly className: string;
  name: string;
  /** Input shape without the batch dimension, when known. */
  inputShape: number[] | undefined;
  built = false;
  /**
   * Called with each weight's name and shape before it is allocated: an importer sets it to
   * compare untrusted layer sizes with the weights a file holds, so a lying config allocates nothing.
   */
  weightCheck: ((name: string, shape: Shape) => void) | undefined;
  private trainableFlag: boolean;
  private readonly ownWeights: Weight[] = [];
  /** A sublayer -> what stands in its place (replaceSublayer; a LoRA wrapper around it). */
  private readonly standIns = new Map<Layer, Layer>();

  constructor(args: LayerArgs = {}, defaultPrefix?: string) {
    this.name = args.name ?? uniqueLayerName(defaultPrefix ?? snakeCase(new.target.name));
    this.trainableFlag = args.trainable ?? true;
    this.inputShape = args.inputShape ? [...args.inputShape] : undefined;
  }

  /** Frozen layers keep their weights: no gradients are computed for them and no update applies. */
  get trainable(): boolean {
    return this.trainableFlag;
  }

  set trainable(value: boolean) {
    this.trainableFlag = value;
    this.syncRequiresGrad();
  }

  /** Sublayers (models and blocks override this); a plain layer has none. */
  get sublayers(): readonly Layer[] {
    return [];
  }

  /**
   * The sublayers replaceSublayer may swap, as created (a layer lists its projections here). The
   * forward pass and `sublayers` must reach each through standIn().
   */
  protected get swappableSublayers(): readonly Layer[] {
    return [];
  }

  /** What computes in `layer`'s place: the layer itself, or its replacement. */
  protected standIn(layer: Layer): Layer {
    return this.standIns.get(layer) ?? layer;
  }

  /**
   * Puts `replacement` in the place of the direct sublayer `old` (LoRA wraps a projection deep inside
   * a block this way); false when `old` is not one this layer can swap. The replacement must compute
   * what `old` did for the same input (a wrapper around it does). Giving back the original undoes it.
   */
  replaceSublayer(old: Layer, replacement: Layer): boolean {
    for (const original of this.swappableSublayers) {
      if (original !== old && this.standIns.get(original) !== old) continue;
      if (replacement === original) this.standIns.delete(original);
      else this.standIns.set(original, replacement);
      noteLayerChange();
      return true;
    }
    return false;
  }

  /** The sublayer that `layer` stands in for (replaceSublayer put it there), or undefined. */
  replacedBy(layer: Layer): Layer | undefined {
    for (const [original, replacement] of this.standIns) if (replacement === layer) return original;
    return undefined;
  }

  /** This layer's own weights (not its sublayers'). */
  get ownWeightList(): readonly Weight[] {
    return this.ownWeights;
  }

  /** Every weight of this layer and its sublayers, each once, in creation order. */
  get weights(): Weight[] {
    const seen = new Set<Tensor>();
    const out: Weight[] = [];
    const visit = (layer: Layer): void => {
      for (const w of layer.ownWeights) {
        if (!seen.has(w.value)) {
          seen.add(w.value);
          out.push(w);
        }
      }
      for (const sub of layer.sublayers) visit(sub);
    };
    visit(this);
    return out;
  }

  /** Weights the optimizer updates: trainable weights of trainable layers. */
  get trainableWeights(): Weight[] {
    return this.weights.filter((w) => w.value.requiresGrad);
  }

  get nonTrainableWeights(): Weight[] {
    return this.weights.filter((w) => !w.value.requiresGrad);
  }

  countParams(): number {
    return this.weights.reduce((n, w) => n + w.value.size, 0);
  }

  /**
   * Creates a weight. Call from build(). The tensor lives outside any tidy() scope and requires
   * gradients when it is trainable and the layer is.
   */
  protected addWeight(
    name: string,
    shape: Shape,
    initializer: Initializer,
    random: RandomSource,
    options: { trainable?: boolean } = {},
  ): Tensor {
    this.weightCheck?.(name, shape);
    // keep(): build() usually runs inside the first step's tidy(), which must not free weights.
    const value = keep(initializer(shape, random));
    value.name = `${this.name}/${name}`;
    const trainable = options.trainable ?? true;
    value.requiresGrad = trainable && this.trainableFlag;
    this.ownWeights.push({ name, value, trainable });
    return value;
  }

  private syncRequiresGrad(): void {
    for (const w of this.ownWeights) w.value.requiresGrad = w.trainable && this.trainableFlag;
    for (const sub of this.sublayers) sub.trainable = this.trainableFlag;
  }

  /**
   * Keras layer.build(inputShape): creates the weights for inputs of `inputShape` (batch dimension
   * first, null or any size: it is not used), initialised from `random` (default seed 0, so two
   * layers built alike start alike; pass a Random to vary them), without a batch of data. Records the
   * input shape and marks the layer built, so its first call builds nothing; runs once. A model
   * builds every layer below it; layers made of other layers (attention, transformer blocks) create
   * their sublayers here, and those build at the first call.
   */
  build(inputShape: BuildShape, random: RandomSource = new Random(0)): void {
    if (this.built) return;
    const shape = batchFirst(inputShape, this);
    this.inputShape ??= shape.slice(1);
    this.createWeights(shape, random);
    this.built = true;
  }

  /**
   * What build() does for this layer: create its weights (addWeight) for an input of `inputShape`
   * (batch first). Layers with weights override this; layers without keep the default.
   */
  protected createWeights(_inputShape: Shape, _random: RandomSource): void {}

  /**
   * Copies of every weight (the order of `weights`: Keras get_weights()). Each is a tensor of its
   * own, unaffected by later training.
   */
  getWeights(): Tensor[] {
    return this.weights.map((w) => clone(w.value));
  }

  /**
   * Writes `values` into the weights, in the order of `weights` (Keras set_weights): tensors of the
   * same shapes, or flat arrays of the same sizes. Nothing is written when any of them does not fit.
   */
  setWeights(values: readonly (Tensor | ArrayLike<number>)[]): void {
    const weights = this.weights;
    if (weights.length === 0 && !this.built) {
      throw new Error(
        `setWeights(): layer '${this.name}' has no weights yet; build it first (layer.build([null, ...inputShape]))`,
      );
    }
    if (values.length !== weights.length) {
      const list = weights.map((w) => `${w.name} [${w.value.shape.join(', ')}]`).join(', ');
      throw new Error(
        `setWeights(): layer '${this.name}' has ${weights.length} weights (${list}), found ${values.length} arrays`,
      );
    }
    weights.forEach((w, i) => {
      const value = values[i] as Tensor | ArrayLike<number>;
      const shape = value instanceof Tensor ? value.shape : [value.length];
      const fits =
        value instanceof Tensor
          ? shape.length === w.value.rank && shape.every((d, k) => d === w.value.shape[k])
          : value.length === w.value.size;
      if (!fits) {
        throw new Error(
          `setWeights(): weight ${i} '${w.value.name ?? w.name}' is [${w.value.shape.join(', ')}] ` +
            `(${w.value.size} values), found [${shape.join(', ')}]`,
        );
      }
    });
    weights.forEach((w, i) => {
      const value = values[i] as Tensor | ArrayLike<number>;
      w.value.data.set(value instanceof Tensor ? (value.data as ArrayLike<number>) : value);
    });
  }

  /** The forward computation. */
  abstract call(x: Tensor, context: CallContext): Tensor;

  /** Builds on first use (recording the input shape), then calls. */
  apply(x: Tensor, context: CallContext): Tensor {
    this.buildOnce(x, context.random);
    return this.call(x, context);
  }

  /** Builds for `x` (batch first) unless built, recording its shape: what apply() does before call(). */
  protected buildOnce(x: Tensor, random: RandomSource): void {
    if (!this.built) this.build(x.shape, random);
  }

  /** Keras-style configuration: the constructor arguments that rebuild this layer. */
  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = { name: this.name, trainable: this.trainable };
    if (this.inputShape) config['inputShape'] = this.inputShape;
    return config;
  }

  toConfig(): LayerConfig {
    return { className: this.className, config: this.getConfig() };
  }
}

/** `shape` with a null batch dimension made 1; any other null is refused naming the layer. */
function batchFirst(shape: BuildShape, layer: Layer): Shape {
  if (
    shape.length === 0 ||
    shape.slice(1).some((d) => d === null || !Number.isInteger(d) || (d as number) < 1)
  ) {
    throw new Error(
      `build(): ${layer.className} '${layer.name}' expects an input shape with the batch dimension first, ` +
        `e.g. [null, 28, 28, 1] (only the batch may be null), found [${shape.map(String).join(', ')}]`,
    );
  }
  return shape.map((d) => d ?? 1);
}

// ---- layer classes: class name -> factory from config (loading models, importing formats) ----
// Loading rebuilds each layer by its className from a table given to it: BUILTIN_LAYERS (src/nn/
// index.ts) for the layers alone, LAYER_CLASSES (src/loading/) for every class mnist-lab defines.
// Nothing registers itself. registerLayer adds a program's own class, for every load.

/**
 * Rebuilds a layer from its getConfig() object. `layers` is the table the load was given: a class
 * holding other layers (a model, a wrapper) rebuilds them with layerFromConfig(config, layers).
 */
export type LayerFactory = (config: Record<string, unknown>, layers: LayerClasses) => Layer;
/** Layer classes by className (getConfig()'s className): what loading a saved model looks in. */
export type LayerClasses = ReadonlyMap<string, LayerFactory>;
const registeredFactories = new Map<string, LayerFactory>();

/**
 * Makes every load (layerFromConfig, modelFromBytes, loadModel) know a class of your own:
 * `className` is looked up here first, then in the table the load was given, so a registered class
 * also takes precedence over a built-in one of the same name. For a class defined in mnist-lab
 * itself there is nothing to register: LAYER_CLASSES has it.
 */
export function registerLayer(className: string, factory: LayerFactory): void {
  registeredFactories.set(className, factory);
}

/** The factory registerLayer() gave `className`, if any. */
export function registeredLayerFactory(className: string): LayerFactory | undefined {
  return registeredFactories.get(className);
}

/** The class names given to registerLayer(). */
export function registeredLayerNames(): string[] {
  return [...registeredFactories.keys()];
}

/**
 * The paths as one line, runs of numbered siblings folded: 'block{1-6}/attention/query'. The first
 * number of each path is the one folded (the block index).
 */
export function foldPaths(paths: readonly string[]): string {
  const groups = new Map<string, number[]>();
  for (const path of paths) {
    const match = /\d+/.exec(path);
    const key = match
      ? `${path.slice(0, match.index)}\u0000${path.slice(match.index + match[0].length)}`
      : path;
    const numbers = groups.get(key) ?? [];
    if (match) numbers.push(Number(match[0]));
    groups.set(key, numbers);
  }
  return [...groups]
    .map(([key, numbers]) => {
      if (numbers.length <= 1) return key.replace('\u0000', String(numbers[0] ?? ''));
      const sorted = [...numbers].sort((a, b) => a - b);
      const contiguous = sorted.every((n, i) => i === 0 || n === (sorted[i - 1] as number) + 1);
      const folded = contiguous ? `{${sorted[0]}-${sorted[sorted.length - 1]}}` : `{${sorted.join(',')}}`;
      return key.replace('\u0000', folded);
    })
    .join(', ');
}
