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
