// The JSON shapes of the `mnist-lab serve` API, as the page reads them.
import type { Normalize } from '../../src/browser.js';

export type RunStatus = 'running' | 'finished' | 'stopped' | 'failed';

export interface RunSummary {
  id: string;
  model: string;
  dataset: string | null;
  classes: number[] | null;
  /** ISO 8601. */
  createdAt: string;
  status: RunStatus;
  epochs: number;
  /** 0..1, null before the first epoch ends. */
  bestAccuracy: number | null;
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
  normalize: Normalize | null;
}

export interface Health {
  ok: boolean;
  version: string;
  backend: string;
}

export interface TrainRequest {
  model: string;
  dataset?: string;
  epochs?: number;
  limit?: number;
  seed?: number;
}
