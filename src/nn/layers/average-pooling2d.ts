// AveragePooling2D: the mean of each window, per channel (padding never counts in the mean).
// (N, H, W, C) -> (N, OH, OW, C).
import { avgPool2d } from '../../tensor/ops/nn.js';
import type { Pool2DOptions } from '../../tensor/ops/nn.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { LayerFactory } from '../layer.js';
import { baseArgs, pick } from './common.js';
import { POOLING2D_KEYS, Pooling2D } from './pooling2d.js';
import type { Pooling2DArgs } from './pooling2d.js';

export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';

  constructor(args: Pooling2DArgs = {}) {
    super(args, 'average_pooling2d');
  }

  protected pool(x: Tensor, options: Pool2DOptions): Tensor {
    return avgPool2d(x, options);
  }
}

/** TF.js-style factory: averagePooling2d({poolSize: 2}). */
export function averagePooling2d(args: Pooling2DArgs = {}): AveragePooling2D {
  return new AveragePooling2D(args);
}

/** A AveragePooling2D from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const averagePooling2DFromConfig: LayerFactory = (config) =>
  new AveragePooling2D({ ...baseArgs(config), ...pick<Pooling2DArgs>(config, POOLING2D_KEYS) });
