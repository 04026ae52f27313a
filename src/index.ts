// The public API of mnist-lab: every export is named here (no `export *`). Examples, integration
// tests, the CLI and the web page import only from this file.

export { VERSION } from './version.js';

// ---- backends ----
export type { Backend, DType, Kernels, KernelName, Precision, Shape, Storage } from './backend/kernels.js';
export { getBackend, registerBackend, registeredBackends, setBackend } from './backend/registry.js';
export { NATIVE_HINT, WASM_FALLBACK_HINT, selectBackend } from './backend/select.js';
export type { BackendName, SelectBackendOptions } from './backend/select.js';
export { createJsBackend } from './backend/js/index.js';
export { createNativeBackend, nativeBackendAvailable } from './backend/native/index.js';
export type { NativeBackendOptions } from './backend/native/index.js';
export { WASM_KERNELS } from './backend/wasm/index.js';
export type { WasmBackend } from './backend/wasm/index.js';
export { createNodeWasmBackend, wasmBackendAvailable } from './backend/wasm/node.js';
export type { NodeWasmBackendOptions } from './backend/wasm/node.js';

// ---- data ----
export { DataError } from './data/errors.js';
export { encodeIdx, parseIdx } from './data/idx.js';
export type { IdxArray, IdxData, IdxExpectation, IdxType } from './data/idx.js';
export { DATASETS, FASHION_MNIST, findDataset, MNIST, MNIST_MEAN, MNIST_STD } from './data/registry.js';
export type {
  DatasetFiles,
  DatasetSpec,
  IdxDirectorySpec,
  IdxFileSpec,
  ImageFolderSpec,
  OfflineCopy,
  PinnedDatasetSpec,
} from './data/registry.js';
export { classCounts, IMAGE_HEIGHT, IMAGE_PIXELS, IMAGE_WIDTH, selectExamples } from './data/dataset.js';
export type { DataEvent, Dataset, DataSource, ImageSet, SourceKind } from './data/dataset.js';
export { subsetByClasses, subsetByShots, subsetClassNames, validationSplit } from './data/split.js';
export type {
  ClassSubsetOptions,
  ShotsOptions,
  ValidationSplit,
  ValidationSplitOptions,
} from './data/split.js';
export { normalizeImages, pixelStatistics, standardize } from './data/normalize.js';
export type { InputNormalization } from './data/normalize.js';
export { AUGMENT_DEFAULTS, IDENTITY_WARP, randomAffine, warpAffine } from './data/augment.js';
export type { AffineParams, AugmentOptions } from './data/augment.js';
export { batches, DataLoader, LOADER_DEFAULTS } from './data/loader.js';
export type { Batch, LoaderOptions } from './data/loader.js';
export { parseIndexList, renderGrid } from './data/grid.js';
export type { GridOptions, RgbaImage } from './data/grid.js';
export { resizeArea, rgbaToGray } from './data/image.js';
export { readIdxFile, sha256Hex, writeIdxFile } from './data/node/files.js';
export { decodePng, encodePng } from './data/node/png.js';
export { readImageFolder } from './data/node/image-folder.js';
export type { ImageFolderData, ImageFolderOptions } from './data/node/image-folder.js';
export { cacheRoot, resolveDataset } from './data/node/sources.js';
export type { SourceOptions } from './data/node/sources.js';
export { datasetAvailability, loadDataset, loadMnist } from './data/node/load.js';
export type { LoadOptions, SourceAvailability } from './data/node/load.js';
export { Random } from './util/random.js';
export type { RandomState } from './util/random.js';

// ---- tensors and autograd (ops are one namespace: top-level names are the Keras layers) ----
export { Tensor, dispose, isGradEnabled, keep, noGrad, tidy } from './tensor/tensor.js';
export { checkPrecision, withPrecision } from './tensor/precision.js';
export type { GradNode } from './tensor/tensor.js';
export { gradients } from './tensor/autograd.js';
export { ops } from './tensor/ops/index.js';
export { tensor } from './tensor/ops/creation.js';
export type { NestedNumbers, RandomSource } from './tensor/ops/creation.js';
export type { Padding } from './tensor/ops/nn.js';

