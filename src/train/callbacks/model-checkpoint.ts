// ModelCheckpoint: saves the model (weights + architecture, one model.safetensors that loadModel()
// reads) after epochs: `last` after every epoch, `best` when the monitored quantity improves.
//   <directory>/last/model.safetensors
//   <directory>/best/model.safetensors
// A directory is written through the FileAccess given (atomic; the Node entry's modelCheckpoint
// gives Node's); elsewhere inject `save`.
import { MODEL_FILE } from '../../runs/layout.js';
import type { CallbackState, FileAccess } from '../../runs/types.js';
import { encodeModel } from '../checkpoint.js';
import type { EpochEndEvent, TrainBeginEvent } from '../types.js';
import { Callback, monitoredValue, resolveMode } from './callback.js';

export type CheckpointKind = 'best' | 'last';

export interface ModelCheckpointOptions {
  /** Directory receiving best/ and last/ (written through `files`). */
  directory?: string;
  /** How `directory` is written (Node: nodeFiles). */
  files?: FileAccess;
  /** Receives each save instead of the directory. */
  save?: (kind: CheckpointKind, modelBytes: Uint8Array, event: EpochEndEvent) => void | Promise<void>;
  /** Quantity deciding `best`: 'val_loss' (default), 'val_accuracy', 'loss', 'accuracy'. */
  monitor?: string;
  mode?: 'auto' | 'min' | 'max';
  /** Write only `best` (Keras save_best_only). Default false: `last` every epoch and `best`. */
  saveBestOnly?: boolean;
}

const MODEL_CHECKPOINT_DEFAULTS = { monitor: 'val_loss', mode: 'auto', saveBestOnly: false } as const;

export class ModelCheckpoint extends Callback {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly saveBestOnly: boolean;
  /** Best monitored value so far, and its epoch (-1 before the first). */
  best = NaN;
  bestEpoch = -1;
  private readonly save: NonNullable<ModelCheckpointOptions['save']>;

  constructor(options: ModelCheckpointOptions) {
    super();
    const o = { ...MODEL_CHECKPOINT_DEFAULTS, ...options };
    this.monitor = o.monitor;
    this.mode = resolveMode(o.mode, o.monitor);
    this.saveBestOnly = o.saveBestOnly;
    if (options.save) this.save = options.save;
    else if (options.directory !== undefined) {
      const { directory, files } = options;
      if (!files) {
        throw new Error(
          `ModelCheckpoint: writing to '${directory}' needs file access: on Node use the package ` +
            "entry's modelCheckpoint (it passes files), or give files or a save function",
        );
      }
      this.save = (kind, bytes) => files.writeFileAtomic(files.joinPath(directory, kind, MODEL_FILE), bytes);
    } else throw new Error('ModelCheckpoint: give a directory or a save function');
  }

  override onTrainBegin(_event: TrainBeginEvent): void {
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.bestEpoch = -1;
  }

  // The best so far travels with each checkpoint: a resumed run replaces `best` only with a better epoch.
  override get stateKey(): string {
    return `ModelCheckpoint(${this.monitor})`;
  }

  override saveState(): CallbackState | undefined {
    if (this.bestEpoch < 0) return undefined;
    return { monitor: this.monitor, mode: this.mode, best: this.best, epoch: this.bestEpoch };
  }

  override restoreState(state: CallbackState): void {
    // Saved for another quantity or direction: its best says nothing about this one.
    if (state['monitor'] !== this.monitor || state['mode'] !== this.mode) return;
    const best = state['best'];
    const epoch = state['epoch'];
    if (typeof best !== 'number' || typeof epoch !== 'number') {
      throw new Error(
        `ModelCheckpoint: the checkpoint's saved best of '${this.monitor}' reads ${JSON.stringify(state)}, ` +
          'expected numbers best and epoch; its state.json is damaged: resume from an earlier checkpoint',
      );
    }
    this.best = best;
    this.bestEpoch = epoch;
  }

  override async onEpochEnd(event: EpochEndEvent): Promise<void> {
    const value = monitoredValue(event, this.monitor);
    if (value === undefined)
      throw new Error(`ModelCheckpoint: '${this.monitor}' is not logged (no validation data?)`);
    const improved = this.mode === 'min' ? value < this.best : value > this.best;
    if (!improved && this.saveBestOnly) return;
    const bytes = encodeModel(this.context.model);
    if (improved) {
      this.best = value;
      this.bestEpoch = event.epoch;
      await this.save('best', bytes, event);
    }
    if (!this.saveBestOnly) await this.save('last', bytes, event);
  }
}

export function modelCheckpoint(options: ModelCheckpointOptions): ModelCheckpoint {
  return new ModelCheckpoint(options);
}
