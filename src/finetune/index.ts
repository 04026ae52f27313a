// Fine-tuning: trainable flags, new heads, discriminative learning rates, LoRA adapters, and the
// transfer tasks, all driving the same Trainer (model.fit). The public names of src/finetune (the
// `finetune` namespace of the package).
export { freeze, freezeAllBut, freezeUntil, layersUntil, selectLayers, unfreeze } from './select.js';
export { classifierIndex, headClasses, replaceHead } from './head.js';
export type { NewHeadOptions } from './head.js';
export { applyLrMultipliers, lrMultipliersFor, parseLrGroups, spreadLrGroups } from './lr.js';
export type { LrGroup } from './lr.js';
export {
  LORA_DEFAULTS,
  LoraConv2D,
  LoraDense,
  applyLora,
  isLora,
  loraLayer,
  loraLayers,
  mergeAdapters,
  mergeLora,
  unmergeAdapters,
} from './lora.js';
export type { ApplyLoraOptions, LoraOptions, LoraWrapper } from './lora.js';
export { layerRows, layerTable, parameterCounts, trainableReport } from './report.js';
export type { LayerRow, ParameterCounts } from './report.js';
export {
  FINE_TUNE_DEFAULTS,
  FINE_TUNE_METHODS,
  FINE_TUNE_SCHEDULES,
  fineTune,
  prepareFineTune,
} from './recipe.js';
export type { FineTuneMethod, FineTuneOptions, FineTuneResult, FineTuneSchedule } from './recipe.js';
export { loadBase } from './base.js';
export type { BaseRecipe, PretrainedBase } from './base.js';
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_FORMAT,
  ADAPTER_WEIGHTS_FILE,
  applyAdapter,
  encodeAdapter,
  loadAdapter,
  saveAdapter,
} from './adapter.js';
export type { AdapterConfig, SaveAdapterOptions } from './adapter.js';
export {
  BUILT_IN_TASKS,
  DIGITS_SOURCE_CLASSES,
  DIGITS_TARGET_CLASSES,
  DIGITS_TRANSFER_DEFAULTS,
  loadTask,
} from './tasks.js';
export type { BuiltInTask, TaskData, TaskDefaults, TaskOptions } from './tasks.js';
export { FINE_TUNE_RUN_DEFAULTS, pretrainBase, runFineTune } from './session.js';
export type { FineTuneRunOptions, FineTuneRunResult } from './session.js';
export {
  COMPARE_DEFAULTS,
  COMPARE_METHODS,
  PRETRAINED_COMPARE_METHODS,
  FEW_SHOT_SWEEP,
  compareCsv,
  compareMethods,
  compareShots,
  compareTable,
} from './compare.js';
export type { CompareMethod, CompareOptions, CompareRow } from './compare.js';
export { fewShotReportHtml, learningCurveSvg } from './chart.js';
export { TRANSFER_CNN, architecture, transferCnn } from './architectures.js';
export type { Architecture } from './architectures.js';
