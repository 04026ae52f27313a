// pretrain(): self-supervised training beside fit(). The objective is a model whose output is its
// own per-example loss (the masked autoencoder, mae.ts); pretrain() compiles it with the
// 'output_mean' loss and runs the one training loop (fit) on images alone, so a pretraining run is
// a run like any other: config.json, metrics.jsonl, checkpoints, resume, stop by signal.
// Browser-safe: files are reached only through the RunStore its caller gives.
//
// No label is read: the loop is given a constant placeholder (it ignores it). The trainer's
// accuracy has no meaning here, so the run's events and the caller's onEvent carry the loss only.
import { outputMean } from '../losses/output-mean.js';
import { adamW, scheduleByName } from '../optim/index.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { RunEvent, RunStore } from '../runs/types.js';
import { Tensor } from '../tensor/tensor.js';
import { DEFAULT_INPUT_SHAPE } from '../train/checkpoint.js';
import { fitPlan } from '../train/plan.js';
import type { FitHistory, FitOptions, ImageInput, TrainEvent } from '../train/types.js';
import type { MaskedAutoencoder } from './mae.js';

export interface PretrainOptions extends Omit<
  FitOptions,
  'validationData' | 'validationSplit' | 'augment' | 'normalize'
> {
  /** Unlabelled held-out images: their reconstruction loss (fixed masks) is the run's val_loss. */
  validationData?: ImageInput;
  /** Peak learning rate of the default optimizer (AdamW, warm-up then cosine). Default 0.001. */
  learningRate?: number;
  /** An optimizer instead of the default (used when the model is not compiled yet). */
  optimizer?: Optimizer;
}

export const PRETRAIN_DEFAULTS = { learningRate: 0.001, batchSize: 128, weightDecay: 0.05 } as const;

/**
 * The default pretraining optimizer: AdamW (decay 0.05, betas 0.9 / 0.95, as the MAE paper) on the
 * `cosine` schedule by name: a linear warm-up over the first 5% of the steps (at most 500), then a
 * cosine down to 0.
 */
export function pretrainOptimizer(
  totalSteps: number,
  learningRate: number = PRETRAIN_DEFAULTS.learningRate,
): Optimizer {
  const schedule = scheduleByName('cosine', { learningRate, totalSteps });
  return adamW({ learningRate: schedule, weightDecay: PRETRAIN_DEFAULTS.weightDecay, beta2: 0.95 });
}

/** Images in an input (what the placeholder targets must match). */
function imageCount(x: ImageInput, inputShape: readonly number[]): number {
  if (x instanceof Tensor) return x.shape[0] ?? 0;
  return Math.floor(x.length / inputShape.reduce((a, b) => a * b, 1));
}

/**
 * Trains `model` (a masked autoencoder) on images `x` (no labels); returns the history (loss and,
 * with validationData, val_loss per epoch). An uncompiled model gets the default optimizer over
 * the run's steps.
 */
export async function pretrain(
  model: MaskedAutoencoder,
  x: ImageInput,
  options: PretrainOptions = {},
): Promise<FitHistory> {
  const inputShape = model.inputShape ?? DEFAULT_INPUT_SHAPE;
  const count = imageCount(x, inputShape);
  const { validationData, learningRate, optimizer, onEvent, run, ...fitOptions } = options;
  const fit: FitOptions = {
    batchSize: PRETRAIN_DEFAULTS.batchSize,
    ...fitOptions,
    ...(validationData !== undefined
      ? { validationData: [validationData, new Uint8Array(imageCount(validationData, inputShape))] as const }
      : {}),
    ...(run ? { run: withoutAccuracy(run) } : {}),
    ...(onEvent ? { onEvent: (event: TrainEvent) => onEvent(lossOnly(event) as TrainEvent) } : {}),
  };
  if (!model.compiled) {
    model.compile({
      optimizer: optimizer ?? pretrainOptimizer(fitPlan(count, fit).scheduleSteps, learningRate),
      loss: outputMean(),
    });
  }
  // NOTE: a placeholder per image, never a dataset's labels: the output_mean loss ignores targets.
  return model.fit(x, new Uint8Array(count), fit);
}

/** The event without the trainer's accuracy fields (meaningless for a self-supervised loss). */
function lossOnly(event: RunEvent): RunEvent {
  if (!('accuracy' in event) && !('valAccuracy' in event)) return event;
  const { accuracy: _a, valAccuracy: _v, ...rest } = event as RunEvent & Record<string, unknown>;
  return rest as RunEvent;
}

/** `store`, writing events without accuracy. */
function withoutAccuracy(store: RunStore): RunStore {
  return {
    get location() {
      return store.location;
    },
    writeConfig: (config) => store.writeConfig(config),
    appendEvent: (event) => store.appendEvent(lossOnly(event)),
    saveCheckpoint: (checkpoint, keep) => store.saveCheckpoint(checkpoint, keep),
    loadLatestCheckpoint: () => store.loadLatestCheckpoint(),
    close: () => store.close(),
  };
}
