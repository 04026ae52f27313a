// Callbacks: everything optional in training (progress, early stopping, checkpoints, logs) hangs on
// one fixed list of hooks, dispatched from one place (CallbackList.emit). A callback stops training
// by calling context.stop(reason), a flag the loop checks between batches; never by throwing.
//
// Hook order of a fit (E epochs of S batches):
//   onTrainBegin, (onEpochBegin, (onBatchBegin, onBatchEnd) x S, onEpochEnd, onSavePoint) x E, onTrainEnd
// Validation runs after an epoch's last onBatchEnd and before its onEpochEnd. A fit the signal
// interrupts calls onSavePoint where it stopped (mid-epoch, no onEpochEnd), then onTrainEnd.
// Browser-safe.
import type { Optimizer } from '../../optim/optimizer.js';
import type { CallbackState, TrainState } from '../../runs/types.js';
import type { Model } from '../model.js';
import type {
  BatchBeginEvent,
  BatchEndEvent,
  CheckpointEvent,
  EpochBeginEvent,
  EpochEndEvent,
  TrainBeginEvent,
  TrainEndEvent,
  StopReason,
  TrainEvent,
} from '../types.js';

/** What a callback may look at and change during fit(). */
export class TrainingContext {
  /** Set by stop(); the loop ends after the current batch (and finishes that epoch's logs). */
  stopTraining = false;
  /** Why, once stopped: what fit() returns as its stopReason. */
  stopReason: StopReason | undefined;
  /** What the stop said (the trainEnd event's stopReason). */
  stopMessage: string | undefined;

  constructor(
    readonly model: Model,
    readonly optimizer: Optimizer,
  ) {}

  /** Asks the loop to stop; the first reason given is kept. */
  stop(message: string, reason: StopReason = 'stopped'): void {
    if (!this.stopTraining) {
      this.stopReason = reason;
      this.stopMessage = message;
    }
    this.stopTraining = true;
  }
}

/**
 * A point fit() can be resumed from, given to onSavePoint (RunCheckpoints writes its checkpoints
 * there). 'epochEnd': between epochs, once the epoch's epochEnd reached every callback and sink (the
 * metrics line it closes precedes the checkpoint). 'interrupted': where the signal stopped training,
 * mid-epoch, before trainEnd (before any callback's trainEnd changes the weights).
 */
export interface SavePoint {
  /** Between epochs, or where the signal stopped training. */
  kind: 'epochEnd' | 'interrupted';
  /** What a resumed fit needs besides the weights and the optimizer (state.json), callbacks aside. */
  state: TrainState;
  /** Every callback's saveState by its stateKey, as of now (CallbackList.saveStates). */
  callbackStates(): Record<string, CallbackState> | undefined;
  /** Sends a checkpoint's event to the sinks (metrics.jsonl, onEvent); callbacks do not see it. */
  log(event: CheckpointEvent): Promise<void>;
}

type HookResult = void | Promise<void>;

/** Base class: override the hooks you need. Hooks may be async; fit() awaits them in order. */
export abstract class Callback {
  private attached: TrainingContext | undefined;

  /** The training this callback is attached to (set before onTrainBegin). */
  get context(): TrainingContext {
    if (!this.attached) throw new Error(`${this.constructor.name}: used outside fit()`);
    return this.attached;
  }

  setContext(context: TrainingContext): void {
    this.attached = context;
  }

  /**
   * The name this callback's state is saved under in each checkpoint (state.json `callbacks`), or
   * undefined for a callback with nothing to carry across a resume.
   */
  get stateKey(): string | undefined {
    return undefined;
  }

  /** What a resumed fit needs of this callback, saved with every checkpoint; undefined: nothing yet. */
  saveState(): CallbackState | undefined {
    return undefined;
  }

  /** Puts back what saveState gave, when a fit resumes (after onTrainBegin). */
  restoreState(_state: CallbackState): void {}

  onTrainBegin(_event: TrainBeginEvent): HookResult {}
  onEpochBegin(_event: EpochBeginEvent): HookResult {}
  onBatchBegin(_event: BatchBeginEvent): HookResult {}
  onBatchEnd(_event: BatchEndEvent): HookResult {}
  onEpochEnd(_event: EpochEndEvent): HookResult {}
  onTrainEnd(_event: TrainEndEvent): HookResult {}
  /** A point the run can be resumed from (SavePoint): where checkpoints are written. */
  onSavePoint(_point: SavePoint): HookResult {}
}

