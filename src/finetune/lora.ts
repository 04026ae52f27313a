// LoRA (Hu et al. 2021, "Low-Rank Adaptation"): a frozen layer W plus a trainable low-rank update,
//   y = act(x W + b + (alpha / r) * dropout(x) A B)
// Dense:  W [in, out], A [in, r], B [r, out].
// Conv2D: W HWIO [KH, KW, C, O]; A is a conv with W's geometry [KH, KW, C, r] and B a 1x1 conv
//         [1, 1, r, O]; as both are linear, A then B equals one conv with kernel
//         reshape(A, [KH*KW*C, r]) @ B reshaped to [KH, KW, C, O] — what merge folds into W.
// A starts small and random, B at zero, so an adapted model starts equal to its base.
// Without dropout the forward pass uses the effective kernel W + (alpha/r) A B directly.
// Targets are layer paths: a Sequential's layer names, or, inside a model such as the vit, the
// paths of projections within blocks ('block3/attention/query', 'block*/mlp/dense1'); a wrapper
// stands in for its base in the parent's slot (Layer.replaceSublayer).
// Pure and browser-safe; the wrapper classes are registered so models holding them save and load.
import type { Shape } from '../backend/kernels.js';
import { getActivation } from '../nn/activations.js';
import { layerFromConfig } from '../nn/index.js';
import { Layer, foldPaths, noteLayerChange } from '../nn/layer.js';
import type { CallContext, LayerClasses, LayerConfig } from '../nn/layer.js';
import { Conv2D } from '../nn/layers/conv2d.js';
import { Dense } from '../nn/layers/dense.js';
import { randomUniform, zeros } from '../tensor/ops/creation.js';
import type { RandomSource } from '../tensor/ops/creation.js';
import { add, mul } from '../tensor/ops/elementwise.js';
import { conv2d as conv2dOp, dropout as dropoutOp, matmul } from '../tensor/ops/nn.js';
import { reshape } from '../tensor/ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Sequential } from '../train/model.js';
import type { Model } from '../train/model.js';
import { Random } from '../util/random.js';
import { globToRegExp, selectLayers } from './select.js';

export interface LoraOptions {
  /** Rank r of the update. Default 4. */
  rank?: number;
  /** Scale numerator: the update is multiplied by alpha / rank. Default 8. */
  alpha?: number;
  /** Dropout on the adapter's input while training. Default 0. */
  dropout?: number;
}

export { foldPaths };

export const LORA_DEFAULTS = { rank: 4, alpha: 8, dropout: 0 } as const;

type Resolved = { rank: number; alpha: number; dropout: number };

function resolve(options: LoraOptions, where: string): Resolved {
  const o = { ...LORA_DEFAULTS, ...options };
  if (!Number.isInteger(o.rank) || o.rank < 1)
    throw new Error(`${where}: rank must be a positive whole number, found ${o.rank}`);
  if (!Number.isFinite(o.alpha) || o.alpha <= 0)
    throw new Error(`${where}: alpha must be a positive number, found ${o.alpha}`);
  if (!(o.dropout >= 0 && o.dropout < 1))
    throw new Error(`${where}: dropout must be in [0, 1), found ${o.dropout}`);
  return o;
}

/** Shared by LoraDense and LoraConv2D: the frozen base as sublayer, A and B as own weights. */
abstract class LoraLayer<Base extends Dense | Conv2D> extends Layer {
  readonly rank: number;
  readonly alpha: number;
  readonly dropout: number;
  /** Dense: [in, r]; Conv2D: [KH, KW, C, r]. */
  loraA: Tensor | undefined;
  /** Dense: [r, out]; Conv2D: [1, 1, r, O]. */
  loraB: Tensor | undefined;
  /** The update is folded into the base kernel (mergeAdapters): the forward pass uses the base alone. */
  merged = false;

  constructor(
    readonly base: Base,
    options: LoraOptions,
  ) {
    // Same name as the base: selectors keep matching it, and adapter weights read '<layer>/lora_A'.
    super({ name: base.name, ...(base.inputShape ? { inputShape: base.inputShape } : {}) });
    const o = resolve(options, `LoRA on '${base.name}'`);
    this.rank = o.rank;
    this.alpha = o.alpha;
    this.dropout = o.dropout;
    base.trainable = false;
    if (base.built) {
      this.createAdapter(new Random(0));
      this.built = true;
    }
  }

  get scaling(): number {
    return this.alpha / this.rank;
  }

  override get sublayers(): readonly Layer[] {
    return [this.base];
  }

  // The base stays frozen whatever the wrapper's flag: only the adapter follows it.
  override get trainable(): boolean {
    return super.trainable;
  }

