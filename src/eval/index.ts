// Evaluation: the public names of src/eval (the `evaluation` namespace of the package): metrics in
// scikit-learn's terms, the streaming accumulator, evaluateClassifier, text tables, the HTML report
// and the training grid (`mnist-lab compare`).
export {
  accuracyScore,
  classificationReport,
  confusionMatrix,
  logLoss,
  mostConfusedPairs,
  normalizeConfusion,
  topKAccuracy,
} from './metrics.js';
export type {
  AverageMetrics,
  ClassificationReport,
  ClassMetrics,
  ConfusedPair,
  ConfusionMatrix,
  ConfusionNormalization,
  ReportOptions,
} from './metrics.js';
export { ACCUMULATOR_DEFAULTS, EvaluationAccumulator } from './accumulator.js';
export type { AccumulatorOptions, EvaluationSummary, Misclassified } from './accumulator.js';
export { EVALUATE_CLASSIFIER_DEFAULTS, evaluateClassifier } from './evaluate.js';
export type { ClassifierEvaluation, EvaluateClassifierOptions, LabelledImages } from './evaluate.js';
export { formatClassificationReport, formatConfusionMatrix, formatMostConfused } from './format.js';
export {
  TRAINING_GRID_DEFAULTS,
  trainingGrid,
  trainingGridHtml,
  trainingGridTable,
} from './training-grid.js';
export type { TrainingGridOptions, TrainingGridResult, TrainingGridRun } from './training-grid.js';
export { renderReportHtml } from './report.js';
export type { ReportData } from './report.js';
export { writeRunReport } from './node/run-report.js';
export type { RunReport, RunReportOptions } from './node/run-report.js';