// ---- layers ----
export {
  Layer,
  layerFromConfig,
  registerLayer,
  registeredLayerClasses,
  resetLayerNames,
} from './nn/index.js';
export type { BuildShape, CallContext, Initializer, LayerArgs, LayerConfig, Weight } from './nn/index.js';
export {
  Activation,
  Add,
  AveragePooling2D,
  BatchNormalization,
  Conv2D,
  Dense,
  Dropout,
  Embedding,
  Flatten,
  GlobalAveragePooling2D,
  LayerNormalization,
  MaxPooling2D,
  MultiHeadAttention,
  Normalization,
  PatchEmbedding,
  Rescaling,
  Reshape,
  TransformerBlock,
  activation,
  add,
  averagePooling2d,
  batchNormalization,
  conv2d,
  dense,
  dropout,
  embedding,
  flatten,
  globalAveragePooling2d,
  layerNormalization,
  maxPooling2d,
  multiHeadAttention,
  normalization,
  patchEmbedding,
  rescaling,
  reshape,
  transformerBlock,
} from './nn/index.js';
export type {
  ActivationArgs,
  AddArgs,
  BatchNormalizationArgs,
  Conv2DArgs,
  DenseArgs,
  AttentionInputs,
  AttentionOptions,
  AttentionOutput,
  DropoutArgs,
  EmbeddingArgs,
  FlattenArgs,
  GlobalAveragePooling2DArgs,
  LayerNormalizationArgs,
  MultiHeadAttentionArgs,
  NormalizationArgs,
  PatchEmbeddingArgs,
  Pooling2DArgs,
  RescalingArgs,
  ReshapeArgs,
  TransformerBlockArgs,
} from './nn/index.js';
export {
  activationNames,
  computeFans,
  constant,
  getActivation,
  getInitializer,
  glorotNormal,
  glorotUniform,
  heNormal,
  heUniform,
  lecunNormal,
  lecunUniform,
  randomNormalInitializer,
  randomUniformInitializer,
  serializeInitializer,
  truncatedNormal,
} from './nn/index.js';
export type {
  ActivationFunction,
  ActivationName,
  InitializerIdentifier,
  InitializerName,
} from './nn/index.js';

// ---- losses ----
export {
  CLASSIFIER_LOSS_NAMES,
  binaryCrossentropy,
  categoricalCrossentropy,
  classifierLoss,
  getLoss,
  meanSquaredError,
  outputMean,
  serializeLoss,
  sparseCategoricalCrossentropy,
} from './losses/index.js';
export type { ClassifierLossName, Loss } from './losses/index.js';

// ---- optimizers and schedules ----
export {
  Adam,
  AdamW,
  Optimizer,
  RMSprop,
  SCHEDULE_NAMES,
  SGD,
  adam,
  adamW,
  clipByGlobalNorm,
  cosineDecay,
  exponentialDecay,
  getOptimizer,
  globalNorm,
  oneCycle,
  piecewiseConstantDecay,
  rmsprop,
  scheduleByName,
  scheduleFromConfig,
  serializeOptimizer,
  serializeSchedule,
  sgd,
  stepDecay,
} from './optim/index.js';
export type {
  AdamOptions,
  LearningRateSchedule,
  LrMultipliers,
  OptimizerConfig,
  OptimizerOptions,
  OptimizerState,
  RmspropOptions,
  ScheduleConfig,
  ScheduleName,
  SgdOptions,
} from './optim/index.js';

// ---- models and the zoo ----
export { Model, Sequential, sequential, withInputNormalization } from './train/model.js';
export { restoreInputNormalization, savedInputNormalization } from './train/legacy-normalization.js';
export type { ModelPredictOptions, SequentialArgs } from './train/model.js';
export { fitPlan, type FitPlan, type FitPlanOptions } from './train/plan.js';
export { RECIPES, ZOO_MODEL_NAMES, getRecipe } from './zoo/recipes.js';
export type { Recipe, RecipeOptions, ZooModelName } from './zoo/recipes.js';
export { ResNet, ResidualBlock } from './zoo/resnet.js';
export type { ResNetArgs, ResidualBlockArgs } from './zoo/resnet.js';
export { VisionTransformer, vit } from './zoo/vit.js';
export type { VisionTransformerArgs } from './zoo/vit.js';

// ---- training ----
export type {
  BatchBeginEvent,
  BatchEndEvent,
  CheckpointData,
  CheckpointEvent,
  CompileConfig,
  EpochBeginEvent,
  EpochEndEvent,
  EvaluateOptions,
  ExecutionOptions,
  EvaluateResult,
  FitOptions,
  History,
  HistoryValues,
  ImageInput,
  LabelInput,
  MetricName,
  Normalize,
  PredictOptions,
  RunStore,
  TextStream,
  TrainBeginEvent,
  TrainEndEvent,
  TrainEvent,
  TrainState,
} from './train/types.js';
export type { FitHistory, StopReason } from './train/types.js';
export {
  Callback,
  CsvLogger,
  EarlyStopping,
  JsonlLogger,
  LearningRateScheduler,
  ModelCheckpoint,
  ProgressBar,
  TerminateOnNaN,
  TrainingContext,
  TrainingDivergedError,
  earlyStopping,
  learningRateScheduler,
  progressBar,
  terminateOnNaN,
} from './train/callbacks/index.js';
export type {
  CsvLoggerOptions,
  EarlyStoppingOptions,
  JsonlLoggerOptions,
  ModelCheckpointOptions,
  ProgressBarOptions,
} from './train/callbacks/index.js';
export { encodeModel, loadModelWeights } from './train/checkpoint.js';
export { modelFromBytes } from './train/model-file.js';
// Node: models from runs, and the file-writing callbacks given Node's file access explicitly.
export {
  csvLogger,
  jsonlLogger,
  loadModel,
  modelCheckpoint,
  modelFromFiles,
  throwIfDiverged,
} from './train/run.js';

