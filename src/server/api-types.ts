// The JSON shapes of the `mnist-lab serve` API's run listing and run detail: one definition that
// the server (src/server/runs.ts) produces and the page (web/src/types.ts) reads. Types only, so
// the web bundle takes nothing from the server's Node code.
import type { InputNormalization } from '../data/normalize.js';

/**
 * 'running': training; 'evaluating': training ended, its process evaluates the test set and writes
 * the report; 'finished' / 'stopped' (interrupted, resumable); 'failed': ended without a trainEnd or
 * unreadable files.
 */
export type RunStatus = 'running' | 'evaluating' | 'finished' | 'stopped' | 'failed';

/** Which accuracy RunSummary.bestAccuracy is: validation (runs that validate) or test (the evaluation). */
export type AccuracyKind = 'validation' | 'test';

export interface RunSummary {
  /** The directory name under the runs directory. */
  id: string;
  model: string;
  dataset: string | null;
  classes: number[] | null;
  /** ISO 8601. */
  createdAt: string;
  status: RunStatus;
  /** Epochs completed. */
  epochs: number;
  /**
   * 0..1: the best validation accuracy for a run that validates, else the test accuracy of its
   * evaluation (evaluation.json); null until there is one. Never a training accuracy.
   */
  bestAccuracy: number | null;
  accuracyKind: AccuracyKind;
  hasModel: boolean;
  hasReport: boolean;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  lr?: number;
}

export interface RunDetail {
  run: RunSummary;
  config: Record<string, unknown>;
  history: EpochRecord[];
  classNames: string[];
  /**
   * The standardisation an old run recorded outside its model (null for runs whose model carries
   * its own Normalization layer): the page restores it with restoreInputNormalization().
   */
  normalize: InputNormalization | null;
}
