// LayerNormalization over the last axis: per example (row), y = gamma * (x - mean) / sqrt(var + eps)
// + beta, with gamma, beta [F] per feature. No moving statistics: training and inference agree.
import type { Shape } from '../../backend/kernels.js';
import type { RandomSource } from '../../tensor/ops/creation.js';
import { fill } from '../../tensor/ops/creation.js';
import { layerNorm } from '../../tensor/ops/nn.js';
import { Tensor, keep } from '../../tensor/tensor.js';
import { getInitializer, serializeInitializer } from '../initializers.js';
import type { InitializerIdentifier, SerializableInitializer } from '../initializers.js';
import { Layer, registerLayer } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, pick, shapeError } from './common.js';

export interface LayerNormalizationArgs extends LayerArgs {
  /** Only -1 (the last axis) is supported. */
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
  readonly axis = -1;
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
    const axis = args.axis ?? d.axis;
    if (axis !== -1) {
      throw new Error(`LayerNormalization '${this.name}': only axis -1 is supported, found ${axis}`);
    }
    this.epsilon = args.epsilon ?? d.epsilon;
    this.center = args.center ?? d.center;
    this.scale = args.scale ?? d.scale;
    this.betaInitializer = getInitializer(args.betaInitializer ?? d.betaInitializer);
    this.gammaInitializer = getInitializer(args.gammaInitializer ?? d.gammaInitializer);
  }

  override build(inputShape: Shape, random: RandomSource): void {
    if (inputShape.length < 2) throw shapeError(this, '[batch, ..., features]', inputShape);
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

registerLayer(
  'LayerNormalization',
  (config) =>
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
    }),
);
