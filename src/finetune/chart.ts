// The few-shot learning curve as a standalone SVG: test accuracy against K (log scale), one line
// per method. Pure; written next to the CSV by `finetune compare --few-shot`.
import { escapeXml } from '../eval/svg-charts.js';
import type { CompareRow } from './compare.js';

const SIZE = { width: 640, height: 400, left: 60, right: 150, top: 20, bottom: 50 } as const;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

export function learningCurveSvg(rows: readonly CompareRow[], title = 'few-shot learning curve'): string {
  const points = rows.filter((r) => r.shots !== undefined && Number.isFinite(r.accuracy));
  const shots = [...new Set(points.map((r) => r.shots as number))].sort((a, b) => a - b);
  const methods = [...new Set(points.map((r) => r.method))];
  const plotW = SIZE.width - SIZE.left - SIZE.right;
  const plotH = SIZE.height - SIZE.top - SIZE.bottom;
  const logMin = Math.log10(shots[0] ?? 1);
  const logMax = Math.log10(shots[shots.length - 1] ?? 10);
  const x = (k: number): number =>
    SIZE.left + (logMax === logMin ? plotW / 2 : ((Math.log10(k) - logMin) / (logMax - logMin)) * plotW);
  const y = (accuracy: number): number => SIZE.top + (1 - accuracy) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE.width}" height="${SIZE.height}" font-family="sans-serif" font-size="12">`,
    `<text x="${SIZE.left}" y="14">${escapeXml(title)}</text>`,
    `<rect x="${SIZE.left}" y="${SIZE.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  ];
  for (let a = 0; a <= 1.0001; a += 0.2) {
    parts.push(
      `<text x="${SIZE.left - 8}" y="${y(a) + 4}" text-anchor="end">${Math.round(a * 100)}%</text>`,
      `<line x1="${SIZE.left}" x2="${SIZE.left + plotW}" y1="${y(a)}" y2="${y(a)}" stroke="#eee"/>`,
    );
  }
  for (const k of shots) {
    parts.push(`<text x="${x(k)}" y="${SIZE.top + plotH + 18}" text-anchor="middle">${k}</text>`);
  }
  parts.push(
    `<text x="${SIZE.left + plotW / 2}" y="${SIZE.height - 10}" text-anchor="middle">K examples per class</text>`,
  );
  methods.forEach((method, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const line = points
      .filter((r) => r.method === method)
      .sort((a, b) => (a.shots as number) - (b.shots as number))
      .map((r) => `${x(r.shots as number).toFixed(1)},${y(r.accuracy).toFixed(1)}`);
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${line.join(' ')}"/>`,
      `<text x="${SIZE.left + plotW + 10}" y="${SIZE.top + 16 + i * 18}" fill="${color}">${escapeXml(method)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/**
 * The few-shot comparison as one self-contained page (report.html beside the CSV): test accuracy
 * per K (rows) and method (columns), then the curve. `command` says how it was made.
 */
export function fewShotReportHtml(rows: readonly CompareRow[], title: string, command: string): string {
  const shots = [...new Set(rows.map((r) => r.shots ?? 0))].sort((a, b) => a - b);
  const methods = [...new Set(rows.map((r) => r.method))];
  const cell = (k: number, method: string): string => {
    const row = rows.find((r) => (r.shots ?? 0) === k && r.method === method);
    return row ? `${(row.accuracy * 100).toFixed(2)}% <small>(${row.seconds.toFixed(0)} s)</small>` : '–';
  };
  const table =
    `<table><thead><tr><th>K per class</th>${methods.map((m) => `<th>${escapeXml(m)}</th>`).join('')}</tr></thead><tbody>` +
    shots
      .map((k) => `<tr><td>${k}</td>${methods.map((m) => `<td>${cell(k, m)}</td>`).join('')}</tr>`)
      .join('') +
    '</tbody></table>';
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>` +
    '<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330}' +
    'table{border-collapse:collapse}th,td{padding:4px 10px;border-bottom:1px solid #e3e6ec;text-align:right}' +
    'th:first-child,td:first-child{text-align:left}code{font-size:12px}</style></head><body>' +
    `<h1>${escapeXml(title)}</h1><p>Test accuracy (fine-tuning seconds) with K labelled training ` +
    `examples per class. Made by <code>${escapeXml(command)}</code>.</p>${table}` +
    `<figure>${learningCurveSvg(rows, title)}</figure></body></html>\n`
  );
}
