// Metrics against hand-computed fixtures, including the worked examples of scikit-learn's
// documentation (classification_report, confusion_matrix, precision_recall_fscore_support,
// log_loss, top_k_accuracy_score): the numbers are copied from the docs, not the code.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EvaluationAccumulator } from '../../src/eval/accumulator.js';
import { formatClassificationReport } from '../../src/eval/format.js';
import {
  accuracyScore,
  classificationReport,
  confusionMatrix,
  logLoss,
  mostConfusedPairs,
  normalizeConfusion,
  topKAccuracy,
} from '../../src/eval/metrics.js';

const close = (actual: number, expected: number, digits = 2): void =>
  assert.equal(actual.toFixed(digits), expected.toFixed(digits), `${actual} ~ ${expected}`);
/** The docs print doctest prefixes ("0.26..."): the value starts with these digits. */
const startsWith = (actual: number, prefix: string): void =>
  assert.ok(String(actual).startsWith(prefix), `${actual} starts with ${prefix}`);

describe('confusionMatrix (sklearn docs)', () => {
  test('y_true [2,0,2,2,0,1], y_pred [0,0,2,2,0,2]', () => {
    assert.deepEqual(confusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2], 3), [
      [2, 0, 0],
      [0, 0, 1],
      [1, 0, 2],
    ]);
  });

  test('binary ravel: tn, fp, fn, tp = 0, 2, 1, 1', () => {
    assert.deepEqual(confusionMatrix([0, 1, 0, 1], [1, 1, 1, 0], 2).flat(), [0, 2, 1, 1]);
  });

  test("normalize='all' on the user guide's binary example", () => {
    const m = confusionMatrix([0, 0, 0, 1, 1, 1, 1, 1], [0, 1, 0, 1, 0, 1, 0, 1], 2);
    assert.deepEqual(normalizeConfusion(m, 'all'), [
      [0.25, 0.125],
      [0.25, 0.375],
    ]);
  });

  test("normalize 'true' and 'pred' divide by row and column sums; empty ones stay 0", () => {
    const m = [
      [2, 0, 0],
      [0, 0, 1],
      [1, 0, 2],
    ];
    assert.deepEqual(normalizeConfusion(m, 'true'), [
      [1, 0, 0],
      [0, 0, 1],
      [1 / 3, 0, 2 / 3],
    ]);
    assert.deepEqual(normalizeConfusion(m, 'pred'), [
      [2 / 3, 0, 0],
      [0, 0, 1 / 3],
      [1 / 3, 0, 2 / 3],
    ]);
  });

  test('rejects a label outside [0, K) naming the index', () => {
    assert.throws(() => confusionMatrix([0, 3], [0, 1], 3), /class indices in \[0, 3\).*index 1/);
  });
});

