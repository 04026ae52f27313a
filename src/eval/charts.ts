// The report's charts as Vega-Lite specifications, rendered to SVG strings by Vega's headless
// renderer (no canvas, no DOM), so the same code runs in Node and in a browser.
//
// Letters: K classes, S optimizer steps, E epochs, M calibration bins.
import type { TopLevelSpec } from 'vega-lite';
import type { ReliabilityBin } from './accumulator.js';
import type { ConfusionMatrix } from './metrics.js';
import { normalizeConfusion } from './metrics.js';

/** One point of a training curve. `series` names the line ('train (batch)', 'validation', ...). */
export interface CurvePoint {
  step: number;
  value: number;
  series: string;
}

const CHART_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom' },
  title: { fontSize: 14, anchor: 'start' },
} as const;

/** Renders a Vega-Lite spec to a standalone SVG document string. */
export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  // NOTE: loaded on first use: Vega is large and only reports need it (CLI start-up stays fast).
  const [{ parse, View }, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const vegaSpec = compile({ ...spec, config: { ...CHART_CONFIG, ...spec.config } }).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A line chart of training curves over optimizer steps; lines with one point also get dots. */
export function curveSpec(options: {
  title: string;
  yTitle: string;
  points: readonly CurvePoint[];
  logScale?: boolean;
  /** Series drawn faint (noisy per-batch values behind the epoch means). */
  faint?: readonly string[];
}): TopLevelSpec {
  const faint = options.faint ?? [];
  const series = [...new Set(options.points.map((p) => p.series))];
  const colours = ['#9ecae1', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    width: 380,
    height: 200,
    data: { values: options.points.map((p) => ({ ...p })) },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
      y: {
        field: 'value',
        type: 'quantitative',
        title: options.yTitle,
        scale: options.logScale ? { type: 'log' } : { zero: false },
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: series, range: colours.slice(0, series.length) },
      },
    },
    layer: [
      {
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          opacity: {
            condition: { test: { field: 'series', oneOf: [...faint] }, value: 0.6 },
            value: 1,
          },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 30 },
        transform: [{ filter: { not: { field: 'series', oneOf: [...faint] } } }],
      },
    ],
  };
}

/**
 * The confusion matrix as a K x K heatmap: colour is the fraction of the true class (row-normalised,
 * so rare classes read the same as common ones), the text is the count.
 */
export function confusionSpec(matrix: ConfusionMatrix, classNames: readonly string[]): TopLevelSpec {
  const rates = normalizeConfusion(matrix, 'true');
  const cells = matrix.flatMap((row, t) =>
    row.map((count, p) => ({
      true: classNames[t],
      predicted: classNames[p],
      count,
      rate: (rates[t] as number[])[p] as number,
      light: ((rates[t] as number[])[p] as number) > 0.5, // dark cell: white text
    })),
  );
  const size = Math.max(240, Math.min(560, classNames.length * 44));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Confusion matrix (colour: fraction of the true class; text: count)',
    width: size,
    height: size,
    data: { values: cells },
    encoding: {
      x: {
        field: 'predicted',
        type: 'nominal',
        sort: [...classNames],
        title: 'predicted',
        axis: { labelAngle: 0 },
      },
      y: { field: 'true', type: 'nominal', sort: [...classNames], title: 'true' },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: '#fff', strokeWidth: 1 },
        encoding: {
          // NOTE: a sqrt colour scale keeps 1% off-diagonal cells visible next to a 99% diagonal.
          color: {
            field: 'rate',
            type: 'quantitative',
            title: 'fraction',
            scale: { type: 'sqrt', domain: [0, 1], scheme: 'blues' },
          },
          tooltip: [
            { field: 'true', type: 'nominal' },
            { field: 'predicted', type: 'nominal' },
            { field: 'count', type: 'quantitative' },
            { field: 'rate', type: 'quantitative', format: '.2%' },
          ],
        },
      },
      {
        mark: { type: 'text', fontSize: classNames.length > 12 ? 8 : 11 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.light', value: '#fff' }, value: '#222' },
        },
      },
    ],
  };
}

/** Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration. */
export function reliabilitySpec(bins: readonly ReliabilityBin[], ece: number): TopLevelSpec {
  const values = bins.filter((b) => b.count > 0).map((b) => ({ ...b, middle: (b.lower + b.upper) / 2 }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Reliability (expected calibration error ${(ece * 100).toFixed(2)}%)`,
    width: 300,
    height: 220,
    layer: [
      {
        data: { values },
        mark: { type: 'rect', color: '#1f77b4', opacity: 0.8, stroke: '#fff' },
        encoding: {
          x: { field: 'lower', type: 'quantitative', scale: { domain: [0, 1] }, title: 'confidence' },
          x2: { field: 'upper' },
          y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'accuracy' },
          y2: { datum: 0 },
          tooltip: [
            { field: 'count', type: 'quantitative' },
            { field: 'confidence', type: 'quantitative', format: '.3f' },
            { field: 'accuracy', type: 'quantitative', format: '.3f' },
          ],
        },
      },
      {
        data: {
          values: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
        mark: { type: 'line', color: '#d62728', strokeDash: [4, 3] },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
    ],
  };
}