  override set trainable(value: boolean) {
    super.trainable = value;
    // The constructor's first assignment (from Layer) runs before `base` is set.
    if ((this as { base?: Base }).base) this.base.trainable = false;
  }

  /** Shapes of A and B for the base's (built) kernel. */
  protected abstract adapterShapes(kernel: Shape): [Shape, Shape];

  /** Creates A (uniform in +-1/sqrt(fan-in), as PEFT's Kaiming-uniform with a = sqrt(5)) and B = 0. */
  createAdapter(random: RandomSource): void {
    const kernel = this.base.kernel as Tensor;
    const [shapeA, shapeB] = this.adapterShapes(kernel.shape);
    const fanIn = shapeA.slice(0, -1).reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    this.loraA = this.addWeight('lora_A', shapeA, (s, r) => randomUniform(s, r, -bound, bound), random);
    this.loraB = this.addWeight('lora_B', shapeB, (s) => zeros(s), random);
  }

  protected override createWeights(inputShape: Shape, random: RandomSource): void {
    this.base.build(inputShape, random); // once: nothing happens when the base is built
    this.createAdapter(random);
  }

  /** The base's output before its activation. */
  protected abstract basePreActivation(x: Tensor): Tensor;
  /** The low-rank update, unscaled: (x A) B. */
  protected abstract update(x: Tensor): Tensor;

  /**
   * W + (alpha / r) A B as a tensor of W's shape, differentiable in A and B: one layer op instead of
   * three (the update's two convs with r channels are slow), cheap as r·(rows + out) << batch work.
   */
  protected effectiveKernel(): Tensor {
    const kernel = this.base.kernel as Tensor;
    const out = kernel.shape[kernel.shape.length - 1] as number;
    const a = reshape(this.loraA as Tensor, [kernel.size / out, this.rank]); // [rows, r]
    const b = reshape(this.loraB as Tensor, [this.rank, out]); // [r, out]
    return add(kernel, reshape(mul(matmul(a, b), this.scaling), kernel.shape));
  }

  /** The base's output before its activation, with kernel `kernel`. */
  protected abstract preActivationWith(x: Tensor, kernel: Tensor): Tensor;

  call(x: Tensor, context: CallContext): Tensor {
    let y: Tensor;
    if (this.merged) {
      y = this.basePreActivation(x);
    } else if (context.training && this.dropout > 0) {
      // NOTE: dropout applies to the adapter's input only, so the update keeps its own path.
      const xa = dropoutOp(x, this.dropout, context.random);
      y = add(this.basePreActivation(x), mul(this.update(xa), this.scaling));
    } else {
      y = this.preActivationWith(x, this.effectiveKernel());
    }
    return getActivation(this.base.activation)(y);
  }

  /**
   * Folds (alpha / r) * A B into the base kernel in place and computes with it alone from now on;
   * returns the base (A, B untouched). Merging a merged wrapper changes nothing.
   */
  merge(): Base {
    if (!this.merged) {
      this.addUpdate(1);
      noteLayerChange();
    }
    this.merged = true;
    return this.base;
  }

  /** Takes (alpha / r) * A B back out of the base kernel: the adapter trains and computes again. */
  unmerge(): void {
    if (this.merged) {
      this.addUpdate(-1);
      noteLayerChange();
    }
    this.merged = false;
  }

  /** W += sign * (alpha / r) * A B, in place. */
  private addUpdate(sign: 1 | -1): void {
    const kernel = this.base.kernel as Tensor;
    const a = (this.loraA as Tensor).data; // [rows, r] row-major, rows = in or KH*KW*C
    const b = (this.loraB as Tensor).data; // [r, out] row-major
    const w = kernel.data; // [rows, out] row-major (HWIO flattens to it)
    const r = this.rank;
    const out = kernel.shape[kernel.shape.length - 1] as number;
    const rows = kernel.size / out;
    const s = sign * this.scaling;
    for (let i = 0; i < rows; i++) {
      for (let o = 0; o < out; o++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += (a[i * r + k] as number) * (b[k * out + o] as number);
        w[i * out + o] = (w[i * out + o] as number) + s * acc;
      }
    }
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      rank: this.rank,
      alpha: this.alpha,
      dropout: this.dropout,
      // A model saved merged keeps the update in the base kernel: loading must not add it again.
      ...(this.merged ? { merged: true } : {}),
      layer: this.base.toConfig(),
    };
  }
}

export class LoraDense extends LoraLayer<Dense> {
  readonly className = 'LoraDense';

  protected adapterShapes(kernel: Shape): [Shape, Shape] {
    return [
      [kernel[0] as number, this.rank],
      [this.rank, kernel[1] as number],
    ];
  }

