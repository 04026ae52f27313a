// The trainer's one seam for data-parallel training (several processes training one model, each on
// a share of every batch): the shapes it hands over and gets back. Browser-safe: types only. The
// implementation over MPI is src/distributed/data-parallel.ts; the trainer knows only this.
//
// Letters: B global batch, b this process's share of it, C channels.
import type { BatchShare } from '../nn/layer.js';
import type { CrossReplica } from '../tensor/ops/cross-replica.js';
import type { Tensor } from '../tensor/tensor.js';
import type { StepInput, StepResult } from './trainer.js';

/** What a data-parallel step adds to the trainer's step, between its backward pass and its update. */
export interface StepSynchronization {
  /**
   * Called once per step after the gradients are computed and before the optimizer reads them:
   * makes `grads` and `loss` (this process's means over its b examples) the means over all B
   * examples of the global batch, in place, on every process.
   */
  gradients(grads: readonly Tensor[], loss: Tensor): void;
  /** Set with --sync-bn: batch norm takes its batch statistics over all processes. */
  crossReplica?: CrossReplica | undefined;
  /** Where this process's rows sit in the global batch, for per-example randomness (CallContext). */
  batchShare?: BatchShare | undefined;
}

/** One model trained by several processes: fit({dataParallel}). */
export interface DataParallel {
  /** This process's index (0 writes the run) and the number of processes. */
  readonly rank: number;
  readonly size: number;
  /**
   * Runs the trainer's `trainStep` on this process's share of the global batch `input.indices`,
   * with `input.sync` set, and returns the global batch's loss and correct count; `step` is the
   * global step (weights are compared across processes every few steps).
   */
  step(input: StepInput, trainStep: (input: StepInput) => StepResult, step: number): StepResult;
  /** The signal every process agrees on: aborted after the first step at which any process's was. */
  agreedSignal(signal: AbortSignal | undefined): AbortSignal;
  /** The [begin, end) of `count` rows this process computes when a pass over them is shared. */
  rowsOf(count: number): [number, number];
  /**
   * `rows` (count, F) holds this process's rows (rowsOf(count)) and zeros elsewhere: afterwards it
   * holds every process's rows, on every process (the frozen-feature cache, src/finetune).
   */
  gatherRows(rows: Float32Array): void;
}
