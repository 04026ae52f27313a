// Activation: applies a named activation function; shape unchanged.
import type { Tensor } from '../../tensor/tensor.js';
import { canonicalActivationName, getActivation } from '../activations.js';
import type { ActivationName } from '../activations.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs } from './common.js';

export interface ActivationArgs extends LayerArgs {
  activation: ActivationName;
}

export class Activation extends Layer {
  readonly className = 'Activation';
  readonly activation: ActivationName;

  constructor(args: ActivationArgs) {
    super(args, 'activation');
    this.activation = canonicalActivationName(args.activation);
  }

  call(x: Tensor, _context: CallContext): Tensor {
    return getActivation(this.activation)(x);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: this.activation };
  }
}

/** TF.js-style factory: activation({activation: 'relu'}). */
export function activation(args: ActivationArgs): Activation {
  return new Activation(args);
}

/** A Activation from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const activationFromConfig: LayerFactory = (config) =>
  new Activation({ ...baseArgs(config), activation: config['activation'] as ActivationName });
