// LearningRateScheduler: sets the optimizer's learning rate at the start of every epoch from
// schedule(epoch, currentRate) (Keras semantics; per-step schedules belong to the optimizer).
import type { EpochBeginEvent } from '../types.js';
import { Callback } from './callback.js';

export type EpochSchedule = (epoch: number, learningRate: number) => number;

export class LearningRateScheduler extends Callback {
  constructor(readonly schedule: EpochSchedule) {
    super();
  }

  override onEpochBegin(event: EpochBeginEvent): void {
    const optimizer = this.context.optimizer;
    const rate = this.schedule(event.epoch, optimizer.currentLearningRate());
    if (!(Number.isFinite(rate) && rate >= 0)) {
      throw new Error(
        `LearningRateScheduler: schedule(${event.epoch}) returned ${rate}, expected a rate >= 0`,
      );
    }
    optimizer.learningRate = rate;
    event.lr = rate; // later callbacks and the event stream see the rate this epoch uses
  }
}

export function learningRateScheduler(schedule: EpochSchedule): LearningRateScheduler {
  return new LearningRateScheduler(schedule);
}
