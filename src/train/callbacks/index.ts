// Callbacks: the public names.
export { Callback, CallbackList, TrainingContext, epochLogs } from './callback.js';
export type { EventSink, SavePoint } from './callback.js';
export { EarlyStopping, earlyStopping } from './early-stopping.js';
export type { EarlyStoppingOptions } from './early-stopping.js';
export { LearningRateScheduler, learningRateScheduler } from './learning-rate-scheduler.js';
export type { EpochSchedule } from './learning-rate-scheduler.js';
export { CsvLogger, JsonlLogger, csvLogger, jsonlLogger } from './loggers.js';
export type { CsvLoggerOptions, JsonlLoggerOptions, TextSink } from './loggers.js';
export { ModelCheckpoint, modelCheckpoint } from './model-checkpoint.js';
export type { CheckpointKind, ModelCheckpointOptions } from './model-checkpoint.js';
export { RunCheckpoints, runCheckpoints } from './run-checkpoints.js';
export type { RunCheckpointsOptions } from './run-checkpoints.js';
export { ProgressBar, formatEpochLine, progressBar } from './progress-bar.js';
export type { ProgressBarOptions } from './progress-bar.js';
export { TerminateOnNaN, TrainingDivergedError, terminateOnNaN } from './terminate-on-nan.js';
