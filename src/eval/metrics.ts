// Classification metrics from a confusion matrix, and one-shot helpers over label arrays. Pure and
// browser-safe. Definitions and zero-division behaviour follow scikit-learn (sklearn.metrics):
// an ill-defined ratio (0/0) is 0, and the report lists it in `warnings` instead of printing NaN.
//
// Letters: N examples, K classes. A confusion matrix is (K, K) counts, row = true class,
// column = predicted class (sklearn's orientation).

export type ConfusionMatrix = number[][]; // (K, K) counts, [true][predicted]

/** How to normalise a confusion matrix: over each true class (row), predicted class (column) or all. */
export type ConfusionNormalization = 'true' | 'pred' | 'all';

export interface ClassMetrics {
  label: number;
  name: string;
  precision: number;
  recall: number;
  f1: number;
  /** Examples whose true class is `label`. */
  support: number;
}

export interface AverageMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** A ratio that was 0/0 and is reported as 0 (sklearn's zero_division="warn"). */
export interface ZeroDivisionWarning {
  label: number;
  name: string;
  metric: 'precision' | 'recall' | 'f1';
  reason: string;
}

export interface ClassificationReport {
  perClass: ClassMetrics[];
  macro: AverageMetrics;
  weighted: AverageMetrics;
  /** Pooled counts over the reported labels; equals accuracy when they cover every class. */
  micro: AverageMetrics;
  accuracy: number;
  /** True when the reported labels are every class, so the micro average is the accuracy. */
  allLabels: boolean;
  warnings: ZeroDivisionWarning[];
}

export interface ReportOptions {
  /** (K) names for the classes; default the class indices as strings. */
  classNames?: readonly string[];
  /** The classes to report, in order (sklearn's `labels`); default all K. */
  labels?: readonly number[];
}

export interface ConfusedPair {
  /** True class. */
  label: number;
  name: string;
  /** Predicted class. */
  predicted: number;
  predictedName: string;
  count: number;
  /** count / support of the true class. */
  rate: number;
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

function checkSquare(matrix: ConfusionMatrix): number {
  const k = matrix.length;
  for (const [i, row] of matrix.entries()) {
    if (row.length !== k) {
      throw new Error(
        `confusion matrix: expected ${k} columns in every row (a square K x K matrix), found ${row.length} in row ${i}`,
      );
    }
  }
  return k;
}

/** (K, K) counts from true and predicted class indices, each in [0, K). */
export function confusionMatrix(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  classCount: number,
): ConfusionMatrix {
  if (yTrue.length !== yPred.length) {
    throw new Error(
      `confusionMatrix: expected as many predictions as labels, found ${yPred.length} predictions for ${yTrue.length} labels`,
    );
  }
  const matrix = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i] as number;
    const p = yPred[i] as number;
    if (!(t >= 0 && t < classCount && p >= 0 && p < classCount)) {
      throw new Error(
        `confusionMatrix: expected class indices in [0, ${classCount}), found true ${t}, predicted ${p} at index ${i}`,
      );
    }
    (matrix[t] as number[])[p] = (matrix[t] as number[])[p] + 1;
  }
  return matrix;
}

/** The confusion matrix as fractions of each row, column, or the whole; empty rows/columns stay 0. */
export function normalizeConfusion(matrix: ConfusionMatrix, over: ConfusionNormalization): number[][] {
  const k = checkSquare(matrix);
  const rowSums = matrix.map((row) => row.reduce((a, b) => a + b, 0));
  const colSums = Array.from({ length: k }, (_, j) => matrix.reduce((a, row) => a + (row[j] as number), 0));
  const total = rowSums.reduce((a, b) => a + b, 0);
  return matrix.map((row, i) =>
    row.map((count, j) =>
      ratio(
        count,
        over === 'true' ? (rowSums[i] as number) : over === 'pred' ? (colSums[j] as number) : total,
      ),
    ),
  );
}