// ---- data-parallel training over MPI (src/distributed): mpirun -np N mnist-lab train ----
export type { DataParallel, StepSynchronization } from './train/data-parallel.js';
export { CollectiveDataParallel, WeightsDifferError, shareOf } from './distributed/data-parallel.js';
export type { Collectives, DataParallelOptions, DataParallelTiming } from './distributed/data-parallel.js';
export { ProcessGroupError, fromRankZero, joinProcessGroup, launchedAs } from './distributed/launch.js';
export type { LaunchedAs, ProcessGroup } from './distributed/launch.js';
export { followerRunStore, leaderRunStore } from './distributed/run-store.js';

// ---- run directories (src/runs: the one reader/writer of the layout) ----
export type {
  EvaluationRecord,
  FileAccess,
  LockRecord,
  RunConfig,
  RunEvent,
  RunNormalize,
  RunRecipe,
} from './runs/types.js';
export {
  CHECKPOINTS_DIR,
  CONFIG_FILE,
  EVALUATION_FILE,
  LATEST_FILE,
  LOCK_FILE,
  METRICS_FILE,
  MODEL_FILE,
  REPORT_FILE,
  REPORT_PNG_DIR,
  SERVE_LOG_FILE,
  runDirName,
} from './runs/layout.js';
export { RunDirectory, readCheckpoint, readModelSource, runConfigFor } from './runs/node/directory.js';
export type { ModelFiles } from './runs/node/directory.js';
export { RunFileError, nodeFiles, setWriteFaultHook, writeFileAtomic } from './runs/node/files.js';
export type { WriteStage } from './runs/node/files.js';
export { RunFolderError, claimFolder, inspectFolder } from './runs/node/folder.js';
export type { ClaimOptions, Claimed, FolderState } from './runs/node/folder.js';
export { RunLockedError, acquireRunLock, readRunLock, releaseHeldLocksSync } from './runs/node/lock.js';
export type { LockOptions, RunLock } from './runs/node/lock.js';
export { RunWriter, openRun } from './runs/node/writer.js';
export type { OpenRunOptions } from './runs/node/writer.js';

// ---- formats ----
export {
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  tensorValues,
} from './formats/safetensors.js';
export type { SafetensorsDType, SafetensorsFile, SafetensorsTensor } from './formats/safetensors.js';

// ---- evaluation and prediction ----
export {
  accuracyScore,
  classificationReport,
  confusionMatrix,
  logLoss,
  mostConfusedPairs,
  normalizeConfusion,
  topKAccuracy,
} from './eval/metrics.js';
export type {
  AverageMetrics,
  ClassificationReport,
  ClassMetrics,
  ConfusedPair,
  ConfusionMatrix,
  ConfusionNormalization,
  ReportOptions,
  ZeroDivisionWarning,
} from './eval/metrics.js';
export { ACCUMULATOR_DEFAULTS, EvaluationAccumulator } from './eval/accumulator.js';
export type {
  AccumulatorOptions,
  EvaluationSummary,
  Misclassified,
  OutputKind,
  ReliabilityBin,
} from './eval/accumulator.js';
export { EVALUATE_CLASSIFIER_DEFAULTS, evaluateClassifier } from './eval/evaluate.js';
export type { ClassifierEvaluation, EvaluateClassifierOptions, LabelledImages } from './eval/evaluate.js';
export { formatClassificationReport, formatConfusionMatrix, formatMostConfused } from './eval/format.js';
export {
  TRAINING_GRID_DEFAULTS,
  trainingGrid,
  trainingGridHtml,
  trainingGridTable,
} from './eval/training-grid.js';
export type {
  CurveSample,
  TrainingGridOptions,
  TrainingGridResult,
  TrainingGridRun,
} from './eval/training-grid.js';

