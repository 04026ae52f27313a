// BatchNormalization over the last axis (channels of NHWC, features of (N, F)), Keras semantics:
//   training:  y = gamma * (x - batchMean) / sqrt(batchVar + eps) + beta, and
//              moving = moving * momentum + batch * (1 - momentum)
//   inference: the same with the moving statistics.
// gamma, beta [C] are trainable; moving_mean, moving_variance [C] are non-trainable state.
// A frozen layer (trainable = false) runs in inference mode even while the model trains and leaves
// its moving statistics alone (Keras >= 2.1.3 behaviour, what fine-tuning needs).
import type { Shape } from '../../backend/kernels.js';
import type { RandomSource } from '../../tensor/ops/creation.js';
import { fill } from '../../tensor/ops/creation.js';
import { batchNorm } from '../../tensor/ops/nn.js';
import { syncedBatchNorm } from '../../tensor/ops/cross-replica.js';
import { Tensor, keep } from '../../tensor/tensor.js';
import { getInitializer, serializeInitializer } from '../initializers.js';
import type { InitializerIdentifier, SerializableInitializer } from '../initializers.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, pick, shapeError } from './common.js';

export interface BatchNormalizationArgs extends LayerArgs {
  /** Only -1 (the last axis) is supported: activations are NHWC. */
  axis?: number;
  momentum?: number;
  epsilon?: number;
  /** Learn an offset beta. */
  center?: boolean;
  /** Learn a scale gamma. */
  scale?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
  movingMeanInitializer?: InitializerIdentifier;
  movingVarianceInitializer?: InitializerIdentifier;
}

const BATCH_NORMALIZATION_DEFAULTS = {
  axis: -1,
  momentum: 0.99,
  epsilon: 1e-3,
  center: true,
  scale: true,
  betaInitializer: 'zeros',
  gammaInitializer: 'ones',
  movingMeanInitializer: 'zeros',
  movingVarianceInitializer: 'ones',
} as const;

const KEYS = [
  'axis',
  'momentum',
  'epsilon',
  'center',
  'scale',
  'betaInitializer',
  'gammaInitializer',
  'movingMeanInitializer',
  'movingVarianceInitializer',
] as const;

export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly axis = -1;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: SerializableInitializer;
  readonly gammaInitializer: SerializableInitializer;
  readonly movingMeanInitializer: SerializableInitializer;
  readonly movingVarianceInitializer: SerializableInitializer;
  /** [C]; a constant 1 (not a weight) when scale is false. */
  gamma: Tensor | undefined;
  /** [C]; a constant 0 (not a weight) when center is false. */
  beta: Tensor | undefined;
  movingMean: Tensor | undefined;
  movingVariance: Tensor | undefined;

  constructor(args: BatchNormalizationArgs = {}) {
    super(args, 'batch_normalization');
    const d = BATCH_NORMALIZATION_DEFAULTS;
    const axis = args.axis ?? d.axis;
    if (axis !== -1) {
      throw new Error(
        `BatchNormalization '${this.name}': only axis -1 (channels last) is supported, found ${axis}`,
      );
    }
    this.momentum = args.momentum ?? d.momentum;
    this.epsilon = args.epsilon ?? d.epsilon;
    this.center = args.center ?? d.center;
    this.scale = args.scale ?? d.scale;
    this.betaInitializer = getInitializer(args.betaInitializer ?? d.betaInitializer);
    this.gammaInitializer = getInitializer(args.gammaInitializer ?? d.gammaInitializer);
    this.movingMeanInitializer = getInitializer(args.movingMeanInitializer ?? d.movingMeanInitializer);
    this.movingVarianceInitializer = getInitializer(
      args.movingVarianceInitializer ?? d.movingVarianceInitializer,
    );
  }

  protected override createWeights(inputShape: Shape, random: RandomSource): void {
    if (inputShape.length < 2) throw shapeError(this, '[batch, ..., channels]', inputShape);
    const channels = [inputShape[inputShape.length - 1] as number];
    // Keep the constants too: build() may run inside a tidy().
    this.gamma = this.scale
      ? this.addWeight('gamma', channels, this.gammaInitializer, random)
      : keep(fill(channels, 1));
    this.beta = this.center
      ? this.addWeight('beta', channels, this.betaInitializer, random)
      : keep(fill(channels, 0));
    this.movingMean = this.addWeight('moving_mean', channels, this.movingMeanInitializer, random, {
      trainable: false,
    });
    this.movingVariance = this.addWeight(
      'moving_variance',
      channels,
      this.movingVarianceInitializer,
      random,
      {
        trainable: false,
      },
    );
  }

  call(x: Tensor, context: CallContext): Tensor {
    const gamma = this.gamma as Tensor;
    if (x.shape[x.rank - 1] !== gamma.size) {
      throw shapeError(this, `[batch, ..., ${gamma.size}]`, x.shape);
    }
    const training = context.training && this.trainable;
    if (training && context.crossReplica) {
      return syncedBatchNorm(x, gamma, this.beta as Tensor, context.crossReplica, {
        movingMean: this.movingMean as Tensor,
        movingVariance: this.movingVariance as Tensor,
        momentum: this.momentum,
        epsilon: this.epsilon,
      });
    }
    return batchNorm(x, gamma, this.beta as Tensor, {
      training,
      movingMean: this.movingMean as Tensor,
      movingVariance: this.movingVariance as Tensor,
      momentum: this.momentum,
      epsilon: this.epsilon,
    });
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: serializeInitializer(this.betaInitializer),
      gammaInitializer: serializeInitializer(this.gammaInitializer),
      movingMeanInitializer: serializeInitializer(this.movingMeanInitializer),
      movingVarianceInitializer: serializeInitializer(this.movingVarianceInitializer),
    };
  }
}

/** TF.js-style factory: batchNormalization({momentum: 0.9}). */
export function batchNormalization(args: BatchNormalizationArgs = {}): BatchNormalization {
  return new BatchNormalization(args);
}

/** A BatchNormalization from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const batchNormalizationFromConfig: LayerFactory = (config) =>
  new BatchNormalization({ ...baseArgs(config), ...pick<BatchNormalizationArgs>(config, KEYS) });
