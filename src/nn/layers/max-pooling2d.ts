// MaxPooling2D: the largest value of each window, per channel. (N, H, W, C) -> (N, OH, OW, C).
import { maxPool2d } from '../../tensor/ops/nn.js';
import type { Pool2DOptions } from '../../tensor/ops/nn.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { LayerFactory } from '../layer.js';
import { baseArgs, pick } from './common.js';
import { POOLING2D_KEYS, Pooling2D } from './pooling2d.js';
import type { Pooling2DArgs } from './pooling2d.js';

export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';

  constructor(args: Pooling2DArgs = {}) {
    super(args, 'max_pooling2d');
  }

  protected pool(x: Tensor, options: Pool2DOptions): Tensor {
    return maxPool2d(x, options);
  }
}

/** TF.js-style factory: maxPooling2d({poolSize: 2}). */
export function maxPooling2d(args: Pooling2DArgs = {}): MaxPooling2D {
  return new MaxPooling2D(args);
}

/** A MaxPooling2D from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const maxPooling2DFromConfig: LayerFactory = (config) =>
  new MaxPooling2D({ ...baseArgs(config), ...pick<Pooling2DArgs>(config, POOLING2D_KEYS) });
