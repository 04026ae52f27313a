// The shared part of MaxPooling2D and AveragePooling2D: window arguments, NHWC shape check, config.
// x (N, H, W, C) -> y (N, OH, OW, C); strides default to the pool size, padding to 'valid' (Keras).
import type { Shape } from '../../backend/kernels.js';
import type { RandomSource } from '../../tensor/ops/creation.js';
import type { Pool2DOptions } from '../../tensor/ops/nn.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { shapeError, toPair } from './common.js';
import type { Pair } from './common.js';

export interface Pooling2DArgs extends LayerArgs {
  /** Window size; default 2. */
  poolSize?: Pair;
  /** Window step; default the pool size. */
  strides?: Pair;
  padding?: 'same' | 'valid';
}

export const POOLING2D_KEYS = ['poolSize', 'strides', 'padding'] as const;

const POOLING2D_DEFAULTS = { poolSize: 2, padding: 'valid' } as const;

export abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';

  constructor(args: Pooling2DArgs, defaultPrefix: string) {
    super(args, defaultPrefix);
    this.poolSize = toPair(args.poolSize ?? POOLING2D_DEFAULTS.poolSize, 'poolSize', this.name);
    this.strides = toPair(args.strides ?? this.poolSize, 'strides', this.name);
    this.padding = args.padding ?? POOLING2D_DEFAULTS.padding;
    if (this.padding !== 'same' && this.padding !== 'valid') {
      throw new Error(`${this.name}: padding must be 'same' or 'valid', found '${String(this.padding)}'`);
    }
  }

  protected abstract pool(x: Tensor, options: Pool2DOptions): Tensor;

  protected override createWeights(inputShape: Shape, _random: RandomSource): void {
    if (inputShape.length !== 4)
      throw shapeError(this, '[batch, height, width, channels] (NHWC)', inputShape);
  }

  call(x: Tensor, _context: CallContext): Tensor {
    if (x.rank !== 4) throw shapeError(this, '[batch, height, width, channels] (NHWC)', x.shape);
    return this.pool(x, { poolSize: this.poolSize, strides: this.strides, padding: this.padding });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}