  protected basePreActivation(x: Tensor): Tensor {
    return this.preActivationWith(x, this.base.kernel as Tensor);
  }

  protected preActivationWith(x: Tensor, kernel: Tensor): Tensor {
    const y = matmul(x, kernel); // (N, out)
    return this.base.bias ? add(y, this.base.bias) : y;
  }

  protected update(x: Tensor): Tensor {
    return matmul(matmul(x, this.loraA as Tensor), this.loraB as Tensor); // (N, in)(in, r)(r, out)
  }
}

export class LoraConv2D extends LoraLayer<Conv2D> {
  readonly className = 'LoraConv2D';

  protected adapterShapes(kernel: Shape): [Shape, Shape] {
    const [kh, kw, c, o] = kernel as [number, number, number, number];
    return [
      [kh, kw, c, this.rank],
      [1, 1, this.rank, o],
    ];
  }

  private geometry(): { strides: [number, number]; padding: 'same' | 'valid'; dilations: [number, number] } {
    return { strides: this.base.strides, padding: this.base.padding, dilations: this.base.dilationRate };
  }

  protected basePreActivation(x: Tensor): Tensor {
    return this.preActivationWith(x, this.base.kernel as Tensor);
  }

  protected preActivationWith(x: Tensor, kernel: Tensor): Tensor {
    return conv2dOp(x, kernel, this.base.bias ?? null, this.geometry());
  }

  protected update(x: Tensor): Tensor {
    const xa = conv2dOp(x, this.loraA as Tensor, null, this.geometry()); // (N, OH, OW, r)
    return conv2dOp(xa, this.loraB as Tensor, null); // (N, OH, OW, O)
  }
}

export type LoraWrapper = LoraDense | LoraConv2D;

export function isLora(layer: Layer): layer is LoraWrapper {
  return layer instanceof LoraDense || layer instanceof LoraConv2D;
}

/** Wraps a Dense or Conv2D layer (built or not) with a LoRA adapter. */
export function loraLayer(layer: Layer, options: LoraOptions = {}): LoraWrapper {
  if (layer instanceof Dense) return new LoraDense(layer, options);
  if (layer instanceof Conv2D) return new LoraConv2D(layer, options);
  throw new Error(
    `LoRA: layer '${layer.name}' is a ${layer.className}; adapters wrap Dense and Conv2D layers only`,
  );
}

export interface ApplyLoraOptions extends LoraOptions {
  /**
   * The layers to adapt, as layer selectors (select.ts) joined by commas: in a Sequential its
   * layers' names, globs or index ranges (default '*'); in other models globs over layer paths,
   * reaching inside blocks ('block?/attention/query,block?/attention/value', 'block?/mlp/dense1',
   * where '*' serves as well as '?'; default every Dense and Conv2D projection a block can swap).
   * Only Dense and Conv2D are adapted.
   */
  target?: string;
  /** Layer selector of (top-level) layers that stay fully trainable (a new head). Default: none. */
  trainable?: string;
  /** Seeds A. Default 0. */
  seed?: number;
}

/**
 * Wraps the target Dense/Conv2D layers with LoRA adapters. Everything else is frozen except the
 * layers `trainable` names, so only adapters (and a new head) train. A Sequential model gives a new
 * Sequential sharing its base layers with `model`; any other model (the vit) is adapted in place,
 * each wrapper standing in for its base inside the block that holds it, and is returned.
 */
export function applyLora(model: Model, options: ApplyLoraOptions = {}): Model {
  const keep = new Set(options.trainable ? selectLayers(model, options.trainable) : []);
  if (!(model instanceof Sequential)) return applyLoraInPlace(model, keep, options);
  const targets = new Set(
    selectLayers(model, options.target ?? '*').filter(
      (l) => (l instanceof Dense || l instanceof Conv2D) && !keep.has(l),
    ),
  );
  if (targets.size === 0) {
    throw new Error(
      `applyLora: target '${options.target ?? '*'}' selects no Dense or Conv2D layer of '${model.name}' ` +
        `(layers: ${model.layers.map((l) => `${l.name} (${l.className})`).join(', ')})`,
    );
  }
  const random = new Random(options.seed ?? 0);
  const layers = model.layers.map((layer) => {
    if (!targets.has(layer)) {
      layer.trainable = keep.has(layer);
      return layer;
    }
    const wrapped = loraLayer(layer, options);
    if (wrapped.built) {
      // Re-create A from the seeded stream (the constructor used seed 0 for standalone use).
      reseed(wrapped, random);
    }
    return wrapped;
  });
  return new Sequential({
    name: model.name,
    layers,
    ...(model.inputShape ? { inputShape: model.inputShape } : {}),
  });
}

