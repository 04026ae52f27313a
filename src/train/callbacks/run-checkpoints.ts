// RunCheckpoints: writes the checkpoints a run is resumed from (weights, optimizer, state.json)
// through a RunStore, at the points fit() offers (onSavePoint): after every epoch or only after the
// last, and where the signal interrupted training. Keras's BackupAndRestore beside ModelCheckpoint:
// ModelCheckpoint saves models to use, this saves runs to continue. fit({run}) adds one built from
// its keepCheckpoints and checkpointEvery; pass one in `callbacks` instead to choose them yourself
// (fit then adds none). Browser-safe: files are reached only through the store.
import type { CheckpointData, RunStore } from '../../runs/types.js';
import { encodeModel, encodeOptimizer } from '../checkpoint.js';
import { FIT_DEFAULTS } from '../plan.js';
import type { BatchEndEvent, EpochBeginEvent, TrainBeginEvent } from '../types.js';
import { Callback } from './callback.js';
import type { SavePoint } from './callback.js';

export interface RunCheckpointsOptions {
  /** Where checkpoints go: fit's `run` (on Node a run directory from openRun()), or any RunStore. */
  store: RunStore;
  /** Checkpoints kept (oldest removed first). Default 3. */
  keep?: number;
  /**
   * 'epoch' (default): after every epoch; 'end': after the last one only (short runs whose
   * per-epoch checkpoint costs more than a rerun). An interrupted or stopped run still writes one.
   */
  every?: 'epoch' | 'end';
}

/** fit()'s keepCheckpoints and checkpointEvery defaults: the same run either way. */
const RUN_CHECKPOINTS_DEFAULTS = {
  keep: FIT_DEFAULTS.keepCheckpoints,
  every: FIT_DEFAULTS.checkpointEvery,
} as const;

export class RunCheckpoints extends Callback {
  readonly store: RunStore;
  readonly keep: number;
  readonly every: 'epoch' | 'end';
  /** The epoch training stops before (trainBegin). */
  private epochs = 0;
  /** False once a step of the current epoch had a non-finite loss or gradient. */
  private epochFinite = true;
  /**
   * The step of the checkpoint `latest` names: never rewritten in place (a crash mid-rewrite would
   * leave the only good checkpoint inconsistent), and an interruption right after it adds nothing.
   */
  private savedStep = -1;
  /** The step of the checkpoint restore() read, until the fit it resumes begins. */
  private restoredStep: number | undefined;

  constructor(options: RunCheckpointsOptions) {
    super();
    const o = { ...RUN_CHECKPOINTS_DEFAULTS, ...options };
    if (!Number.isInteger(o.keep) || o.keep < 1)
      throw new Error(
        `RunCheckpoints: keep (fit's keepCheckpoints) must be a positive integer, found ${o.keep}`,
      );
    if (o.every !== 'epoch' && o.every !== 'end')
      throw new Error(
        `RunCheckpoints: every (fit's checkpointEvery) must be 'epoch' or 'end', found '${String(o.every)}'`,
      );
    this.store = o.store;
    this.keep = o.keep;
    this.every = o.every;
  }

  /**
   * The latest checkpoint of the store, which fit() resumes from (fit({resume: true}); it puts the
   * weights, optimizer and state back before training begins). Not rewritten by the resumed fit.
   */
  async restore(): Promise<CheckpointData> {
    const checkpoint = await this.store.loadLatestCheckpoint();
    if (!checkpoint)
      throw new Error(`fit(): nothing to resume in ${this.store.location} (no checkpoint yet)`);
    this.restoredStep = checkpoint.state.step;
    return checkpoint;
  }

  override onTrainBegin(event: TrainBeginEvent): void {
    this.epochs = event.epochs;
    this.savedStep = this.restoredStep ?? -1;
    this.restoredStep = undefined;
  }

  override onEpochBegin(_event: EpochBeginEvent): void {
    this.epochFinite = true;
  }

  override onBatchEnd(event: BatchEndEvent): void {
    this.epochFinite &&= event.finite;
  }

  override async onSavePoint(point: SavePoint): Promise<void> {
    const { state } = point;
    if (point.kind === 'epochEnd') {
      // A diverging run keeps its last good checkpoint: no checkpoint after a non-finite step.
      const lastEpoch = state.epoch >= this.epochs || this.context.stopTraining;
      if (!this.epochFinite || (this.every === 'end' && !lastEpoch)) return;
    }
    if (state.step === this.savedStep) return;
    this.savedStep = state.step;
    const callbacks = point.callbackStates();
    const { model, optimizer } = this.context;
    const path = await this.store.saveCheckpoint(
      {
        model: encodeModel(model),
        optimizer: encodeOptimizer(optimizer),
        state: callbacks ? { ...state, callbacks } : state,
      },
      this.keep,
    );
    await point.log({ type: 'checkpoint', epoch: state.epoch, step: state.step, path });
  }
}

export function runCheckpoints(options: RunCheckpointsOptions): RunCheckpoints {
  return new RunCheckpoints(options);
}