describe('classificationReport (sklearn docs)', () => {
  test('three classes: the documented table, digit for digit', () => {
    const m = confusionMatrix([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], 3);
    const report = classificationReport(m, { classNames: ['class 0', 'class 1', 'class 2'] });
    const expected = [
      '              precision    recall  f1-score   support',
      '',
      '     class 0       0.50      1.00      0.67         1',
      '     class 1       0.00      0.00      0.00         1',
      '     class 2       1.00      0.67      0.80         3',
      '',
      '    accuracy                           0.60         5',
      '   macro avg       0.50      0.56      0.49         5',
      'weighted avg       0.70      0.60      0.61         5',
      '',
    ].join('\n');
    assert.equal(formatClassificationReport(report), expected);
    assert.deepEqual(report.warnings, []);
  });

  test('labels [1, 2, 3] with classes never seen: micro avg row, zeros and warnings, no NaN', () => {
    // y_pred [1, 1, 0], y_true [1, 1, 1], labels=[1, 2, 3]
    const m = confusionMatrix([1, 1, 1], [1, 1, 0], 4);
    const report = classificationReport(m, { labels: [1, 2, 3] });
    const expected = [
      '              precision    recall  f1-score   support',
      '',
      '           1       1.00      0.67      0.80         3',
      '           2       0.00      0.00      0.00         0',
      '           3       0.00      0.00      0.00         0',
      '',
      '   micro avg       1.00      0.67      0.80         3',
      '   macro avg       0.33      0.22      0.27         3',
      'weighted avg       1.00      0.67      0.80         3',
      '',
    ].join('\n');
    assert.equal(formatClassificationReport(report), expected);
    const flagged = report.warnings.map((w) => `${w.label}:${w.metric}`);
    assert.deepEqual(flagged, ['2:precision', '2:recall', '2:f1', '3:precision', '3:recall', '3:f1']);
    for (const c of report.perClass)
      for (const v of [c.precision, c.recall, c.f1]) assert.ok(Number.isFinite(v));
  });

  test('precision_recall_fscore_support: cat/dog/pig macro, micro, weighted', () => {
    // cat 0, dog 1, pig 2: y_true [cat dog pig cat dog pig], y_pred [cat pig dog cat cat dog]
    const report = classificationReport(confusionMatrix([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1], 3));
    startsWith(report.macro.precision, '0.22');
    startsWith(report.macro.recall, '0.33');
    startsWith(report.macro.f1, '0.26');
    startsWith(report.micro.precision, '0.33');
    startsWith(report.micro.recall, '0.33');
    startsWith(report.micro.f1, '0.33');
    startsWith(report.weighted.precision, '0.22');
    startsWith(report.weighted.recall, '0.33');
    startsWith(report.weighted.f1, '0.26');
  });

  test('hand-computed: a class never predicted has precision 0 with a warning, F1 still defined', () => {
    // true [0,0,1,1], pred [0,0,0,0]: class 1 has tp 0, fp 0, fn 2
    const report = classificationReport(confusionMatrix([0, 0, 1, 1], [0, 0, 0, 0], 2));
    assert.deepEqual(
      report.perClass.map((c) => [c.precision, c.recall, c.f1, c.support]),
      [
        [0.5, 1, 2 / 3, 2],
        [0, 0, 0, 2],
      ],
    );
    assert.deepEqual(
      report.warnings.map((w) => [w.label, w.metric]),
      [[1, 'precision']],
    );
    assert.equal(report.accuracy, 0.5);
  });
});

describe('scores', () => {
  test('log_loss docs example: 0.21616', () => {
    // ["spam", "ham", "ham", "spam"] with classes ham 0, spam 1
    const p = [0.1, 0.9, 0.9, 0.1, 0.8, 0.2, 0.35, 0.65];
    close(logLoss([1, 0, 0, 1], p), 0.21616, 5);
  });

  test('top_k_accuracy_score docs example: k=2 gives 0.75', () => {
    const scores = [0.5, 0.2, 0.2, 0.3, 0.4, 0.2, 0.2, 0.4, 0.3, 0.7, 0.2, 0.1];
    assert.equal(topKAccuracy([0, 1, 2, 2], scores, 2), 0.75);
  });

  test('accuracy_score docs example: 0.5', () => {
    assert.equal(accuracyScore([0, 1, 2, 3], [0, 2, 1, 3]), 0.5);
  });

  test('mostConfusedPairs: largest off-diagonal counts first, with rates of the true class', () => {
    const pairs = mostConfusedPairs(
      [
        [5, 3, 0],
        [1, 4, 0],
        [0, 3, 2],
      ],
      { classNames: ['a', 'b', 'c'], count: 2 },
    );
    assert.deepEqual(
      pairs.map((p) => [p.name, p.predictedName, p.count, p.rate]),
      [
        ['a', 'b', 3, 3 / 8],
        ['c', 'b', 3, 3 / 5],
      ],
    );
  });
});

