// The report's charts drawn directly as SVG strings: line charts of training curves, the confusion
// heatmap and the reliability diagram. Pure string building (no DOM, no dependencies), so a report
// costs milliseconds; charts.ts keeps the same charts as Vega-Lite specifications for users who want
// to restyle them in Vega.
//
// Letters: K classes, M calibration bins, P points of a series.
import type { ReliabilityBin } from './accumulator.js';
import type { CurvePoint } from './charts.js';
import type { ConfusionMatrix } from './metrics.js';
import { normalizeConfusion } from './metrics.js';

const FONT = 'system-ui, -apple-system, &quot;Segoe UI&quot;, &quot;DejaVu Sans&quot;, sans-serif';
/** Faint series are light blue; the others take these in order. */
const FAINT_COLOUR = '#9ecae1';
const SERIES_COLOURS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
/** Height of one row of the legend. */
const LEGEND_ROW = 16;
/** Vega's 'blues' scheme, light to dark. */
const BLUES = [
  '#f7fbff',
  '#deebf7',
  '#c6dbef',
  '#9ecae1',
  '#6baed6',
  '#4292c6',
  '#2171b5',
  '#08519c',
  '#08306b',
];
/** Series with at most this many points also get a dot per point. */
const MAX_DOTTED_POINTS = 50;

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Text made safe for XML and HTML: element content and quoted attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fixed = (value: number): string => String(Math.round(value * 100) / 100);

