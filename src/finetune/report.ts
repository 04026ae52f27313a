// Parameter reports: the one-line trainable count ('trainable 5,130 of 39,956 (12.8%)') and a layer
// table of a base model (names, classes, weight shapes, parameter counts, trainable flags). Pure.
import type { Layer } from '../nn/layer.js';
import type { Model } from '../train/model.js';

export interface ParameterCounts {
  trainable: number;
  total: number;
}

export function parameterCounts(model: Layer): ParameterCounts {
  const total = model.countParams();
  const trainable = model.trainableWeights.reduce((n, w) => n + w.value.size, 0);
  return { trainable, total };
}

function grouped(n: number): string {
  return n.toLocaleString('en-US');
}

/** 'trainable 5,130 of 39,956 (12.8%)'. */
export function trainableReport(model: Layer): string {
  const { trainable, total } = parameterCounts(model);
  const percent = total === 0 ? 0 : (100 * trainable) / total;
  return `trainable ${grouped(trainable)} of ${grouped(total)} (${percent.toFixed(1)}%)`;
}

export interface LayerRow {
  index: number;
  name: string;
  className: string;
  /** '[3, 3, 1, 32] + [32]': the shapes of the layer's weights. */
  shapes: string;
  params: number;
  trainable: boolean;
}

export function layerRows(model: Model): LayerRow[] {
  return model.layers.map((layer, index) => ({
    index,
    name: layer.name,
    className: layer.className,
    shapes: layer.weights.map((w) => `[${w.value.shape.join(', ')}]`).join(' + ') || '-',
    params: layer.countParams(),
    trainable: layer.trainable && layer.trainableWeights.length > 0,
  }));
}

/** A fixed-width table of layerRows(), then trainableReport(). */
export function layerTable(model: Model): string {
  const header = ['#', 'layer', 'class', 'weights', 'params', 'trainable'];
  const rows = layerRows(model).map((r) => [
    String(r.index),
    r.name,
    r.className,
    r.shapes,
    grouped(r.params),
    r.params === 0 ? '-' : r.trainable ? 'yes' : 'no',
  ]);
  return [...formatTable(header, rows), trainableReport(model)].join('\n');
}

/** Left-aligned columns padded to their widest cell, two spaces apart. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
