// Layer: the unit models are made of. A layer owns weights, builds them for the first input shape
// it sees, and maps a tensor to a tensor in `call`. Layers know nothing of training loops
// (src/train) or backends (src/backend); they only call tensor ops.
import type { Shape } from '../backend/kernels.js';
import type { RandomSource } from '../tensor/ops/creation.js';
import { Tensor, keep } from '../tensor/tensor.js';

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
}

/** A weight of a layer: a persistent tensor, trainable or state (batch-norm moving statistics). */
export interface Weight {
  /** Unique within the layer, Keras-style: 'kernel', 'bias', 'gamma', 'moving_mean'. */
  readonly name: string;
  readonly value: Tensor;
  /** Trainable by the optimizer (also requires the layer to be trainable). */
  readonly trainable: boolean;
}

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
      return true;
    }
    return false;
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
   * Creates weights for an input of `inputShape` (batch dimension first). Layers without weights
   * keep this default.
   */
  build(_inputShape: Shape, _random: RandomSource): void {}

  /** The forward computation. */
  abstract call(x: Tensor, context: CallContext): Tensor;

  /** Builds on first use (recording the input shape), then calls. */
  apply(x: Tensor, context: CallContext): Tensor {
    this.buildOnce(x, context.random);
    return this.call(x, context);
  }

  /** Builds for `x` (batch first) unless built, recording its shape: what apply() does before call(). */
  protected buildOnce(x: Tensor, random: RandomSource): void {
    if (this.built) return;
    this.inputShape ??= x.shape.slice(1);
    this.build(x.shape, random);
    this.built = true;
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

// ---- registry: class name -> factory from config (loading models, importing formats) ----

type LayerFactory = (config: Record<string, unknown>) => Layer;
const layerFactories = new Map<string, LayerFactory>();

export function registerLayer(className: string, factory: LayerFactory): void {
  layerFactories.set(className, factory);
}

export function layerFromConfig(description: LayerConfig): Layer {
  const factory = layerFactories.get(description.className);
  if (!factory) {
    throw new Error(
      `unknown layer class '${description.className}' (known: ${[...layerFactories.keys()].sort().join(', ')})`,
    );
  }
  return factory(description.config);
}

export function registeredLayerClasses(): string[] {
  return [...layerFactories.keys()].sort();
}
