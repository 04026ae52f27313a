// Plain-text renderings for a terminal: scikit-learn's classification_report layout, a confusion
// matrix with class names, the most-confused pairs. Pure.
import type { ClassificationReport, ConfusedPair, ConfusionMatrix } from './metrics.js';

const COLUMN = 9; // width of "precision", sklearn's column width

/** The report as sklearn prints it (same columns, rows, rounding and blank lines). */
export function formatClassificationReport(report: ClassificationReport, digits = 2): string {
  const averages = [report.allLabels ? 'accuracy' : 'micro avg', 'macro avg', 'weighted avg'];
  const width = Math.max(
    ...report.perClass.map((c) => c.name.length),
    ...averages.map((a) => a.length),
    digits,
  );
  const cell = (value: number): string => value.toFixed(digits).padStart(COLUMN);
  const row = (name: string, p: number, r: number, f: number, support: number): string =>
    `${name.padStart(width)}  ${cell(p)} ${cell(r)} ${cell(f)} ${String(support).padStart(COLUMN)}`;
  const lines = [
    `${''.padStart(width)}  ${['precision', 'recall', 'f1-score', 'support'].map((h) => h.padStart(COLUMN)).join(' ')}`,
    '',
    ...report.perClass.map((c) => row(c.name, c.precision, c.recall, c.f1, c.support)),
    '',
  ];
  const { micro, macro, weighted } = report;
  if (report.allLabels) {
    lines.push(
      `${'accuracy'.padStart(width)}  ${''.padStart(COLUMN)} ${''.padStart(COLUMN)} ${cell(report.accuracy)} ${String(micro.support).padStart(COLUMN)}`,
    );
  } else {
    lines.push(row('micro avg', micro.precision, micro.recall, micro.f1, micro.support));
  }
  lines.push(row('macro avg', macro.precision, macro.recall, macro.f1, macro.support));
  lines.push(row('weighted avg', weighted.precision, weighted.recall, weighted.f1, weighted.support));
  return lines.join('\n') + '\n';
}

/** Counts with true classes down the side and predicted classes across the top. */
export function formatConfusionMatrix(matrix: ConfusionMatrix, classNames: readonly string[]): string {
  const width = Math.max(
    ...matrix.flat().map((v) => String(v).length),
    ...classNames.map((n) => n.length),
    4,
  );
  const side = Math.max(...classNames.map((n) => n.length), 'true \\ predicted'.length);
  const header = `${'true \\ predicted'.padEnd(side)} ${classNames.map((n) => n.slice(0, width).padStart(width)).join(' ')}`;
  const rows = matrix.map(
    (row, i) =>
      `${(classNames[i] ?? String(i)).padEnd(side)} ${row.map((v) => String(v).padStart(width)).join(' ')}`,
  );
  return [header, ...rows].join('\n') + '\n';
}

/** "4 -> 9: 12 (1.2% of 4)" lines. */
export function formatMostConfused(pairs: readonly ConfusedPair[]): string {
  if (pairs.length === 0) return 'no misclassified examples\n';
  return (
    pairs
      .map((p) => `${p.name} -> ${p.predictedName}: ${p.count} (${(p.rate * 100).toFixed(1)}% of ${p.name})`)
      .join('\n') + '\n'
  );
}