describe('EvaluationAccumulator', () => {
  // 200 examples, K = 4, deterministic pseudo-random logits that are right about 60% of the time.
  const k = 4;
  const n = 200;
  const labels = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) % k);
  const logits = new Float32Array(n * k);
  let seed = 12345;
  const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 4 - 2;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) logits[i * k + j] = next();
    if (i % 5 < 3) logits[i * k + (labels[i] as number)] += 3;
  }
  const softmax = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = Array.from(logits.subarray(i * k, i * k + k));
    const max = Math.max(...row);
    const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
    row.forEach((v, j) => (softmax[i * k + j] = Math.exp(v - max) / sum));
  }
  const argmax = Array.from({ length: n }, (_, i) => {
    const row = Array.from(softmax.subarray(i * k, i * k + k));
    return row.indexOf(Math.max(...row));
  });

  test('streaming in uneven batches equals one pass, and both equal the one-shot helpers', () => {
    const oneShot = new EvaluationAccumulator({ classCount: k });
    oneShot.update(logits, labels);
    const streamed = new EvaluationAccumulator({ classCount: k });
    for (const [start, end] of [
      [0, 1],
      [1, 64],
      [64, 65],
      [65, 200],
    ] as const) {
      streamed.update(logits.subarray(start * k, end * k), labels.subarray(start, end));
    }
    const a = oneShot.summary();
    const b = streamed.summary();
    assert.deepEqual(b.confusionMatrix, a.confusionMatrix);
    assert.deepEqual(b.perClass, a.perClass);
    assert.deepEqual(b.reliability, a.reliability);
    assert.deepEqual(b.worst, a.worst);
    close(b.loss, a.loss, 10);
    assert.deepEqual(a.confusionMatrix, confusionMatrix(labels, argmax, k));
    close(a.accuracy, accuracyScore(labels, argmax), 12);
    close(a.loss, logLoss(labels, softmax), 6);
    close(a.top2Accuracy, topKAccuracy(labels, softmax, 2), 12);
    assert.equal(a.topKAccuracy[k - 1], 1);
  });

  test('probabilities are detected and give the same metrics as the logits', () => {
    const fromLogits = new EvaluationAccumulator({ classCount: k });
    fromLogits.update(logits, labels);
    const fromProbabilities = new EvaluationAccumulator({ classCount: k });
    fromProbabilities.update(softmax, labels);
    const a = fromLogits.summary();
    const b = fromProbabilities.summary();
    assert.deepEqual(b.confusionMatrix, a.confusionMatrix);
    close(b.loss, a.loss, 6);
    close(b.ece, a.ece, 6);
  });

  test('ECE by hand: two bins', () => {
    // Probabilities (K = 2); bins of width 0.5: (0, 0.5] and (0.5, 1].
    const acc = new EvaluationAccumulator({ classCount: 2, calibrationBins: 2, outputs: 'probabilities' });
    // confidences 0.9 (right), 0.8 (wrong), 0.6 (right), 0.5 (right: ties pick class 0)
    acc.update([0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.5, 0.5], [0, 0, 0, 0]);
    const s = acc.summary();
    assert.deepEqual(
      s.reliability.map((b) => b.count),
      [1, 3],
    );
    // bin 1: conf (0.9 + 0.8 + 0.6) / 3, acc 2/3; bin 0: conf 0.5, acc 1
    const expected = (3 / 4) * Math.abs(2 / 3 - 2.3 / 3) + (1 / 4) * Math.abs(1 - 0.5);
    close(s.ece, expected, 12);
    assert.deepEqual(
      s.worst.map((w) => [w.index, w.predicted, w.confidence]),
      [[1, 1, 0.8]],
    );
  });

  test('keeps only the most confident mistakes, most confident first', () => {
    const acc = new EvaluationAccumulator({ classCount: 2, keepWorst: 2, outputs: 'probabilities' });
    acc.update([0.3, 0.7, 0.1, 0.9, 0.2, 0.8, 0.4, 0.6], [0, 0, 0, 0]);
    assert.deepEqual(
      acc.summary().worst.map((w) => w.index),
      [1, 2],
    );
  });

  test('an empty class gives zeros with warnings, never NaN', () => {
    const acc = new EvaluationAccumulator({ classCount: 3, outputs: 'probabilities' });
    acc.update([0.9, 0.05, 0.05, 0.1, 0.8, 0.1], [0, 1]);
    const s = acc.summary();
    assert.deepEqual(s.perClass[2], { label: 2, name: '2', precision: 0, recall: 0, f1: 0, support: 0 });
    assert.ok(s.warnings.some((w) => w.label === 2 && w.metric === 'recall'));
    assert.ok(!JSON.stringify(s).includes('null'));
  });
});
