// Reshape: (N, ...) -> (N, ...targetShape); targetShape excludes the batch axis and may hold one -1.
import { reshape as reshapeOp } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, formatShape, shapeError } from './common.js';

export interface ReshapeArgs extends LayerArgs {
  targetShape: readonly number[];
}

export class Reshape extends Layer {
  readonly className = 'Reshape';
  readonly targetShape: number[];

  constructor(args: ReshapeArgs) {
    super(args, 'reshape');
    const target = [...args.targetShape];
    if (
      target.filter((d) => d === -1).length > 1 ||
      target.some((d) => !Number.isInteger(d) || (d <= 0 && d !== -1))
    ) {
      throw new Error(
        `Reshape '${this.name}': targetShape must be positive integers with at most one -1, found ${formatShape(target)}`,
      );
    }
    this.targetShape = target;
  }

  call(x: Tensor, _context: CallContext): Tensor {
    const batch = x.shape[0] as number;
    const perExample = x.size / Math.max(batch, 1);
    const known = this.targetShape.reduce((p, d) => (d === -1 ? p : p * d), 1);
    const fits = this.targetShape.includes(-1) ? perExample % known === 0 : perExample === known;
    if (!fits)
      throw shapeError(
        this,
        `with ${known} values per example for ${formatShape(this.targetShape)}`,
        x.shape,
      );
    return reshapeOp(x, [batch, ...this.targetShape]);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), targetShape: this.targetShape };
  }
}

/** TF.js-style factory: reshape({targetShape: [28, 28, 1]}). */
export function reshape(args: ReshapeArgs): Reshape {
  return new Reshape(args);
}

/** A Reshape from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const reshapeFromConfig: LayerFactory = (config) =>
  new Reshape({ ...baseArgs(config), targetShape: config['targetShape'] as number[] });
