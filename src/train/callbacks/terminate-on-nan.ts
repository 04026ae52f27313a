// TerminateOnNaN: stops at the first batch whose loss or gradients are NaN or infinite, naming the
// step. The trainer skips the update of such a batch, so the weights stay the last good ones.
import type { BatchEndEvent } from '../types.js';
import { Callback } from './callback.js';

export class TerminateOnNaN extends Callback {
  /** The message of the stop, once it happened. */
  message: string | undefined;

  override onBatchEnd(event: BatchEndEvent): void {
    if (event.finite && Number.isFinite(event.batchLoss)) return;
    const what = Number.isFinite(event.batchLoss) ? 'a gradient' : `the loss (${event.batchLoss})`;
    this.message =
      `training diverged: ${what} is not finite at step ${event.step} (epoch ${event.epoch + 1}, ` +
      `batch ${event.batch + 1}); stopped without applying that update. Lower the learning rate or clip gradients`;
    this.context.stop(this.message, 'diverged');
  }
}

/** A run that TerminateOnNaN stopped, thrown where a caller asked for divergence to fail the run. */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

export function terminateOnNaN(): TerminateOnNaN {
  return new TerminateOnNaN();
}
