// LayerNormalization over the last axis: per example (row), y = gamma * (x - mean) / sqrt(var + eps)
// + beta, with gamma, beta [F] per feature. No moving statistics: training and inference agree.
// Keras semantics: epsilon 1e-3 by default (PyTorch's nn.LayerNorm uses 1e-5: pass it to match a
// PyTorch model, as the zoo's vit does), axis -1 or the last axis's positive index (batch
// included: 2 for [batch, tokens, features]); normalising over several axes is not supported.
import type { Shape } from '../../backend/kernels.js';
import type { RandomSource } from '../../tensor/ops/creation.js';
import { fill } from '../../tensor/ops/creation.js';
import { layerNorm } from '../../tensor/ops/nn.js';
import { Tensor, keep } from '../../tensor/tensor.js';
import { getInitializer, serializeInitializer } from '../initializers.js';
import type { InitializerIdentifier, SerializableInitializer } from '../initializers.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, pick, shapeError } from './common.js';

export interface LayerNormalizationArgs extends LayerArgs {
  /** The last axis: -1, or its index counting the batch axis (checked when the layer is built). */
  axis?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
}

const LAYER_NORMALIZATION_DEFAULTS = {
  axis: -1,
  epsilon: 1e-3,
  center: true,
  scale: true,
  betaInitializer: 'zeros',
  gammaInitializer: 'ones',
} as const;

export class LayerNormalization extends Layer {
  readonly className = 'LayerNormalization';
  readonly axis: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: SerializableInitializer;
  readonly gammaInitializer: SerializableInitializer;
  /** [F]; a constant 1 when scale is false. */
  gamma: Tensor | undefined;
  /** [F]; a constant 0 when center is false. */
  beta: Tensor | undefined;

  constructor(args: LayerNormalizationArgs = {}) {
    super(args, 'layer_normalization');
    const d = LAYER_NORMALIZATION_DEFAULTS;
    this.axis = args.axis ?? d.axis;
    if (!Number.isInteger(this.axis) || this.axis === 0 || this.axis < -1) {
      throw new Error(
        `LayerNormalization '${this.name}': axis must be -1 or the last axis's index (e.g. 2 for ` +
          `[batch, tokens, features]), found ${JSON.stringify(args.axis)}; normalising other axes is not supported`,
      );
    }
    this.epsilon = args.epsilon ?? d.epsilon;
    if (!(typeof this.epsilon === 'number' && this.epsilon > 0)) {
      throw new Error(
        `LayerNormalization '${this.name}': epsilon must be a positive number, found ${JSON.stringify(args.epsilon)}`,
      );
    }
    this.center = args.center ?? d.center;
    this.scale = args.scale ?? d.scale;
    this.betaInitializer = getInitializer(args.betaInitializer ?? d.betaInitializer);
    this.gammaInitializer = getInitializer(args.gammaInitializer ?? d.gammaInitializer);
  }

  protected override createWeights(inputShape: Shape, random: RandomSource): void {
    if (inputShape.length < 2) throw shapeError(this, '[batch, ..., features]', inputShape);
    if (this.axis !== -1 && this.axis !== inputShape.length - 1) {
      throw shapeError(
        this,
        `an input whose last axis is axis ${this.axis} (rank ${this.axis + 1})`,
        inputShape,
        'only the last axis can be normalised: use axis -1',
      );
    }
    const features = [inputShape[inputShape.length - 1] as number];
    this.gamma = this.scale
      ? this.addWeight('gamma', features, this.gammaInitializer, random)
      : keep(fill(features, 1));
    this.beta = this.center
      ? this.addWeight('beta', features, this.betaInitializer, random)
      : keep(fill(features, 0));
  }

  call(x: Tensor, _context: CallContext): Tensor {
    const gamma = this.gamma as Tensor;
    if (x.shape[x.rank - 1] !== gamma.size) throw shapeError(this, `[batch, ..., ${gamma.size}]`, x.shape);
    return layerNorm(x, gamma, this.beta as Tensor, this.epsilon);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: serializeInitializer(this.betaInitializer),
      gammaInitializer: serializeInitializer(this.gammaInitializer),
    };
  }
}

export function layerNormalization(args: LayerNormalizationArgs = {}): LayerNormalization {
  return new LayerNormalization(args);
}

/** A LayerNormalization from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const layerNormalizationFromConfig: LayerFactory = (config) =>
  new LayerNormalization({
    ...baseArgs(config),
    ...pick<LayerNormalizationArgs>(config, [
      'axis',
      'epsilon',
      'center',
      'scale',
      'betaInitializer',
      'gammaInitializer',
    ]),
  });
