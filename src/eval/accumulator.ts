// Streaming evaluation: model outputs arrive batch by batch and only counts are kept (a confusion
// matrix, a histogram of the true class's rank, calibration bins, the summed loss and a short list
// of the most confident mistakes), so a 10,000-image test set never needs all its probabilities in
// memory at once. Pure and browser-safe.
//
// Letters: B batch, K classes, M calibration bins.
import {
  classificationReport,
  mostConfusedPairs,
  trueClassRank,
  type ClassificationReport,
  type ConfusedPair,
  type ConfusionMatrix,
} from './metrics.js';

/** What the model's outputs are: raw scores (softmax applied here), probabilities, or detected. */
export type OutputKind = 'logits' | 'probabilities' | 'auto';

export interface AccumulatorOptions {
  /** K: the model's outputs per example. */
  classCount: number;
  /** (K) class names; default the indices as strings. */
  classNames?: readonly string[];
  /** Default 'auto': probabilities when the first batch's rows are non-negative and sum to 1. */
  outputs?: OutputKind;
  /** M: equal-width confidence bins for the expected calibration error. Default 15 (Guo et al. 2017). */
  calibrationBins?: number;
  /** Most confident mistakes kept for the report's gallery. Default 24. */
  keepWorst?: number;
  /** Pairs listed by mostConfused. Default 10. */
  mostConfusedCount?: number;
}

export const ACCUMULATOR_DEFAULTS = { calibrationBins: 15, keepWorst: 24, mostConfusedCount: 10 } as const;

/** One bin of the reliability table: examples whose top probability falls in (lower, upper]. */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean top probability in the bin (0 when empty). */
  confidence: number;
  /** Fraction of the bin's examples predicted correctly (0 when empty). */
  accuracy: number;
}

/** A misclassified example; `index` counts examples across all batches, from 0. */
export interface Misclassified {
  index: number;
  label: number;
  predicted: number;
  /** Probability of the predicted class. */
  confidence: number;
  /** Probability the model gave the true class. */
  trueProbability: number;
}

export interface EvaluationSummary extends ClassificationReport {
  count: number;
  /** Mean cross-entropy of the true class (natural log). */
  loss: number;
  top2Accuracy: number;
  /** topKAccuracy[k - 1]: fraction with the true class among the k highest scores, k = 1..K. */
  topKAccuracy: number[];
  confusionMatrix: ConfusionMatrix;
  mostConfused: ConfusedPair[];
  /** Expected calibration error: sum over bins of (bin count / N) * |accuracy - confidence|. */
  ece: number;
  reliability: ReliabilityBin[];
  /** The most confident mistakes, most confident first. */
  worst: Misclassified[];
}

const PROBABILITY_TOLERANCE = 1e-3;

function looksLikeProbabilities(outputs: ArrayLike<number>, rows: number, k: number): boolean {
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const v = outputs[i * k + j] as number;
      if (!(v >= 0 && v <= 1)) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > PROBABILITY_TOLERANCE) return false;
  }
  return true;
}

export class EvaluationAccumulator {
  readonly classCount: number;
  private readonly classNames: readonly string[];
  private outputs: OutputKind;
  private readonly options: Required<Omit<AccumulatorOptions, 'classNames' | 'outputs'>>;
  private readonly confusion: number[][]; // (K, K) counts, [true][predicted]
  private readonly rankCounts: number[]; // (K) examples whose true class ranked r-th
  private readonly binCount: number[]; // (M)
  private readonly binConfidence: number[]; // (M) summed top probability
  private readonly binCorrect: number[]; // (M)
  private readonly worst: Misclassified[] = []; // sorted by confidence, descending
  private lossSum = 0;
  private seen = 0;
  private readonly probabilities: Float64Array; // (K) scratch for one row

  constructor(options: AccumulatorOptions) {
    const k = options.classCount;
    if (!(Number.isInteger(k) && k >= 2)) {
      throw new Error(`EvaluationAccumulator: expected classCount >= 2 (a classifier's outputs), found ${k}`);
    }
    if (options.classNames && options.classNames.length !== k) {
      throw new Error(
        `EvaluationAccumulator: expected ${k} class names (one per model output), found ${options.classNames.length}`,
      );
    }
    this.classCount = k;
    this.classNames = options.classNames ?? Array.from({ length: k }, (_, i) => String(i));
    this.outputs = options.outputs ?? 'auto';
    this.options = {
      classCount: k,
      calibrationBins: options.calibrationBins ?? ACCUMULATOR_DEFAULTS.calibrationBins,
      keepWorst: options.keepWorst ?? ACCUMULATOR_DEFAULTS.keepWorst,
      mostConfusedCount: options.mostConfusedCount ?? ACCUMULATOR_DEFAULTS.mostConfusedCount,
    };
    const bins = this.options.calibrationBins;
    this.confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    this.rankCounts = new Array<number>(k).fill(0);
    this.binCount = new Array<number>(bins).fill(0);
    this.binConfidence = new Array<number>(bins).fill(0);
    this.binCorrect = new Array<number>(bins).fill(0);
    this.probabilities = new Float64Array(k);
  }

