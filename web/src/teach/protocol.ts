// The messages between the Teach page and its training worker (worker.ts). Images are (N, 28, 28)
// u8, white on black, preprocessed on the page exactly as `mnist-lab predict` does; labels index
// `classNames`. Every request carries an id; the worker answers each with the same id.

export type TeachMethod = 'head' | 'lora';

export interface LoadRequest {
  type: 'load';
  id: number;
  /** The base run's model.safetensors. */
  model: Uint8Array;
  /** The base run's class names (what its outputs mean). */
  classNames: string[];
  /** An old run's standardisation kept outside its model (RunDetail.normalize). */
  normalize: { mean: number; std: number } | null;
}

export interface TrainRequest {
  type: 'train';
  id: number;
  method: TeachMethod;
  classNames: string[];
  /** (N, 28, 28) u8 and (N) class indices: the drawings to learn from. */
  images: Uint8Array;
  labels: Uint8Array;
  /** The user's held-out drawings: accuracy before and after, never trained on. */
  testImages: Uint8Array;
  testLabels: Uint8Array;
  epochs: number;
  seed: number;
}

export interface PredictRequest {
  type: 'predict';
  id: number;
  /** (28, 28) u8. */
  image: Uint8Array;
}

export interface ExportRequest {
  type: 'export';
  id: number;
}

export type TeachRequest = LoadRequest | TrainRequest | PredictRequest | ExportRequest;

/** A request as the page writes it: the id is added when it is sent. */
export type TeachAsk = TeachRequest extends infer R
  ? R extends TeachRequest
    ? Omit<R, 'id'>
    : never
  : never;

export interface ReadyMessage {
  type: 'ready';
  /** e.g. 'wasm, 2 threads, shared memory' or 'js (wasm unavailable: ...)'. */
  backend: string;
}

export interface LossMessage {
  type: 'loss';
  id: number;
  step: number;
  loss: number;
}

export interface TrainedMessage {
  type: 'trained';
  id: number;
  /** Held-out accuracy of the base model (its class names compared with the drawings') and of the taught one; null without held-out drawings. */
  before: number | null;
  after: number | null;
  testCount: number;
  seconds: number;
  epochs: number;
  trainableParams: number;
}

export interface PredictedMessage {
  type: 'predicted';
  id: number;
  name: string;
  /** One per class, in classNames order. */
  probabilities: number[];
}

export interface ExportedMessage {
  type: 'exported';
  id: number;
  /** model.safetensors of the taught model (LoRA merged into its layers). */
  model: Uint8Array;
}

export interface DoneMessage {
  type: 'done';
  id: number;
}

export interface FailedMessage {
  type: 'failed';
  id: number;
  message: string;
}

export type TeachReply =
  | ReadyMessage
  | LossMessage
  | TrainedMessage
  | PredictedMessage
  | ExportedMessage
  | DoneMessage
  | FailedMessage;
