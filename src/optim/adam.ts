// Adam (Kingma & Ba) through the fused in-place AdamUpdate kernel, one call per learning-rate group.
// Per parameter, step t (1-based), gradient g:
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon)      (Keras's form)
// weightDecay here is L2 added to the gradient (g += weightDecay * p); AdamW decouples it.
import { kernels } from '../tensor/dispatch.js';
import { SlotOptimizer } from './slot-optimizer.js';
import type { OptimizerOptions, UpdateGroup } from './slot-optimizer.js';

export interface AdamOptions extends OptimizerOptions {
  // learningRate default: 0.001.
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-7 (Keras; PyTorch uses 1e-8). */
  epsilon?: number;
  /** Default 0. */
  weightDecay?: number;
}

const ADAM_DEFAULTS = {
  learningRate: 0.001,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
  weightDecay: 0,
} as const;

export class Adam extends SlotOptimizer {
  readonly className: string = 'Adam';
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  /** True for AdamW: decay applied to the weights directly, scaled by the learning rate. */
  protected readonly decoupledWeightDecay: boolean = false;

  constructor(options: AdamOptions = {}, weightDecayDefault: number = ADAM_DEFAULTS.weightDecay) {
    super(ADAM_DEFAULTS.learningRate, options);
    this.beta1 = options.beta1 ?? ADAM_DEFAULTS.beta1;
    this.beta2 = options.beta2 ?? ADAM_DEFAULTS.beta2;
    this.epsilon = options.epsilon ?? ADAM_DEFAULTS.epsilon;
    this.weightDecay = options.weightDecay ?? weightDecayDefault;
    for (const [name, value] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
    ] as const) {
      if (!(value >= 0 && value < 1))
        throw new Error(`${this.className}: ${name} must be in [0, 1), found ${value}`);
    }
  }

  protected slotNames(): readonly string[] {
    return ['m', 'v'];
  }

  protected updateGroup(group: UpdateGroup): void {
    kernels().AdamUpdate(
      group.params,
      group.grads,
      group.slots['m'] ?? [],
      group.slots['v'] ?? [],
      group.schedule,
      {
        beta1: this.beta1,
        beta2: this.beta2,
        epsilon: this.epsilon,
        weightDecay: this.weightDecay,
        decoupledWeightDecay: this.decoupledWeightDecay,
      },
    );
  }

  protected hyperparameters(): Record<string, unknown> {
    return { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: this.weightDecay };
  }
}

/** Keras/TF.js-style factory: adam(), adam({learningRate: 0.01, beta1: 0.7, beta2: 0.9}). */
export function adam(options: AdamOptions = {}): Adam {
  return new Adam(options);
}
