// The fit plan: how many examples a fit() trains on and how many optimizer steps an epoch and the
// whole fit take. The one place this is counted: fit() runs the plan, and whoever builds a
// learning-rate schedule over a fit's steps (the train command, fine-tuning, pretraining) asks
// fitPlan() for it instead of counting again. Browser-safe, pure.
//
// Letters: N examples given to fit, S steps per epoch, E epochs run.
import type { FitOptions } from './types.js';

/** fit()'s defaults, in one constant. */
export const FIT_DEFAULTS = {
  epochs: 1,
  batchSize: 32,
  shuffle: true,
  initialEpoch: 0,
  seed: 0,
  verbose: 1,
  accumulateSteps: 1,
  keepCheckpoints: 3,
  checkpointEvery: 'epoch',
} as const;

/** The options of fit() the plan depends on (a FitOptions object may be given whole). */
export type FitPlanOptions = Pick<
  FitOptions,
  | 'epochs'
  | 'initialEpoch'
  | 'batchSize'
  | 'accumulateSteps'
  | 'validationData'
  | 'validationSplit'
  | 'limit'
  | 'stepsPerEpoch'
>;

export interface FitPlan {
  /** Examples held out by validationSplit (0 with validationData or without a split). */
  heldOut: number;
  /** Training examples after the validation split, then the limit. */
  trainExamples: number;
  /** Examples per optimizer step: batchSize micro-batches accumulated accumulateSteps times. */
  stepExamples: number;
  /** Optimizer steps per epoch (S): the last one takes what is left (a short batch). */
  stepsPerEpoch: number;
  /** Epochs this fit runs (E): epochs - initialEpoch. */
  epochs: number;
  /** Optimizer steps this fit performs: S x E. */
  totalSteps: number;
  /** The step count a learning-rate schedule over this fit spans: totalSteps, at least 1. */
  scheduleSteps: number;
}

/**
 * The plan of a fit over `examples` examples (N) with these options. The split holds out
 * round(N x validationSplit) examples, as the stratified split does (data/split.ts).
 */
export function fitPlan(examples: number, options: FitPlanOptions = {}): FitPlan {
  const { batchSize, epochs, initialEpoch, accumulateSteps } = { ...FIT_DEFAULTS, ...options };
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`fit(): batchSize must be a positive integer, found ${batchSize}`);
  if (!Number.isInteger(epochs) || epochs < 0)
    throw new Error(`fit(): epochs must be a whole number, found ${epochs}`);
  if (!Number.isInteger(accumulateSteps) || accumulateSteps < 1)
    throw new Error(`fit(): accumulateSteps must be a positive integer, found ${accumulateSteps}`);
  const split = options.validationData === undefined ? (options.validationSplit ?? 0) : 0;
  const heldOut = split > 0 ? Math.round(split * examples) : 0;
  const trainExamples = Math.max(0, Math.min(examples - heldOut, options.limit ?? Infinity));
  const stepExamples = batchSize * accumulateSteps;
  const batchesInData = Math.ceil(trainExamples / stepExamples);
  const stepsPerEpoch = Math.min(options.stepsPerEpoch ?? batchesInData, batchesInData);
  const epochsRun = Math.max(0, epochs - initialEpoch);
  const totalSteps = stepsPerEpoch * epochsRun;
  return {
    heldOut,
    trainExamples,
    stepExamples,
    stepsPerEpoch,
    epochs: epochsRun,
    totalSteps,
    scheduleSteps: Math.max(1, totalSteps),
  };
}
