// What a run directory holds, as types: the seam between training (browser-safe, writes through a
// RunStore) and the files (src/runs/node/). Browser-safe: types only.
//
// The layout itself (file names, parsers) is in layout.ts; the Node reader/writer in node/.
import type { LossConfig } from '../losses/index.js';
import type { LayerConfig } from '../nn/layer.js';
import type { OptimizerConfig } from '../optim/index.js';
import type { RandomState } from '../util/random.js';

/** Per-epoch values, Keras names. */
export interface HistoryValues {
  loss: number[];
  accuracy: number[];
  val_loss?: number[];
  val_accuracy?: number[];
  lr: number[];
}

export interface History {
  /** Epoch indices (0-based) in the order they ran. */
  epoch: number[];
  history: HistoryValues;
}

/** Everything besides weights and optimizer slots needed to continue a run exactly (state.json). */
export interface TrainState {
  format: 'mnist-lab/train-state@1';
  /** The epoch to run next, and how many of its batches already ran. */
  epoch: number;
  batchInEpoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** The shuffle generator as it was at the start of `epoch` (it regenerates that epoch's order). */
  shuffleRandom: RandomState;
  /** The dropout generator now. */
  dropoutRandom: RandomState;
  /** The augmentation generator now (runs with augment). */
  augmentRandom?: RandomState;
  /** Partial sums of the current epoch (non-zero for a checkpoint taken mid-epoch). */
  epochProgress: { lossSum: number; correct: number; seen: number; seconds: number };
  history: History;
  /**
   * What callbacks carry across a resume, by Callback.stateKey: ModelCheckpoint's best value and
   * its epoch. Absent in checkpoints of earlier versions and when no callback keeps anything.
   */
  callbacks?: Record<string, CallbackState>;
}

/** A callback's state in state.json: plain JSON values. */
export type CallbackState = Record<string, string | number | boolean>;

/** A checkpoint's three files, in memory. */
export interface CheckpointData {
  model: Uint8Array;
  optimizer: Uint8Array;
  state: TrainState;
}

/** One line of metrics.jsonl: a training event (src/train/types.ts TrainEvent), stored as it came. */
export interface RunEvent {
  readonly type: string;
}

/**
 * Where a run is written: a directory on Node (src/runs/node/writer.ts openRun()), anything else
 * elsewhere (a browser's IndexedDB, memory in tests). fit({run}) writes through it.
 */
export interface RunStore {
  /** Human-readable location, printed in messages ("resume with --resume <location>"). */
  readonly location: string;
  writeConfig(config: RunConfig): Promise<void>;
  appendEvent(event: RunEvent): Promise<void>;
  /** Writes a checkpoint and moves the `latest` pointer to it; returns its location. */
  saveCheckpoint(checkpoint: CheckpointData, keep: number): Promise<string>;
  /** The checkpoint the `latest` pointer names, or null for a fresh run. */
  loadLatestCheckpoint(): Promise<CheckpointData | null>;
  /** Makes what was written durable and ends this use of the store (a later fit() may write again). */
  close(): Promise<void>;
}

/** File operations the callbacks that write files need (loggers, ModelCheckpoint). */
export interface FileAccess {
  /** Writes atomically: temp file, fsync, rename. */
  writeFileAtomic(path: string, data: Uint8Array | string): Promise<void>;
  /** Appends text (creating the file), durable when the promise resolves. */
  appendText(path: string, text: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  joinPath(...parts: string[]): string;
}

/** Input standardisation of u8 images: (pixel / 255 - mean) / std. */
export interface RunNormalize {
  mean: number;
  std: number;
}

/** How the data side of a run is rebuilt (config.json runConfig.recipe): what evaluate and predict read. */
export interface RunRecipe {
  /** The zoo recipe or architecture the run trained ('imported' for `mnist-lab import`). */
  model?: string;
  dataset: string;
  /** The class subset a run trained on (relabelled 0..k-1), in order. */
  classes?: number[];
  /**
   * The names of the model's outputs, in order, for classes no dataset names (a model taught in the
   * web page: '+', '-', a user's letters). Wins over the dataset's names.
   */
  classNames?: string[];
  normalize?: RunNormalize;
}

/**
 * config.json: written once when a run starts (and by `mnist-lab import`). Every field but `format`
 * is optional: runs written by earlier versions lack the newer ones (`runId`).
 */
export interface RunConfig {
  format: 'mnist-lab/run@1';
  /** Identifies the run; its checkpoints' state.json carry it (pruning removes only those). */
  runId?: string;
  /** ISO 8601. */
  createdAt?: string;
  /** The model's architecture (Model.toConfig()). */
  model?: LayerConfig;
  /** One example's shape, NHWC without the batch dimension, e.g. [28, 28, 1]. */
  inputShape?: readonly number[];
  training?: {
    optimizer?: OptimizerConfig;
    loss?: LossConfig;
    metrics?: string[];
    /** fit()'s options as they were (plain values only). */
    fit?: Record<string, unknown>;
  };
  /** What the caller stored (fit({runConfig})): the CLI's recipe and flags, fine-tuning's base. */
  runConfig?: {
    recipe?: RunRecipe;
    flags?: Record<string, unknown>;
    finetune?: Record<string, unknown>;
    [key: string]: unknown;
  };
  /** Set by `mnist-lab import`: where the model came from. */
  importedFrom?: { path: string; format: string };
  versions?: Record<string, unknown>;
}

/** One class of an evaluation (evaluation.json perClass). */
export interface EvaluationClass {
  label: number;
  name: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface EvaluationAverage {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/**
 * evaluation.json: the numbers of the run's latest evaluation, saved as data beside report.html
 * (readers never parse the HTML). Accuracies are fractions 0..1.
 */
export interface EvaluationRecord {
  format: 'mnist-lab/evaluation@1';
  /** ISO 8601. */
  evaluatedAt: string;
  dataset: string;
  /** 'test' or 'train'. */
  split: string;
  /** Images evaluated. */
  count: number;
  loss: number;
  accuracy: number;
  top2Accuracy: number;
  macro: EvaluationAverage;
  weighted: EvaluationAverage;
  perClass: EvaluationClass[];
  /** (K, K) counts; rows: true class, columns: predicted. */
  confusionMatrix: number[][];
  /** Expected calibration error. */
  ece: number;
}

/** The lock file's content: who holds the run. */
export interface LockRecord {
  pid: number;
  host: string;
  /** ISO 8601: when the lock was taken. */
  since: string;
  /** What holds it, e.g. 'mnist-lab train'. */
  command: string;
}
