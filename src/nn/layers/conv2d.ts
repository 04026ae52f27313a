// Conv2D over NHWC: x (N, H, W, C) * kernel HWIO [KH, KW, C, filters] + bias [filters]
// -> y (N, OH, OW, filters), OH = ceil(H / stride) for 'same', floor((H - dil*(KH-1) - 1) / stride) + 1
// for 'valid'.
import type { Shape } from '../../backend/kernels.js';
import type { RandomSource } from '../../tensor/ops/creation.js';
import { conv2d as conv2dOp } from '../../tensor/ops/nn.js';
import type { Tensor } from '../../tensor/tensor.js';
import { canonicalActivationName, getActivation } from '../activations.js';
import type { ActivationName } from '../activations.js';
import { getInitializer, serializeInitializer } from '../initializers.js';
import type { InitializerIdentifier, SerializableInitializer } from '../initializers.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, pick, shapeError, toPair } from './common.js';
import type { Pair } from './common.js';

export interface Conv2DArgs extends LayerArgs {
  filters: number;
  kernelSize: Pair;
  strides?: Pair;
  padding?: 'same' | 'valid';
  dilationRate?: Pair;
  activation?: ActivationName;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier;
  biasInitializer?: InitializerIdentifier;
}

const CONV2D_DEFAULTS = {
  strides: 1,
  padding: 'valid',
  dilationRate: 1,
  activation: 'linear',
  useBias: true,
  kernelInitializer: 'glorot_uniform',
  biasInitializer: 'zeros',
} as const;

export class Conv2D extends Layer {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';
  readonly dilationRate: [number, number];
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly kernelInitializer: SerializableInitializer;
  readonly biasInitializer: SerializableInitializer;
  /** HWIO [KH, KW, C, filters] */
  kernel: Tensor | undefined;
  /** [filters] */
  bias: Tensor | undefined;

  constructor(args: Conv2DArgs) {
    super(args, 'conv2d');
    if (!Number.isInteger(args.filters) || args.filters <= 0) {
      throw new Error(
        `Conv2D '${this.name}': filters must be a positive integer, found ${JSON.stringify(args.filters)}`,
      );
    }
    this.filters = args.filters;
    this.kernelSize = toPair(args.kernelSize, 'kernelSize', this.name);
    this.strides = toPair(args.strides ?? CONV2D_DEFAULTS.strides, 'strides', this.name);
    this.dilationRate = toPair(args.dilationRate ?? CONV2D_DEFAULTS.dilationRate, 'dilationRate', this.name);
    this.padding = args.padding ?? CONV2D_DEFAULTS.padding;
    if (this.padding !== 'same' && this.padding !== 'valid') {
      throw new Error(
        `Conv2D '${this.name}': padding must be 'same' or 'valid', found '${String(this.padding)}'`,
      );
    }
    this.activation = canonicalActivationName(args.activation ?? CONV2D_DEFAULTS.activation);
    this.useBias = args.useBias ?? CONV2D_DEFAULTS.useBias;
    this.kernelInitializer = getInitializer(args.kernelInitializer ?? CONV2D_DEFAULTS.kernelInitializer);
    this.biasInitializer = getInitializer(args.biasInitializer ?? CONV2D_DEFAULTS.biasInitializer);
  }

  protected override createWeights(inputShape: Shape, random: RandomSource): void {
    if (inputShape.length !== 4) {
      throw shapeError(
        this,
        '[batch, height, width, channels] (NHWC)',
        inputShape,
        'for (N, 28, 28) images put reshape({targetShape: [28, 28, 1]}) before it',
      );
    }
    const channels = inputShape[3] as number;
    const [kh, kw] = this.kernelSize;
    this.kernel = this.addWeight('kernel', [kh, kw, channels, this.filters], this.kernelInitializer, random);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], this.biasInitializer, random);
  }

  call(x: Tensor, _context: CallContext): Tensor {
    const kernel = this.kernel as Tensor;
    if (x.rank !== 4 || x.shape[3] !== kernel.shape[2]) {
      throw shapeError(this, `[batch, height, width, ${kernel.shape[2]}] (NHWC)`, x.shape);
    }
    // ReLU is fused into the convolution kernel (one pass fewer over the output); others follow it.
    const fused = this.activation === 'relu';
    const y = conv2dOp(x, kernel, this.bias ?? null, {
      strides: this.strides,
      padding: this.padding,
      dilations: this.dilationRate,
      activation: fused ? 'relu' : 'linear',
    });
    return fused ? y : getActivation(this.activation)(y);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dilationRate: this.dilationRate,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: serializeInitializer(this.kernelInitializer),
      biasInitializer: serializeInitializer(this.biasInitializer),
    };
  }
}

/** TF.js-style factory: conv2d({filters: 32, kernelSize: 3, activation: 'relu'}). */
export function conv2d(args: Conv2DArgs): Conv2D {
  return new Conv2D(args);
}

/** A Conv2D from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const conv2DFromConfig: LayerFactory = (config) =>
  new Conv2D({
    ...baseArgs(config),
    ...pick<Conv2DArgs>(config, [
      'filters',
      'kernelSize',
      'strides',
      'padding',
      'dilationRate',
      'activation',
      'useBias',
      'kernelInitializer',
      'biasInitializer',
    ]),
  });
