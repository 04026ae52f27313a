// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, p -= lr * weightDecay * p, applied
// to the weights beside the Adam step instead of through the gradient. Default decay 0.004 (Keras).
import { Adam } from './adam.js';
import type { AdamOptions } from './adam.js';

const ADAMW_WEIGHT_DECAY = 0.004;

export class AdamW extends Adam {
  override readonly className: string = 'AdamW';
  protected override readonly decoupledWeightDecay: boolean = true;

  constructor(options: AdamOptions = {}) {
    super(options, ADAMW_WEIGHT_DECAY);
  }
}

export function adamW(options: AdamOptions = {}): AdamW {
  return new AdamW(options);
}
