// GlobalAveragePooling2D: the mean over every position. (N, H, W, C) -> (N, C), or (N, 1, 1, C)
// with keepDims.
import type { Shape } from '../../backend/kernels.js';
import type { RandomSource } from '../../tensor/ops/creation.js';
import { globalAvgPool2d } from '../../tensor/ops/nn.js';
import { reshape } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, pick, shapeError } from './common.js';

export interface GlobalAveragePooling2DArgs extends LayerArgs {
  keepDims?: boolean;
}

export class GlobalAveragePooling2D extends Layer {
  readonly className = 'GlobalAveragePooling2D';
  readonly keepDims: boolean;

  constructor(args: GlobalAveragePooling2DArgs = {}) {
    super(args, 'global_average_pooling2d');
    this.keepDims = args.keepDims ?? false;
  }

  protected override createWeights(inputShape: Shape, _random: RandomSource): void {
    if (inputShape.length !== 4)
      throw shapeError(this, '[batch, height, width, channels] (NHWC)', inputShape);
  }

  call(x: Tensor, _context: CallContext): Tensor {
    if (x.rank !== 4) throw shapeError(this, '[batch, height, width, channels] (NHWC)', x.shape);
    const y = globalAvgPool2d(x); // (N, C)
    return this.keepDims ? reshape(y, [x.shape[0] as number, 1, 1, x.shape[3] as number]) : y;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), keepDims: this.keepDims };
  }
}

export function globalAveragePooling2d(args: GlobalAveragePooling2DArgs = {}): GlobalAveragePooling2D {
  return new GlobalAveragePooling2D(args);
}

/** A GlobalAveragePooling2D from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const globalAveragePooling2DFromConfig: LayerFactory = (config) =>
  new GlobalAveragePooling2D({
    ...baseArgs(config),
    ...pick<GlobalAveragePooling2DArgs>(config, ['keepDims']),
  });