/** A layer below the model and the layer holding it. */
interface Placed {
  layer: Layer;
  parent: Layer;
}

/** Every layer below `root`, depth first in forward order, each with its parent. */
function placedLayers(root: Layer): Placed[] {
  const out: Placed[] = [];
  const visit = (parent: Layer): void => {
    for (const layer of parent.sublayers) {
      out.push({ layer, parent });
      visit(layer);
    }
  };
  visit(root);
  return out;
}

function applyLoraInPlace(model: Model, keep: ReadonlySet<Layer>, options: ApplyLoraOptions): Model {
  // Candidates: the Dense/Conv2D layers whose parent can put a wrapper in their place.
  const candidates = placedLayers(model).filter(
    ({ layer, parent }) =>
      (layer instanceof Dense || layer instanceof Conv2D) &&
      !keep.has(layer) &&
      parent.replaceSublayer(layer, layer), // swapping a layer for itself is a no-op: a probe
  );
  const chosen = new Set<Placed>();
  for (const part of (options.target ?? '*').split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const pattern = globToRegExp(part);
    const matched = candidates.filter(({ layer }) => pattern.test(layer.name));
    if (matched.length === 0) {
      throw new Error(
        `LoRA target '${part}' matches no layer of model '${model.name}' that takes an adapter; ` +
          `its layer paths are: ${foldPaths(candidates.map(({ layer }) => layer.name))}`,
      );
    }
    for (const placed of matched) chosen.add(placed);
  }
  for (const layer of model.layers) layer.trainable = keep.has(layer);
  const random = new Random(options.seed ?? 0);
  for (const placed of candidates) {
    if (!chosen.has(placed)) continue;
    const wrapped = loraLayer(placed.layer, options);
    if (wrapped.built) reseed(wrapped, random);
    placed.parent.replaceSublayer(placed.layer, wrapped);
  }
  return model;
}

function reseed(wrapper: LoraWrapper, random: RandomSource): void {
  const a = wrapper.loraA as Tensor;
  const fanIn = a.size / wrapper.rank;
  const bound = 1 / Math.sqrt(fanIn);
  for (let i = 0; i < a.size; i++) a.data[i] = -bound + 2 * bound * random.nextFloat();
}

/** The LoRA wrappers of a model, in forward order, wherever they sit (inside blocks too). */
export function loraLayers(model: Model): LoraWrapper[] {
  return placedLayers(model)
    .map(({ layer }) => layer)
    .filter(isLora);
}

/**
 * Folds every adapter into its base kernel, keeping the wrappers: the model computes as fast as its
 * base (one product per projection) and gives the adapted model's outputs within float32 rounding.
 * unmergeAdapters() takes the updates back out.
 */
export function mergeAdapters(model: Model): void {
  for (const wrapper of loraLayers(model)) wrapper.merge();
}

/** Takes every merged adapter's update back out of its base kernel: training can go on. */
export function unmergeAdapters(model: Model): void {
  for (const wrapper of loraLayers(model)) wrapper.unmerge();
}

/**
 * The model with every adapter folded into its base kernel and the wrappers replaced by their base
 * layers (made trainable again): a plain model to save or export. Predictions equal the adapted
 * model's within float32 rounding. The base layers' kernels change in place. A Sequential gives a
 * new Sequential; any other model is changed in place and returned.
 */
export function mergeLora(model: Model): Model {
  if (!(model instanceof Sequential)) {
    for (const { layer, parent } of placedLayers(model)) {
      if (!isLora(layer)) continue;
      const base = layer.merge();
      base.trainable = true;
      parent.replaceSublayer(layer, base);
    }
    return model;
  }
  const layers = model.layers.map((layer) => {
    if (!isLora(layer)) return layer;
    const base = layer.merge();
    base.trainable = true;
    return base;
  });
  return new Sequential({
    name: model.name,
    layers,
    ...(model.inputShape ? { inputShape: model.inputShape } : {}),
  });
}

/**
 * A LoraDense or LoraConv2D from its getConfig(), the wrapped layer rebuilt from `classes` (its row
 * in LAYER_CLASSES).
 */
export function loraFromConfig(config: Record<string, unknown>, classes: LayerClasses): LoraWrapper {
  const base = layerFromConfig(config['layer'] as LayerConfig, classes);
  const options: LoraOptions = {};
  if (typeof config['rank'] === 'number') options.rank = config['rank'];
  if (typeof config['alpha'] === 'number') options.alpha = config['alpha'];
  if (typeof config['dropout'] === 'number') options.dropout = config['dropout'];
  const wrapper = loraLayer(base, options);
  if (config['trainable'] === false) wrapper.trainable = false;
  if (config['merged'] === true) wrapper.merged = true;
  return wrapper;
}
