// Dense: y = activation(x @ kernel + bias). x (N, in), kernel [in, units], bias [units], y (N, units).
import type { Shape } from '../../backend/kernels.js';
import type { RandomSource } from '../../tensor/ops/creation.js';
import { add } from '../../tensor/ops/elementwise.js';
import { matmul } from '../../tensor/ops/nn.js';
import type { Tensor } from '../../tensor/tensor.js';
import { canonicalActivationName, getActivation } from '../activations.js';
import type { ActivationName } from '../activations.js';
import { getInitializer, serializeInitializer } from '../initializers.js';
import type { InitializerIdentifier, SerializableInitializer } from '../initializers.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, formatShape, pick, shapeError } from './common.js';

export interface DenseArgs extends LayerArgs {
  units: number;
  activation?: ActivationName;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier;
  biasInitializer?: InitializerIdentifier;
}

const DENSE_DEFAULTS = {
  activation: 'linear',
  useBias: true,
  kernelInitializer: 'glorot_uniform',
  biasInitializer: 'zeros',
} as const;

export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly kernelInitializer: SerializableInitializer;
  readonly biasInitializer: SerializableInitializer;
  /** [in, units] */
  kernel: Tensor | undefined;
  /** [units] */
  bias: Tensor | undefined;

  constructor(args: DenseArgs) {
    super(args, 'dense');
    if (!Number.isInteger(args.units) || args.units <= 0) {
      throw new Error(
        `Dense '${this.name}': units must be a positive integer, found ${JSON.stringify(args.units)}`,
      );
    }
    this.units = args.units;
    this.activation = canonicalActivationName(args.activation ?? DENSE_DEFAULTS.activation);
    this.useBias = args.useBias ?? DENSE_DEFAULTS.useBias;
    this.kernelInitializer = getInitializer(args.kernelInitializer ?? DENSE_DEFAULTS.kernelInitializer);
    this.biasInitializer = getInitializer(args.biasInitializer ?? DENSE_DEFAULTS.biasInitializer);
  }

  protected override createWeights(inputShape: Shape, random: RandomSource): void {
    // NOTE: Keras applies Dense to the last axis of any rank; here a rank-2 input is required so
    // that a forgotten flatten() fails loudly instead of silently producing (N, H, W, units).
    if (inputShape.length !== 2) {
      throw shapeError(this, '[batch, features]', inputShape, 'put flatten() before it');
    }
    const inputDim = inputShape[1] as number;
    this.kernel = this.addWeight('kernel', [inputDim, this.units], this.kernelInitializer, random);
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], this.biasInitializer, random);
  }

  call(x: Tensor, _context: CallContext): Tensor {
    const kernel = this.kernel as Tensor;
    if (x.rank !== 2 || x.shape[1] !== kernel.shape[0]) {
      throw shapeError(this, `[batch, ${kernel.shape[0]}] (kernel ${formatShape(kernel.shape)})`, x.shape);
    }
    const y = matmul(x, kernel); // (N, units)
    return getActivation(this.activation)(this.bias ? add(y, this.bias) : y);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: serializeInitializer(this.kernelInitializer),
      biasInitializer: serializeInitializer(this.biasInitializer),
    };
  }
}

/** TF.js-style factory: dense({units: 128, activation: 'relu'}). */
export function dense(args: DenseArgs): Dense {
  return new Dense(args);
}

/** A Dense from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const denseFromConfig: LayerFactory = (config) =>
  new Dense({
    ...baseArgs(config),
    ...pick<DenseArgs>(config, ['units', 'activation', 'useBias', 'kernelInitializer', 'biasInitializer']),
  });
