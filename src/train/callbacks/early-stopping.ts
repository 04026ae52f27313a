// EarlyStopping: stops when a monitored quantity has not improved for `patience` epochs, and can
// put back the weights of the best epoch when training ends (Keras 3 semantics). Its wait count and
// best value travel with each checkpoint, so a resumed run stops at the epoch an uninterrupted one
// would (the best epoch's weights do not: after a resume, restoreBestWeights restores only a best
// epoch reached after the resume).
import type { CallbackState } from '../../runs/types.js';
import { restoreWeights, snapshotWeights } from '../checkpoint.js';
import type { EpochEndEvent, TrainBeginEvent, TrainEndEvent } from '../types.js';
import { Callback, monitoredValue, resolveMode } from './callback.js';

export interface EarlyStoppingOptions {
  /** Keras name of the quantity: 'val_loss' (default), 'val_accuracy', 'loss', 'accuracy'. */
  monitor?: string;
  /** Smallest change that counts as an improvement. Default 0. */
  minDelta?: number;
  /** Epochs without improvement before stopping. Default 0. */
  patience?: number;
  /** 'auto' (default): 'max' for accuracies, 'min' otherwise. */
  mode?: 'auto' | 'min' | 'max';
  /** Stop unless the quantity beats this value. */
  baseline?: number;
  /** Put back the best epoch's weights when training ends. Default false. */
  restoreBestWeights?: boolean;
  /** Epochs to run before watching starts. Default 0. */
  startFromEpoch?: number;
}

const EARLY_STOPPING_DEFAULTS = {
  monitor: 'val_loss',
  minDelta: 0,
  patience: 0,
  mode: 'auto',
  restoreBestWeights: false,
  startFromEpoch: 0,
} as const;

export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly mode: 'min' | 'max';
  readonly baseline: number | undefined;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;
  /** Epoch at which training was stopped, or -1. */
  stoppedEpoch = -1;
  /** Epoch with the best value so far, or -1. */
  bestEpoch = -1;
  best = NaN;
  private wait = 0;
  private bestWeights: Float32Array[] | undefined;

  constructor(options: EarlyStoppingOptions = {}) {
    super();
    const o = { ...EARLY_STOPPING_DEFAULTS, ...options };
    this.monitor = o.monitor;
    this.minDelta = Math.abs(o.minDelta);
    this.patience = o.patience;
    this.mode = resolveMode(o.mode, o.monitor);
    this.baseline = options.baseline;
    this.restoreBestWeights = o.restoreBestWeights;
    this.startFromEpoch = o.startFromEpoch;
  }

  private improves(value: number, reference: number): boolean {
    return this.mode === 'min' ? value < reference - this.minDelta : value > reference + this.minDelta;
  }

  override onTrainBegin(event: TrainBeginEvent): void {
    if (/^val_?/i.test(this.monitor) && event.validationSamples === 0) {
      throw new Error(
        `EarlyStopping: monitors '${this.monitor}' but fit() has no validation data; ` +
          "pass validationData or validationSplit, or monitor 'loss'",
      );
    }
    this.wait = 0;
    this.stoppedEpoch = -1;
    this.bestEpoch = -1;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.bestWeights = undefined;
  }

  override get stateKey(): string {
    return `EarlyStopping(${this.monitor})`;
  }

  override saveState(): CallbackState | undefined {
    if (this.bestEpoch < 0 && this.wait === 0) return undefined; // nothing watched yet
    // NOTE: best is saved only once an epoch set it: JSON has no Infinity.
    const best = this.bestEpoch < 0 ? {} : { best: this.best, epoch: this.bestEpoch };
    return { monitor: this.monitor, mode: this.mode, wait: this.wait, ...best };
  }

  override restoreState(state: CallbackState): void {
    // Saved for another quantity or direction: its count says nothing about this one.
    if (state['monitor'] !== this.monitor || state['mode'] !== this.mode) return;
    const { wait, best, epoch } = state;
    const bestValid =
      best === undefined ? epoch === undefined : typeof best === 'number' && typeof epoch === 'number';
    if (typeof wait !== 'number' || !bestValid) {
      throw new Error(
        `EarlyStopping: the checkpoint's saved state of '${this.monitor}' reads ${JSON.stringify(state)}, ` +
          'expected numbers wait (and best with epoch); its state.json is damaged: resume from an earlier checkpoint',
      );
    }
    this.wait = wait;
    if (typeof best === 'number' && typeof epoch === 'number') {
      this.best = best;
      this.bestEpoch = epoch;
    }
  }

  override onEpochEnd(event: EpochEndEvent): void {
    const value = monitoredValue(event, this.monitor);
    if (value === undefined) {
      throw new Error(
        `EarlyStopping: '${this.monitor}' is not logged (available: loss, accuracy, lr, and val_loss, ` +
          'val_accuracy with validation data)',
      );
    }
    if (event.epoch < this.startFromEpoch) return;
    this.wait += 1;
    if (this.improves(value, this.best)) {
      this.best = value;
      this.bestEpoch = event.epoch;
      if (this.restoreBestWeights) this.bestWeights = snapshotWeights(this.context.model);
      if (this.baseline === undefined || this.improves(value, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && event.epoch > 0) {
      this.stoppedEpoch = event.epoch;
      this.context.stop(
        `early stopping: ${this.monitor} did not improve for ${this.wait} epoch(s) ` +
          `(best ${this.best.toPrecision(5)} at epoch ${this.bestEpoch + 1})`,
        'early-stopping',
      );
    }
  }

  override onTrainEnd(_event: TrainEndEvent): void {
    if (this.restoreBestWeights && this.bestWeights) restoreWeights(this.context.model, this.bestWeights);
  }
}

export function earlyStopping(options: EarlyStoppingOptions = {}): EarlyStopping {
  return new EarlyStopping(options);
}