function svgDocument(width: number, height: number, title: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="${FONT}" font-size="11"><rect width="${width}" height="${height}" fill="#fff"/>` +
    `<text class="title" x="8" y="18" font-size="14" font-weight="bold">${escapeXml(title)}</text>${body}</svg>`
  );
}

/** About `count` round tick values covering [min, max] (steps of 1, 2 or 5 times a power of ten). */
export function linearTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return ticks;
}

/** Powers of ten in [min, max], with 2x and 5x between them when the range spans few decades. */
export function logTicks(min: number, max: number): number[] {
  const low = Math.floor(Math.log10(min));
  const high = Math.ceil(Math.log10(max));
  const multiples = high - low <= 3 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = low; e <= high; e++) {
    for (const m of multiples) {
      const v = Number((m * 10 ** e).toPrecision(6));
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) ticks.push(v);
    }
  }
  return ticks;
}

function tickLabel(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(0);
  return String(Number(value.toPrecision(4)));
}

/** A y (vertical) or x (horizontal) axis with grid lines across `box`. */
function axis(
  kind: 'x' | 'y',
  ticks: readonly number[],
  position: (value: number) => number,
  box: Box,
  title: string,
): string {
  const parts: string[] = [];
  for (const t of ticks) {
    const p = fixed(position(t));
    parts.push(
      kind === 'y'
        ? `<line x1="${box.left}" x2="${box.left + box.width}" y1="${p}" y2="${p}" stroke="#eee"/>` +
            `<text x="${box.left - 5}" y="${p}" dy="0.32em" text-anchor="end" fill="#444">${tickLabel(t)}</text>`
        : `<line x1="${p}" x2="${p}" y1="${box.top}" y2="${box.top + box.height}" stroke="#eee"/>` +
            `<text x="${p}" y="${box.top + box.height + 14}" text-anchor="middle" fill="#444">${tickLabel(t)}</text>`,
    );
  }
  const label =
    kind === 'y'
      ? `<text x="${box.left - 42}" y="${box.top + box.height / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 ${box.left - 42} ${box.top + box.height / 2})">${escapeXml(title)}</text>`
      : `<text x="${box.left + box.width / 2}" y="${box.top + box.height + 30}" font-size="12" text-anchor="middle">${escapeXml(title)}</text>`;
  return `<g class="axis axis-${kind}">${parts.join('')}${label}</g>`;
}

/** Legend entries in rows of at most `width` pixels (an entry wider than that gets a row alone). */
function legend(
  entries: readonly { name: string; colour: string }[],
  x: number,
  y: number,
  width: number,
): { svg: string; rows: number } {
  let offset = 0;
  let row = 0;
  const items = entries.map(({ name, colour }) => {
    const itemWidth = 28 + name.length * 6.2;
    if (offset > 0 && offset + itemWidth > width) {
      offset = 0;
      row++;
    }
    const top = y + row * LEGEND_ROW;
    const item =
      `<line x1="${x + offset}" x2="${x + offset + 16}" y1="${top}" y2="${top}" stroke="${colour}" stroke-width="2"/>` +
      `<text x="${x + offset + 20}" y="${top}" dy="0.32em">${escapeXml(name)}</text>`;
    offset += itemWidth;
    return item;
  });
  return { svg: `<g class="legend">${items.join('')}</g>`, rows: row + 1 };
}

/**
 * Training curves over optimizer steps (or `xTitle`): one line per series; `faint` series drawn
 * lighter behind.
 */
export function lineChartSvg(options: {
  title: string;
  yTitle: string;
  /** Default 'optimizer step'. */
  xTitle?: string;
  points: readonly CurvePoint[];
  logScale?: boolean;
  faint?: readonly string[];
}): string {
  const faint = new Set(options.faint ?? []);
  const points = options.logScale ? options.points.filter((p) => p.value > 0) : options.points;
  const names = [...new Set(points.map((p) => p.series))];
  const box: Box = { left: 60, top: 32, width: 380, height: 200 };
  const steps = points.map((p) => p.step);
  const values = points.map((p) => p.value);
  const xMax = Math.max(1, ...steps);
  let yMin = Math.min(...values);
  let yMax = Math.max(...values);
  if (!(yMax > yMin)) {
    // A constant series (a fixed learning rate): half its value either side, or +-1 around zero.
    const pad = Math.abs(yMin) / 2 || 1;
    [yMin, yMax] = options.logScale ? [yMin / 2, yMax * 2] : [yMin - pad, yMax + pad];
  }
  const toLog = (v: number): number => Math.log10(v);
  const [low, high] = options.logScale ? [toLog(yMin), toLog(yMax)] : [yMin, yMax];
  const x = (step: number): number => box.left + (step / xMax) * box.width;
  const y = (value: number): number =>
    box.top + box.height - (((options.logScale ? toLog(value) : value) - low) / (high - low)) * box.height;
  const yTicks = options.logScale ? logTicks(yMin, yMax) : linearTicks(yMin, yMax);
  const solid = names.filter((name) => !faint.has(name));
  const colourOf = (name: string): string =>
    faint.has(name) ? FAINT_COLOUR : (SERIES_COLOURS[solid.indexOf(name) % SERIES_COLOURS.length] as string);
  const lines = names.map((name) => {
    const colour = colourOf(name);
    const own = points.filter((p) => p.series === name).sort((a, b) => a.step - b.step);
    const path = own.map((p, j) => `${j === 0 ? 'M' : 'L'}${fixed(x(p.step))},${fixed(y(p.value))}`).join('');
    const dots =
      !faint.has(name) && own.length <= MAX_DOTTED_POINTS
        ? own.map(
            (p) => `<circle cx="${fixed(x(p.step))}" cy="${fixed(y(p.value))}" r="3" fill="${colour}"/>`,
          )
        : [];
    return (
      `<g class="series" data-series="${escapeXml(name)}"><path class="line" d="${path}" fill="none" stroke="${colour}" ` +
      `stroke-width="1.5" opacity="${faint.has(name) ? 0.6 : 1}"/>${dots.join('')}</g>`
    );
  });
  const frame = `<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="#ddd"/>`;
  const key = legend(
    names.map((name) => ({ name, colour: colourOf(name) })),
    box.left,
    box.top + box.height + 48,
    box.width,
  );
  const body =
    axis('y', yTicks, y, box, options.yTitle) +
    axis('x', linearTicks(0, xMax), x, box, options.xTitle ?? 'optimizer step') +
    frame +
    lines.join('') +
    key.svg;
  const height = box.top + box.height + 60 + (key.rows - 1) * LEGEND_ROW;
  return svgDocument(box.left + box.width + 20, height, options.title, body);
}

/** Colour of `fraction` in [0, 1] on the blues scheme (linear between its stops). */
function blues(fraction: number): string {
  const position = Math.min(1, Math.max(0, fraction)) * (BLUES.length - 1);
  const i = Math.min(BLUES.length - 2, Math.floor(position));
  const from = BLUES[i] as string;
  const to = BLUES[i + 1] as string;
  const t = position - i;
  const channel = (k: number): string => {
    const a = parseInt(from.slice(1 + 2 * k, 3 + 2 * k), 16);
    const b = parseInt(to.slice(1 + 2 * k, 3 + 2 * k), 16);
    return Math.round(a + (b - a) * t)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

/**
 * The confusion matrix as a K x K heatmap: colour is the fraction of the true class (row-normalised,
 * so rare classes read the same as common ones), the text is the count.
 */
export function confusionSvg(matrix: ConfusionMatrix, classNames: readonly string[]): string {
  const k = classNames.length;
  const rates = normalizeConfusion(matrix, 'true');
  const size = Math.max(240, Math.min(560, k * 44));
  const cell = size / Math.max(1, k);
  const box: Box = { left: 70, top: 32, width: size, height: size };
  const fontSize = k > 12 ? 8 : 11;
  const cells: string[] = [];
  const labels: string[] = [];
  for (let t = 0; t < k; t++) {
    for (let p = 0; p < k; p++) {
      const rate = rates[t]?.[p] ?? 0;
      const count = matrix[t]?.[p] ?? 0;
      const cx = box.left + p * cell;
      const cy = box.top + t * cell;
      // NOTE: a sqrt colour scale keeps 1% off-diagonal cells visible next to a 99% diagonal.
      cells.push(
        `<rect class="cell" x="${fixed(cx)}" y="${fixed(cy)}" width="${fixed(cell)}" height="${fixed(cell)}" ` +
          `fill="${blues(Math.sqrt(rate))}" stroke="#fff"><title>${escapeXml(`${classNames[t]} → ${classNames[p]}: ${count} (${(rate * 100).toFixed(2)}%)`)}</title></rect>`,
      );
      labels.push(
        `<text class="cell-label" x="${fixed(cx + cell / 2)}" y="${fixed(cy + cell / 2)}" dy="0.32em" text-anchor="middle" ` +
          `font-size="${fontSize}" fill="${rate > 0.5 ? '#fff' : '#222'}">${count}</text>`,
      );
    }
  }
  const names = classNames.map(
    (name, i) =>
      `<text x="${fixed(box.left + (i + 0.5) * cell)}" y="${box.top + size + 14}" text-anchor="middle">${escapeXml(name)}</text>` +
      `<text x="${box.left - 5}" y="${fixed(box.top + (i + 0.5) * cell)}" dy="0.32em" text-anchor="end">${escapeXml(name)}</text>`,
  );
  const titles =
    `<text x="${box.left + size / 2}" y="${box.top + size + 32}" font-size="12" text-anchor="middle">predicted</text>` +
    `<text x="${box.left - 50}" y="${box.top + size / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 ${box.left - 50} ${box.top + size / 2})">true</text>`;
  return svgDocument(
    box.left + size + 20,
    box.top + size + 44,
    'Confusion matrix (colour: fraction of the true class; text: count)',
    `<g class="cells">${cells.join('')}</g><g class="cell-labels">${labels.join('')}</g><g class="axis">${names.join('')}${titles}</g>`,
  );
}

/** Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration. */
export function reliabilitySvg(bins: readonly ReliabilityBin[], ece: number): string {
  const box: Box = { left: 60, top: 32, width: 300, height: 220 };
  const x = (v: number): number => box.left + v * box.width;
  const y = (v: number): number => box.top + box.height - v * box.height;
  const ticks = linearTicks(0, 1);
  const bars = bins
    .filter((b) => b.count > 0)
    .map(
      (b) =>
        `<rect class="bar" x="${fixed(x(b.lower))}" y="${fixed(y(b.accuracy))}" width="${fixed(x(b.upper) - x(b.lower))}" ` +
        `height="${fixed(y(0) - y(b.accuracy))}" fill="#1f77b4" opacity="0.8" stroke="#fff"><title>${b.count} examples, ` +
        `confidence ${b.confidence.toFixed(3)}, accuracy ${b.accuracy.toFixed(3)}</title></rect>`,
    );
  const body =
    axis('y', ticks, y, box, 'accuracy') +
    axis('x', ticks, x, box, 'confidence') +
    `<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="#ddd"/>` +
    `<g class="bars">${bars.join('')}</g>` +
    `<line class="diagonal" x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#d62728" stroke-dasharray="4 3"/>`;
  return svgDocument(
    box.left + box.width + 20,
    box.top + box.height + 44,
    `Reliability (expected calibration error ${(ece * 100).toFixed(2)}%)`,
    body,
  );
}
