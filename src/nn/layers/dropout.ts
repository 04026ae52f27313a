// Dropout: in training, zeroes each element with probability `rate` and scales the rest by
// 1 / (1 - rate) (inverted dropout, so inference is the identity). Masks come from context.random.
import { dropout as dropoutOp } from '../../tensor/ops/nn.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs } from './common.js';

export interface DropoutArgs extends LayerArgs {
  rate: number;
}

export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;

  constructor(args: DropoutArgs) {
    super(args, 'dropout');
    if (!(args.rate >= 0 && args.rate < 1)) {
      throw new Error(`Dropout '${this.name}': rate must be in [0, 1), found ${JSON.stringify(args.rate)}`);
    }
    this.rate = args.rate;
  }

  call(x: Tensor, context: CallContext): Tensor {
    if (!context.training || this.rate === 0) return x;
    return dropoutOp(x, this.rate, context.random);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate };
  }
}

/** TF.js-style factory: dropout({rate: 0.5}). */
export function dropout(args: DropoutArgs): Dropout {
  return new Dropout(args);
}

/** A Dropout from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const dropoutFromConfig: LayerFactory = (config) =>
  new Dropout({ ...baseArgs(config), rate: config['rate'] as number });
