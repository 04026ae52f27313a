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

/** POST /api/runs: a model taught in the page (src/server/saved-runs.ts checks it). */
export interface SaveRunBody {
  /** model.safetensors in base64. */
  model: string;
  classNames: string[];
  method: 'head' | 'lora';
  base?: string;
  name?: string;
  training?: { epochs: number; seconds: number; examples: number };
  heldOut?: { count: number; accuracyBefore: number; accuracyAfter: number };
}