/** Per-class precision, recall, F1 and support, with macro, weighted and micro averages. */
export function classificationReport(
  matrix: ConfusionMatrix,
  options: ReportOptions = {},
): ClassificationReport {
  const k = checkSquare(matrix);
  const names = options.classNames ?? Array.from({ length: k }, (_, i) => String(i));
  if (names.length < k) {
    throw new Error(`classificationReport: expected ${k} class names, found ${names.length}`);
  }
  const labels = options.labels ?? Array.from({ length: k }, (_, i) => i);
  const warnings: ZeroDivisionWarning[] = [];
  let tpSum = 0;
  let predSum = 0;
  let trueSum = 0;
  const perClass = labels.map((label): ClassMetrics => {
    if (!(Number.isInteger(label) && label >= 0 && label < k)) {
      throw new Error(`classificationReport: label ${label} is not a class index in [0, ${k})`);
    }
    const name = names[label] as string;
    const row = matrix[label] as number[];
    const tp = row[label] as number;
    const support = row.reduce((a, b) => a + b, 0); // tp + fn
    const predicted = matrix.reduce((a, r) => a + (r[label] as number), 0); // tp + fp
    tpSum += tp;
    predSum += predicted;
    trueSum += support;
    if (predicted === 0)
      warnings.push({ label, name, metric: 'precision', reason: 'no example was predicted as this class' });
    if (support === 0)
      warnings.push({ label, name, metric: 'recall', reason: 'no example has this true class' });
    // NOTE: F1 = 2tp / (2tp + fp + fn), as sklearn >= 1.3: defined whenever either count is non-zero.
    if (predicted + support === 0)
      warnings.push({ label, name, metric: 'f1', reason: 'the class is neither predicted nor present' });
    return {
      label,
      name,
      precision: ratio(tp, predicted),
      recall: ratio(tp, support),
      f1: ratio(2 * tp, predicted + support),
      support,
    };
  });
  const mean = (key: 'precision' | 'recall' | 'f1'): number =>
    ratio(
      perClass.reduce((a, c) => a + c[key], 0),
      perClass.length,
    );
  const weightedMean = (key: 'precision' | 'recall' | 'f1'): number =>
    ratio(
      perClass.reduce((a, c) => a + c[key] * c.support, 0),
      trueSum,
    );
  const total = matrix.reduce((a, row) => a + row.reduce((b, c) => b + c, 0), 0);
  const correct = matrix.reduce((a, row, i) => a + (row[i] as number), 0);
  return {
    perClass,
    macro: { precision: mean('precision'), recall: mean('recall'), f1: mean('f1'), support: trueSum },
    weighted: {
      precision: weightedMean('precision'),
      recall: weightedMean('recall'),
      f1: weightedMean('f1'),
      support: trueSum,
    },
    micro: {
      precision: ratio(tpSum, predSum),
      recall: ratio(tpSum, trueSum),
      f1: ratio(2 * tpSum, predSum + trueSum),
      support: trueSum,
    },
    accuracy: ratio(correct, total),
    allLabels: labels.length === k && new Set(labels).size === k,
    warnings,
  };
}

/** The largest off-diagonal cells, most frequent first (ties: lower true class, then predicted). */
export function mostConfusedPairs(
  matrix: ConfusionMatrix,
  options: { count?: number; classNames?: readonly string[] } = {},
): ConfusedPair[] {
  const k = checkSquare(matrix);
  const names = options.classNames ?? Array.from({ length: k }, (_, i) => String(i));
  const pairs: ConfusedPair[] = [];
  for (let t = 0; t < k; t++) {
    const row = matrix[t] as number[];
    const support = row.reduce((a, b) => a + b, 0);
    for (let p = 0; p < k; p++) {
      const count = row[p] as number;
      if (p === t || count === 0) continue;
      pairs.push({
        label: t,
        name: names[t] as string,
        predicted: p,
        predictedName: names[p] as string,
        count,
        rate: ratio(count, support),
      });
    }
  }
  pairs.sort((a, b) => b.count - a.count || a.label - b.label || a.predicted - b.predicted);
  return pairs.slice(0, options.count ?? 10);
}

// ---- one-shot helpers over (N) labels and (N, K) scores ----

/** Fraction of examples whose predicted class equals the true class. */
export function accuracyScore(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) correct++;
  return ratio(correct, yTrue.length);
}

/**
 * Rank of the true class among a row's scores: how many classes score strictly higher. Top-k is
 * correct when the rank is below k (ties count in the example's favour, like sklearn).
 */
export function trueClassRank(
  scores: ArrayLike<number>,
  offset: number,
  classCount: number,
  label: number,
): number {
  const own = scores[offset + label] as number;
  let rank = 0;
  for (let j = 0; j < classCount; j++) if ((scores[offset + j] as number) > own) rank++;
  return rank;
}

/** Fraction of examples whose true class is among the k highest scores. scores: (N, K) row-major. */
export function topKAccuracy(yTrue: ArrayLike<number>, scores: ArrayLike<number>, k: number): number {
  const classCount = scores.length / yTrue.length;
  let hits = 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (trueClassRank(scores, i * classCount, classCount, yTrue[i] as number) < k) hits++;
  }
  return ratio(hits, yTrue.length);
}

/** Smallest probability used in a log: keeps the loss finite for a confidently wrong model. */
export const LOG_LOSS_EPSILON = 1e-15;

/** Mean negative log-likelihood of the true class. probabilities: (N, K) row-major, rows sum to 1. */
export function logLoss(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  const classCount = probabilities.length / yTrue.length;
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = probabilities[i * classCount + (yTrue[i] as number)] as number;
    sum -= Math.log(Math.min(1, Math.max(LOG_LOSS_EPSILON, p)));
  }
  return ratio(sum, yTrue.length);
}
