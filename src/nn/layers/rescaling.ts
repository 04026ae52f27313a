// Rescaling: y = x * scale + offset (e.g. scale 1/255 for raw pixels, or standardisation with
// scale 1/std and offset -mean/std). Shape unchanged; no weights.
import { add, mul } from '../../tensor/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, pick } from './common.js';

export interface RescalingArgs extends LayerArgs {
  scale: number;
  offset?: number;
}

export class Rescaling extends Layer {
  readonly className = 'Rescaling';
  readonly scale: number;
  readonly offset: number;

  constructor(args: RescalingArgs) {
    super(args, 'rescaling');
    this.scale = args.scale;
    this.offset = args.offset ?? 0;
  }

  call(x: Tensor, _context: CallContext): Tensor {
    const scaled = this.scale === 1 ? x : mul(x, this.scale);
    return this.offset === 0 ? scaled : add(scaled, this.offset);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset };
  }
}

/** TF.js-style factory: rescaling({scale: 1 / 255}). */
export function rescaling(args: RescalingArgs): Rescaling {
  return new Rescaling(args);
}

/** A Rescaling from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const rescalingFromConfig: LayerFactory = (config) =>
  new Rescaling({ ...baseArgs(config), ...pick<RescalingArgs>(config, ['scale', 'offset']) });
