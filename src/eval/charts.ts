// The data of a training-curve chart, shared by the report's SVG charts (svg-charts.ts) and the
// run-report reader (node/run-report.ts).

/** One point of a training curve. `series` names the line ('train (batch)', 'validation', ...). */
export interface CurvePoint {
  step: number;
  value: number;
  series: string;
}