  /** Examples seen so far. */
  get count(): number {
    return this.seen;
  }

  /** Adds one batch: outputs (B, K) row-major, labels (B) class indices. */
  update(outputs: ArrayLike<number>, labels: ArrayLike<number>): void {
    const k = this.classCount;
    const rows = labels.length;
    if (outputs.length !== rows * k) {
      throw new Error(
        `EvaluationAccumulator.update: expected ${rows} x ${k} outputs for ${rows} labels, found ${outputs.length} values`,
      );
    }
    if (this.outputs === 'auto') {
      if (rows === 0) return;
      this.outputs = looksLikeProbabilities(outputs, rows, k) ? 'probabilities' : 'logits';
    }
    const p = this.probabilities;
    for (let i = 0; i < rows; i++) {
      const label = labels[i] as number;
      if (!(Number.isInteger(label) && label >= 0 && label < k)) {
        throw new Error(
          `EvaluationAccumulator.update: expected labels in [0, ${k}), found ${label} at batch row ${i}`,
        );
      }
      const offset = i * k;
      let loss: number;
      if (this.outputs === 'logits') {
        // NOTE: log-sum-exp with the row max subtracted: exact loss even for large logits.
        let max = -Infinity;
        for (let j = 0; j < k; j++) max = Math.max(max, outputs[offset + j] as number);
        let sum = 0;
        for (let j = 0; j < k; j++) sum += p[j] = Math.exp((outputs[offset + j] as number) - max);
        for (let j = 0; j < k; j++) p[j] = (p[j] as number) / sum;
        loss = Math.log(sum) + max - (outputs[offset + label] as number);
      } else {
        for (let j = 0; j < k; j++) p[j] = outputs[offset + j] as number;
        loss = -Math.log(Math.min(1, Math.max(1e-15, p[label] as number)));
      }
      let predicted = 0;
      for (let j = 1; j < k; j++) if ((p[j] as number) > (p[predicted] as number)) predicted = j;
      const confidence = p[predicted] as number;
      const row = this.confusion[label] as number[];
      row[predicted] = (row[predicted] as number) + 1;
      const rank = trueClassRank(p, 0, k, label);
      this.rankCounts[rank] = (this.rankCounts[rank] as number) + 1;
      const bins = this.options.calibrationBins;
      const bin = Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1));
      this.binCount[bin] = (this.binCount[bin] as number) + 1;
      this.binConfidence[bin] = (this.binConfidence[bin] as number) + confidence;
      if (predicted === label) this.binCorrect[bin] = (this.binCorrect[bin] as number) + 1;
      else
        this.keepMistake({
          index: this.seen,
          label,
          predicted,
          confidence,
          trueProbability: p[label] as number,
        });
      this.lossSum += loss;
      this.seen++;
    }
  }

  private keepMistake(mistake: Misclassified): void {
    const worst = this.worst;
    if (worst.length === this.options.keepWorst) {
      const last = worst[worst.length - 1];
      if (!last || mistake.confidence <= last.confidence) return;
      worst.pop();
    }
    let at = worst.length;
    while (at > 0 && (worst[at - 1] as Misclassified).confidence < mistake.confidence) at--;
    worst.splice(at, 0, mistake);
  }

  /** Every metric over the examples seen so far. */
  summary(): EvaluationSummary {
    const n = this.seen;
    const k = this.classCount;
    const report = classificationReport(this.confusion, { classNames: this.classNames });
    const topKAccuracy: number[] = [];
    let cumulative = 0;
    for (let r = 0; r < k; r++) {
      cumulative += this.rankCounts[r] as number;
      topKAccuracy.push(n === 0 ? 0 : cumulative / n);
    }
    const bins = this.options.calibrationBins;
    let ece = 0;
    const reliability = this.binCount.map((count, b): ReliabilityBin => {
      const confidence = count === 0 ? 0 : (this.binConfidence[b] as number) / count;
      const accuracy = count === 0 ? 0 : (this.binCorrect[b] as number) / count;
      if (n > 0) ece += (count / n) * Math.abs(accuracy - confidence);
      return { lower: b / bins, upper: (b + 1) / bins, count, confidence, accuracy };
    });
    return {
      ...report,
      count: n,
      loss: n === 0 ? 0 : this.lossSum / n,
      top2Accuracy: topKAccuracy[1] as number,
      topKAccuracy,
      confusionMatrix: this.confusion.map((row) => row.slice()),
      mostConfused: mostConfusedPairs(this.confusion, {
        count: this.options.mostConfusedCount,
        classNames: this.classNames,
      }),
      ece,
      reliability,
      worst: this.worst.slice(),
    };
  }
}
