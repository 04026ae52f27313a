// The seed tutorial's experiment flags of `mnist-lab train` (and `compare`): the loss, label
// smoothing, weight decay, gradient clipping, early stopping and keeping the best epoch's model. Each
// maps onto what the API already has (a Loss, optimizer options, the EarlyStopping and
// ModelCheckpoint callbacks); this file only parses, checks and passes them on.
import { Command, Option } from 'commander';
import { earlyStopping, modelCheckpoint, type Callback } from '../../index.js';
import {
  CLASSIFIER_LOSS_NAMES,
  classifierLoss,
  type ClassifierLossName,
  type Loss,
} from '../../losses/index.js';
import { getOptimizer, type Optimizer, serializeOptimizer } from '../../optim/index.js';
import { UsageError } from '../errors.js';
import { integerIn, numberIn } from '../flags.js';

export interface ExperimentFlags {
  loss?: ClassifierLossName;
  labelSmoothing?: number;
  weightDecay?: number;
  clipNorm?: number;
  earlyStopping?: boolean;
  patience?: number;
  saveBest?: boolean;
  validationSplit?: number;
}

/** The flags' names, for the list of run-shaping flags saved in config.json (resume restores them). */
export const EXPERIMENT_FLAG_NAMES = [
  'loss',
  'labelSmoothing',
  'weightDecay',
  'clipNorm',
  'earlyStopping',
  'patience',
  'saveBest',
] as const;

/** Adds --loss, --label-smoothing, --weight-decay and --clip-norm (train and compare). */
export function addLossAndOptimizerOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--loss <name>',
        'training loss on the logits (default sparse-ce; ce: on one-hot targets, mse: of the softmax, bce: per-class sigmoid)',
      ).choices(CLASSIFIER_LOSS_NAMES),
    )
    .option(
      '--label-smoothing <s>',
      "targets (1 - s) * one-hot + s / classes, for sparse-ce, ce and bce (default: the recipe's, else 0)",
      numberIn('--label-smoothing', 0, 1),
    )
    .option(
      '--weight-decay <w>',
      'weight decay: L2 on the gradient for adam and sgd, decoupled for adamw and rmsprop',
      numberIn('--weight-decay', 0, 1),
    )
    .option(
      '--clip-norm <n>',
      "clip the gradients' global L2 norm to at most n before each update",
      numberIn('--clip-norm', 0, 1e6, true),
    );
}

/** Adds --early-stopping, --patience and --save-best (train). */
export function addEarlyStoppingOptions(command: Command): Command {
  return command
    .option('--early-stopping', 'stop when the validation loss stops improving (needs --validation-split)')
    .option(
      '--patience <n>',
      'epochs without improvement before --early-stopping stops (default 0)',
      integerIn('--patience', 0, 10000),
    )
    .option(
      '--save-best',
      'keep the model of the epoch with the lowest validation loss in <run>/best (needs --validation-split)',
    );
}

/** Flags that make no sense together: a one-line UsageError (exit 2) naming the fix. */
export function checkExperimentFlags(flags: ExperimentFlags): void {
  if (flags.patience !== undefined && !flags.earlyStopping) {
    throw new UsageError('--patience applies with --early-stopping; add --early-stopping or drop --patience');
  }
  const validates = (flags.validationSplit ?? 0) > 0;
  if (flags.earlyStopping && !validates) {
    throw new UsageError('--early-stopping watches the validation loss; add --validation-split F (e.g. 0.1)');
  }
  if (flags.saveBest && !validates) {
    throw new UsageError(
      '--save-best keeps the epoch with the lowest validation loss; add --validation-split F (e.g. 0.1)',
    );
  }
  if (flags.loss === 'mse' && (flags.labelSmoothing ?? 0) > 0) {
    throw new UsageError(
      `--label-smoothing ${flags.labelSmoothing}: loss mse takes no label smoothing; use sparse-ce, ce or bce, or drop it`,
    );
  }
}

/** The loss --loss names (default sparse-ce), with --label-smoothing or the recipe's smoothing. */
export function trainingLoss(flags: ExperimentFlags, recipeLabelSmoothing = 0): Loss {
  const name = flags.loss ?? 'sparse-ce';
  // The recipe's smoothing belongs to its cross-entropy: mse gets none unless asked (then refused).
  const labelSmoothing = flags.labelSmoothing ?? (name === 'mse' ? 0 : recipeLabelSmoothing);
  return classifierLoss(name, { labelSmoothing });
}

/** `optimizer` with --weight-decay and --clip-norm applied (rebuilt from its config; state is fresh). */
export function withOptimizerFlags(optimizer: Optimizer, flags: ExperimentFlags): Optimizer {
  if (flags.weightDecay === undefined && flags.clipNorm === undefined) return optimizer;
  const { className, config } = serializeOptimizer(optimizer);
  return getOptimizer({
    className,
    config: {
      ...config,
      ...(flags.weightDecay !== undefined ? { weightDecay: flags.weightDecay } : {}),
      ...(flags.clipNorm !== undefined ? { clipNorm: flags.clipNorm } : {}),
    },
  });
}

/** EarlyStopping and ModelCheckpoint(<run>/best) as the flags ask. */
export function experimentCallbacks(flags: ExperimentFlags, runDir: string): Callback[] {
  const callbacks: Callback[] = [];
  if (flags.earlyStopping) {
    callbacks.push(earlyStopping({ monitor: 'val_loss', patience: flags.patience ?? 0 }));
  }
  if (flags.saveBest) {
    callbacks.push(modelCheckpoint({ directory: runDir, monitor: 'val_loss', saveBestOnly: true }));
  }
  return callbacks;
}
