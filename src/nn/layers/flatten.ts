// Flatten: keeps the batch axis and flattens the rest. (N, d1, d2, ...) -> (N, d1*d2*...). A view.
import { flatten as flattenOp, reshape } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs } from './common.js';

export type FlattenArgs = LayerArgs;

export class Flatten extends Layer {
  readonly className = 'Flatten';

  constructor(args: FlattenArgs = {}) {
    super(args, 'flatten');
  }

  call(x: Tensor, _context: CallContext): Tensor {
    // A rank-1 batch (N) becomes (N, 1), as in Keras.
    return x.rank === 1 ? reshape(x, [x.shape[0] as number, 1]) : flattenOp(x);
  }
}

/** TF.js-style factory: flatten({inputShape: [28, 28]}). */
export function flatten(args: FlattenArgs = {}): Flatten {
  return new Flatten(args);
}

/** A Flatten from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const flattenFromConfig: LayerFactory = (config) => new Flatten(baseArgs(config));
