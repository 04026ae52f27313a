// The optimizer contract: updates trainable parameters in place from their gradients, keeps its own
// state (moments, step count) so checkpoints can save and restore it exactly.
import type { Tensor } from '../tensor/tensor.js';

/** Learning rate as a function of the 0-based optimizer step. */
export interface LearningRateSchedule {
  readonly className: string;
  at(step: number): number;
  getConfig(): Record<string, unknown>;
}

/** Everything needed to continue optimisation bit-identically after a restart. */
export interface OptimizerState {
  /** Updates applied so far. */
  iterations: number;
  /** Per-parameter slot tensors by slot name ('m', 'v', 'velocity'), in parameter order. */
  slots: Record<string, Tensor[]>;
}

export abstract class Optimizer {
  abstract readonly className: string;
  iterations = 0;

  constructor(
    public learningRate: number | LearningRateSchedule,
    /** Clip gradients so their global L2 norm is at most this (Keras global_clipnorm). */
    public clipNorm?: number,
  ) {}

  /** The rate the next update uses. */
  currentLearningRate(): number {
    return typeof this.learningRate === 'number' ? this.learningRate : this.learningRate.at(this.iterations);
  }

  /**
   * One update of every parameter from its gradient (same order, same shapes), in place, then
   * iterations += 1. Parameters are persistent tensors; slots are created on first use, outside any
   * tidy() scope.
   */
  abstract applyGradients(params: readonly Tensor[], grads: readonly Tensor[]): void;

  abstract getState(): OptimizerState;
  abstract setState(state: OptimizerState): void;
  /** Arguments that rebuild this optimizer (saved in a run's config.json). */
  abstract getConfig(): Record<string, unknown>;
}