/** A consumer of the raw event stream (onEvent, metrics.jsonl). */
export type EventSink = (event: TrainEvent) => void | Promise<void>;

/**
 * The one place hooks are dispatched: each event goes to every callback's matching hook, in list
 * order, then to every sink. Events are shared objects: a callback's change (e.g. a new lr at
 * epochBegin) is seen by later callbacks and by the sinks.
 */
export class CallbackList {
  constructor(
    readonly callbacks: readonly Callback[],
    private readonly sinks: readonly EventSink[] = [],
  ) {}

  setContext(context: TrainingContext): void {
    for (const callback of this.callbacks) callback.setContext(context);
  }

  /** Every callback's saveState by its stateKey, or undefined when none keeps anything. */
  saveStates(): Record<string, CallbackState> | undefined {
    const states: Record<string, CallbackState> = {};
    for (const callback of this.callbacks) {
      const key = callback.stateKey;
      const state = key === undefined ? undefined : callback.saveState();
      if (key !== undefined && state !== undefined) states[key] = state;
    }
    return Object.keys(states).length > 0 ? states : undefined;
  }

  /** Gives each callback the state a checkpoint saved under its stateKey (a resumed fit). */
  restoreStates(states: Readonly<Record<string, CallbackState>>): void {
    for (const callback of this.callbacks) {
      const key = callback.stateKey;
      const state = key === undefined ? undefined : states[key];
      if (state !== undefined) callback.restoreState(state);
    }
  }

  async emit(event: TrainEvent): Promise<void> {
    for (const callback of this.callbacks) {
      const pending = dispatch(callback, event);
      if (pending) await pending;
    }
    await this.log(event);
  }

  /** Gives every callback, in list order, a point the run can be resumed from (SavePoint). */
  async savePoint(kind: SavePoint['kind'], state: TrainState): Promise<void> {
    const point: SavePoint = {
      kind,
      state,
      callbackStates: () => this.saveStates(),
      log: (event) => this.log(event),
    };
    for (const callback of this.callbacks) {
      const pending = callback.onSavePoint(point);
      if (pending) await pending;
    }
  }

  private async log(event: TrainEvent): Promise<void> {
    for (const sink of this.sinks) {
      const pending = sink(event);
      if (pending) await pending;
    }
  }
}

function dispatch(callback: Callback, event: TrainEvent): HookResult {
  switch (event.type) {
    case 'trainBegin':
      return callback.onTrainBegin(event);
    case 'epochBegin':
      return callback.onEpochBegin(event);
    case 'batchBegin':
      return callback.onBatchBegin(event);
    case 'batchEnd':
      return callback.onBatchEnd(event);
    case 'epochEnd':
      return callback.onEpochEnd(event);
    case 'trainEnd':
      return callback.onTrainEnd(event);
    case 'checkpoint':
      return; // not a hook: only sinks see it
  }
}

/** Keras-named values of an epochEnd event, for monitors and loggers: loss, accuracy, val_loss, ... */
export function epochLogs(event: EpochEndEvent): Record<string, number> {
  const logs: Record<string, number> = { loss: event.loss, accuracy: event.accuracy, lr: event.lr };
  if (event.valLoss !== undefined) logs['val_loss'] = event.valLoss;
  if (event.valAccuracy !== undefined) logs['val_accuracy'] = event.valAccuracy;
  return logs;
}

/** Reads a monitored quantity by Keras name ('val_loss') or event name ('valLoss'). */
export function monitoredValue(event: EpochEndEvent, monitor: string): number | undefined {
  const snake = monitor.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  return epochLogs(event)[snake === 'acc' ? 'accuracy' : snake === 'val_acc' ? 'val_accuracy' : snake];
}

/** 'min' or 'max' for a monitor in mode 'auto': accuracies grow, everything else shrinks. */
export function resolveMode(mode: 'auto' | 'min' | 'max', monitor: string): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return /acc/i.test(monitor) ? 'max' : 'min';
}