// ---- self-supervised pretraining ----
export {
  MAE_DEFAULTS,
  MaskedAutoencoder,
  PRETRAIN_DEFAULTS,
  classifierFromEncoder,
  isPretrainingModel,
  maskedAutoencoder,
  maskedCount,
  pretrain,
  pretrainOptimizer,
  pretrainedEncoder,
  randomPatchMask,
} from './pretrain/index.js';
export type { MaskedAutoencoderArgs, MaskedForward, PatchMask, PretrainOptions } from './pretrain/index.js';
export { reconstructionGrid, reconstructionSection } from './pretrain/node/report.js';
export type { ReconstructionOptions } from './pretrain/node/report.js';

// ---- fine-tuning ----
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_FORMAT,
  ADAPTER_WEIGHTS_FILE,
  BUILT_IN_TASKS,
  COMPARE_DEFAULTS,
  COMPARE_METHODS,
  PRETRAINED_COMPARE_METHODS,
  DIGITS_SOURCE_CLASSES,
  DIGITS_TARGET_CLASSES,
  DIGITS_TRANSFER_DEFAULTS,
  FEW_SHOT_SWEEP,
  FINE_TUNE_DEFAULTS,
  FINE_TUNE_METHODS,
  FINE_TUNE_RUN_DEFAULTS,
  FINE_TUNE_SCHEDULES,
  LORA_DEFAULTS,
  LoraConv2D,
  LoraDense,
  TRANSFER_CNN,
  applyAdapter,
  applyLora,
  applyLrMultipliers,
  architecture as fineTuneArchitecture,
  baseHash,
  classifierIndex,
  compareCsv,
  compareMethods,
  compareShots,
  compareTable,
  encodeAdapter,
  fineTune,
  formatTable,
  freeze,
  freezeAllBut,
  freezeUntil,
  globToRegExp,
  headClasses,
  isLora,
  layerRows,
  layerTable,
  layersUntil,
  learningCurveSvg,
  fewShotReportHtml,
  loadAdapter,
  loadBase,
  loadTask,
  loraLayer,
  loraLayers,
  lrMultipliersFor,
  mergeAdapters,
  mergeLora,
  parameterCounts,
  parseLrGroups,
  prepareFineTune,
  pretrainBase,
  replaceHead,
  resolveBaseFile,
  runFineTune,
  saveAdapter,
  selectLayers,
  spreadLrGroups,
  transferCnn,
  trainableReport,
  unfreeze,
  unmergeAdapters,
} from './finetune/index.js';
export type {
  AdapterConfig,
  ApplyLoraOptions,
  Architecture as FineTuneArchitecture,
  BaseRecipe,
  BuiltInTask,
  CompareMethod,
  CompareOptions,
  CompareRow,
  FineTuneMethod,
  FineTuneOptions,
  FineTuneResult,
  FineTuneRunOptions,
  FineTuneRunResult,
  FineTuneSchedule,
  LayerRow,
  LoraOptions,
  LoraWrapper,
  LrGroup,
  NewHeadOptions,
  ParameterCounts,
  PretrainedBase,
  SaveAdapterOptions,
  TaskData,
  TaskDefaults,
  TaskOptions,
} from './finetune/index.js';
export type { CurvePoint } from './eval/charts.js';
export { renderReportCharts, renderReportHtml } from './eval/report.js';
export type { GalleryItem, ReportCharts, ReportData, ReportSection, TrainingCurves } from './eval/report.js';
export { evaluationRecord, readRunEvents, trainingCurves, writeRunReport } from './eval/node/run-report.js';
export type { RunReport, RunReportOptions } from './eval/node/run-report.js';

// ---- interop ----
export { TFJS_WEIGHTS_FILE, exportTfjs, importTfjs } from './io/tfjs.js';
export type { ShardReader, TfjsArtifacts, TfjsModelJson, TfjsWeightSpec } from './io/tfjs.js';
export { importTfjsRun, loadTfjsModel, saveTfjsModel } from './io/tfjs/node.js';
export type { ImportedRun } from './io/tfjs/node.js';
export { Functional } from './io/tfjs/functional.js';
export type { FunctionalArgs, FunctionalNode } from './io/tfjs/functional.js';
export { ONNX_INPUT_NAME, ONNX_OPSET, ONNX_OUTPUT_NAME, exportOnnx } from './io/onnx.js';
export {
  BOX_THRESHOLD,
  MNIST_BOX,
  MNIST_CENTER,
  MNIST_SIZE,
  NoDigitError,
  preprocessDigit,
  preprocessRgba,
  toGrayscale,
} from './predict/preprocess.js';
export type { PreprocessOptions, PreprocessResult } from './predict/preprocess.js';
export { predictDigits, toProbabilities } from './predict/predict.js';
export type { ClassProbability, PredictDigitsOptions, Prediction } from './predict/predict.js';
export { decodeImage } from './predict/node/decode.js';
export { readRunRecipe, recipeClassNames } from './predict/node/run-recipe.js';
