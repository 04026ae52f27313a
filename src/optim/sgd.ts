// SGD with optional momentum and Nesterov momentum, through the fused in-place SgdUpdate kernel.
// Keras's form (the velocity carries the learning rate):
//   velocity = momentum * velocity - lr * g
//   p += velocity                                   (plain momentum)
//   p += momentum * velocity - lr * g               (Nesterov)
// momentum 0: p -= lr * g, and no velocity slot is kept.
import { kernels } from '../tensor/dispatch.js';
import { SlotOptimizer } from './slot-optimizer.js';
import type { OptimizerOptions, UpdateGroup } from './slot-optimizer.js';

export interface SgdOptions extends OptimizerOptions {
  // learningRate default: 0.01 (Keras).
  /** Default 0. */
  momentum?: number;
  /** Default false. */
  nesterov?: boolean;
  /** L2 added to the gradient, g += weightDecay * p; default 0. */
  weightDecay?: number;
}

const SGD_DEFAULTS = { learningRate: 0.01, momentum: 0, nesterov: false, weightDecay: 0 } as const;

export class SGD extends SlotOptimizer {
  readonly className = 'SGD';
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(options: SgdOptions = {}) {
    super(SGD_DEFAULTS.learningRate, options);
    this.momentum = options.momentum ?? SGD_DEFAULTS.momentum;
    this.nesterov = options.nesterov ?? SGD_DEFAULTS.nesterov;
    this.weightDecay = options.weightDecay ?? SGD_DEFAULTS.weightDecay;
    if (!(this.momentum >= 0 && this.momentum < 1)) {
      throw new Error(`SGD: momentum must be in [0, 1), found ${this.momentum}`);
    }
  }

  protected slotNames(): readonly string[] {
    return this.momentum > 0 ? ['velocity'] : [];
  }

  protected updateGroup(group: UpdateGroup): void {
    kernels().SgdUpdate(group.params, group.grads, group.slots['velocity'] ?? [], group.schedule, {
      momentum: this.momentum,
      nesterov: this.nesterov,
      weightDecay: this.weightDecay,
    });
  }

  protected hyperparameters(): Record<string, unknown> {
    return { momentum: this.momentum, nesterov: this.nesterov, weightDecay: this.weightDecay };
  }
}

/** Keras/TF.js-style factory: sgd({learningRate: 0.1, momentum: 0.9, nesterov: true}). */
export function sgd(options: SgdOptions = {}): SGD {
  return new SGD(options);
}
