// The JSON shapes of the `mnist-lab serve` API, as the page reads them.
export type { EpochRecord, RunDetail, RunStatus, RunSummary } from '../../src/server/api-types.js';

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
