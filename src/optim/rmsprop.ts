// RMSprop in Keras's form, looped in JS over storage (no fused kernel). Per element:
//   velocity = rho * velocity + (1 - rho) * g^2
//   centered: average = rho * average + (1 - rho) * g;  denominator = velocity - average^2 + epsilon
//   else:     denominator = velocity + epsilon
//   increment = lr * g / sqrt(denominator)
//   momentum > 0: buffer = momentum * buffer + increment; p -= buffer
//   else:         p -= increment
// weightDecay is decoupled (Keras): p -= lr * weightDecay * p before the step.
import type { FloatStorage } from '../backend/kernels.js';
import { refuseCapture } from '../tensor/capture.js';
import { SlotOptimizer } from './slot-optimizer.js';
import type { OptimizerOptions, UpdateGroup } from './slot-optimizer.js';

export interface RmspropOptions extends OptimizerOptions {
  // learningRate default: 0.001.
  /** Decay of the squared-gradient average; default 0.9. */
  rho?: number;
  /** Default 0. */
  momentum?: number;
  /** Default 1e-7. */
  epsilon?: number;
  /** Normalise by the gradient's variance instead of its second moment; default false. */
  centered?: boolean;
  /** Default 0. */
  weightDecay?: number;
}

const RMSPROP_DEFAULTS = {
  learningRate: 0.001,
  rho: 0.9,
  momentum: 0,
  epsilon: 1e-7,
  centered: false,
  weightDecay: 0,
} as const;

export class RMSprop extends SlotOptimizer {
  readonly className = 'RMSprop';
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;
  readonly weightDecay: number;

  constructor(options: RmspropOptions = {}) {
    super(RMSPROP_DEFAULTS.learningRate, options);
    this.rho = options.rho ?? RMSPROP_DEFAULTS.rho;
    this.momentum = options.momentum ?? RMSPROP_DEFAULTS.momentum;
    this.epsilon = options.epsilon ?? RMSPROP_DEFAULTS.epsilon;
    this.centered = options.centered ?? RMSPROP_DEFAULTS.centered;
    this.weightDecay = options.weightDecay ?? RMSPROP_DEFAULTS.weightDecay;
  }

  protected slotNames(): readonly string[] {
    const names = ['velocity'];
    if (this.momentum > 0) names.push('momentum');
    if (this.centered) names.push('average_gradient');
    return names;
  }

  protected updateGroup(group: UpdateGroup): void {
    refuseCapture('RMSprop updates the weights in JavaScript (no fused kernel)');
    const { lr } = group;
    const { rho, momentum, epsilon, weightDecay } = this;
    group.params.forEach((p, k) => {
      const g = group.grads[k] as FloatStorage;
      const velocity = group.slots['velocity']?.[k] as FloatStorage;
      const buffer = group.slots['momentum']?.[k];
      const average = group.slots['average_gradient']?.[k];
      const decay = 1 - lr * weightDecay;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] as number;
        if (weightDecay !== 0) p[i] = (p[i] as number) * decay;
        const vi = rho * (velocity[i] as number) + (1 - rho) * gi * gi;
        velocity[i] = vi;
        let denominator = vi + epsilon;
        if (average) {
          const ai = rho * (average[i] as number) + (1 - rho) * gi;
          average[i] = ai;
          denominator -= ai * ai;
        }
        const increment = (lr * gi) / Math.sqrt(denominator);
        if (buffer) {
          const bi = momentum * (buffer[i] as number) + increment;
          buffer[i] = bi;
          p[i] = (p[i] as number) - bi;
        } else {
          p[i] = (p[i] as number) - increment;
        }
      }
    });
  }

  protected hyperparameters(): Record<string, unknown> {
    return {
      rho: this.rho,
      momentum: this.momentum,
      epsilon: this.epsilon,
      centered: this.centered,
      weightDecay: this.weightDecay,
    };
  }
}

export function rmsprop(options: RmspropOptions = {}): RMSprop {
  return new RMSprop(options);
}
