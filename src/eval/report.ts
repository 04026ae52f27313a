// report.html: one self-contained page (inline CSS and SVG, images as data URIs, no scripts, no
// network) with the run's configuration and environment, model summary, training curves, the
// per-class table, the confusion heatmap, calibration, the most confident mistakes and timings.
// Browser-safe: the caller supplies data; charts come from svg-charts.ts.
//
// Letters: K classes, S optimizer steps.
import type { AttentionMaps } from './attention.js';
import type { ClassifierEvaluation } from './evaluate.js';
import type { CurvePoint } from './charts.js';
import { confusionSvg, escapeXml, lineChartSvg, reliabilitySvg } from './svg-charts.js';

/** Training curves read from a run's event log. */
export interface TrainingCurves {
  loss: CurvePoint[];
  accuracy: CurvePoint[];
  /** Learning rate per step (series 'learning rate'). */
  learningRate: CurvePoint[];
}

/** One image of the gallery, already encoded (a `data:image/png;base64,...` URI). */
export interface GalleryItem {
  src: string;
  index: number;
  trueName: string;
  predictedName: string;
  confidence: number;
  trueProbability: number;
}

/** A section a caller adds to the page: its heading and body (HTML the caller built and escaped). */
export interface ReportSection {
  id: string;
  title: string;
  html: string;
}

/** One image's attention maps in the report. */
export interface AttentionPanel {
  /** The image (`data:image/png;base64,...`), side x side. */
  src: string;
  side: number;
  index: number;
  trueName: string;
  predictedName: string;
  correct: boolean;
  maps: AttentionMaps;
}

export interface ReportData {
  title: string;
  /** ISO time the report was written. */
  generatedAt: string;
  /** Label/value rows: model, dataset, epochs, optimizer, ... */
  config: readonly (readonly [string, string])[];
  /** Label/value rows: backend, threads, versions, platform. */
  environment: readonly (readonly [string, string])[];
  /** Model.summary() text. */
  modelSummary?: string;
  curves?: TrainingCurves;
  evaluation?: {
    dataset: string;
    split: string;
    classNames: readonly string[];
    result: ClassifierEvaluation;
  };
  gallery?: readonly GalleryItem[];
  /** The loss curve's axis title. Default 'cross-entropy'. */
  lossLabel?: string;
  /** Further sections after the training curves (a pretraining run's reconstructions): trusted HTML. */
  sections?: readonly ReportSection[];
  /** A vision transformer's attention over a few test images, right and wrong (attention.ts). */
  attention?: readonly AttentionPanel[];
  /** Label/value rows: training time, images per second, evaluation time. */
  timing: readonly (readonly [string, string])[];
}

/** The rendered charts (SVG strings), keyed by name: also what `--png` exports. */
export type ReportCharts = Record<string, string>;

/** The report pages' stylesheet (the run report's, and the compare report's). */
export const REPORT_STYLE = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --rule: #e3e6ec; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink);
  margin: 0; background: #f6f7f9; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--rule); }
.muted { color: var(--muted); }
section.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
.card { background: #fff; border: 1px solid var(--rule); border-radius: 8px; padding: 10px 14px; min-width: 140px; }
.card b { display: block; font-size: 20px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 16px; }
.grid.charts { grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); }
figure { margin: 0; background: #fff; border: 1px solid var(--rule); border-radius: 8px; padding: 10px;
  overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; background: #fff; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: right; }
th:first-child, td:first-child { text-align: left; }
table.kv td:last-child { text-align: left; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
tr.average td { font-weight: 600; background: #fafbfc; }
pre { background: #fff; border: 1px solid var(--rule); border-radius: 8px; padding: 12px; overflow-x: auto;
  font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
.gallery { display: flex; flex-wrap: wrap; gap: 10px; }
.gallery figure { width: 112px; text-align: center; padding: 6px; }
.gallery img { width: 84px; height: 84px; image-rendering: pixelated; display: block; margin: 0 auto 4px;
  background: #000; }
.gallery figcaption { font-size: 12px; }
.wrong { color: #c0392b; font-weight: 600; }
`;

const percent = (value: number, digits = 2): string => `${(value * 100).toFixed(digits)}%`;

function keyValueTable(rows: readonly (readonly [string, string])[], id: string): string {
  return `<table class="kv" id="${id}">${rows
    .map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(v)}</td></tr>`)
    .join('')}</table>`;
}

function figure(name: string, svg: string | undefined): string {
  return svg ? `<figure data-chart="${name}">${svg.replace(/^<\?xml[^>]*>/, '')}</figure>` : '';
}

function perClassTable(result: ClassifierEvaluation): string {
  const number = (v: number): string => v.toFixed(4);
  const rows = result.perClass.map(
    (c) =>
      `<tr><td>${escapeXml(c.name)}</td><td>${number(c.precision)}</td><td>${number(c.recall)}</td><td>${number(c.f1)}</td><td>${c.support}</td></tr>`,
  );
  const average = (
    name: string,
    a: { precision: number; recall: number; f1: number; support: number },
  ): string =>
    `<tr class="average"><td>${name}</td><td>${number(a.precision)}</td><td>${number(a.recall)}</td><td>${number(a.f1)}</td><td>${a.support}</td></tr>`;
  return (
    `<table id="per-class"><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead><tbody>` +
    rows.join('') +
    `<tr class="average"><td>accuracy</td><td></td><td></td><td>${number(result.accuracy)}</td><td>${result.count}</td></tr>` +
    average('macro avg', result.macro) +
    average('weighted avg', result.weighted) +
    `</tbody></table>`
  );
}

/**
 * Renders every chart the data allows: 'loss', 'accuracy', 'learning-rate', 'confusion', 'reliability'.
 * NOTE: drawn as SVG directly (svg-charts.ts): Vega took ~0.1 s per chart plus ~0.3 s to load, a
 * visible part of a 5-second training run.
 */
export async function renderReportCharts(data: ReportData): Promise<ReportCharts> {
  const charts: ReportCharts = {};
  const curves = data.curves;
  if (curves && curves.loss.length > 0) {
    charts['loss'] = lineChartSvg({
      title: 'Loss',
      yTitle: data.lossLabel ?? 'cross-entropy',
      points: curves.loss,
      faint: ['train (batch)'],
      logScale: true,
    });
  }
  if (curves && curves.accuracy.length > 0) {
    charts['accuracy'] = lineChartSvg({
      title: 'Accuracy',
      yTitle: 'accuracy',
      points: curves.accuracy,
      faint: ['train (batch)'],
    });
  }
  if (curves && curves.learningRate.length > 0) {
    charts['learning-rate'] = lineChartSvg({
      title: 'Learning rate',
      yTitle: 'learning rate',
      points: curves.learningRate,
    });
  }
  if (data.evaluation) {
    const { result, classNames } = data.evaluation;
    charts['confusion'] = confusionSvg(result.confusionMatrix, classNames);
    charts['reliability'] = reliabilitySvg(result.reliability, result.ece);
  }
  return charts;
}

/** The whole page. Pass `charts` when already rendered (e.g. also exported as PNG). */
export async function renderReportHtml(data: ReportData, charts?: ReportCharts): Promise<string> {
  const svg = charts ?? (await renderReportCharts(data));
  const parts: string[] = [];
  parts.push(
    `<header><h1>${escapeXml(data.title)}</h1><div class="muted">written ${escapeXml(data.generatedAt)} by mnist-lab</div></header>`,
  );
  const evaluation = data.evaluation;
  if (evaluation) {
    const r = evaluation.result;
    const cards: [string, string][] = [
      [`${evaluation.split} accuracy`, percent(r.accuracy)],
      [`${evaluation.split} loss`, r.loss.toFixed(4)],
      ['top-2 accuracy', percent(r.top2Accuracy)],
      ['macro F1', r.macro.f1.toFixed(4)],
      ['calibration error', percent(r.ece)],
      ['images', r.count.toLocaleString('en-US')],
    ];
    parts.push(
      `<section class="cards" id="headline">${cards
        .map(
          ([k, v]) =>
            `<div class="card"><span class="muted">${escapeXml(k)}</span><b>${escapeXml(v)}</b></div>`,
        )
        .join('')}</section>`,
    );
  }
  parts.push(
    `<h2>Run</h2><div class="grid"><div><h3>Configuration</h3>${keyValueTable(data.config, 'config')}</div>` +
      `<div><h3>Environment</h3>${keyValueTable(data.environment, 'environment')}</div></div>`,
  );
  if (data.modelSummary)
    parts.push(`<h2>Model</h2><pre id="model-summary">${escapeXml(data.modelSummary)}</pre>`);
  if (svg['loss'] || svg['accuracy'] || svg['learning-rate']) {
    parts.push(
      `<h2>Training curves</h2><div class="grid charts">${figure('loss', svg['loss'])}${figure('accuracy', svg['accuracy'])}${figure('learning-rate', svg['learning-rate'])}</div>`,
    );
  }
  for (const section of data.sections ?? []) {
    parts.push(`<h2 id="${escapeXml(section.id)}">${escapeXml(section.title)}</h2>${section.html}`);
  }
  if (evaluation) {
    const r = evaluation.result;
    parts.push(
      `<h2>Evaluation: ${escapeXml(evaluation.dataset)} ${escapeXml(evaluation.split)} split</h2>` +
        `<div class="grid"><div>${perClassTable(r)}</div>${figure('reliability', svg['reliability'])}</div>`,
    );
    if (r.warnings.length > 0) {
      parts.push(
        `<p class="muted" id="warnings">Ill-defined values reported as 0: ${r.warnings
          .map((w) => escapeXml(`${w.metric} of ${w.name} (${w.reason})`))
          .join('; ')}.</p>`,
      );
    }
    parts.push(`<h3>Confusion matrix</h3>${figure('confusion', svg['confusion'])}`);
    const pairs = r.mostConfused
      .map(
        (p) =>
          `<tr><td>${escapeXml(p.name)} → ${escapeXml(p.predictedName)}</td><td>${p.count}</td><td>${percent(p.rate)}</td></tr>`,
      )
      .join('');
    parts.push(
      `<h3>Most confused pairs</h3><table id="most-confused"><thead><tr><th>true → predicted</th><th>count</th><th>of the true class</th></tr></thead><tbody>${pairs}</tbody></table>`,
    );
  }
  if (data.gallery && data.gallery.length > 0) {
    const items = data.gallery
      .map(
        (g) =>
          `<figure><img alt="test image ${g.index}" src="${g.src}"><figcaption>#${g.index}<br>true ${escapeXml(g.trueName)}<br><span class="wrong">predicted ${escapeXml(g.predictedName)}</span><br>${percent(g.confidence, 1)} (true ${percent(g.trueProbability, 1)})</figcaption></figure>`,
      )
      .join('');
    parts.push(
      `<h2>Most confident mistakes</h2><p class="muted">The misclassified test images the model was surest about.</p><div class="gallery" id="gallery">${items}</div>`,
    );
  }
  if (data.attention && data.attention.length > 0) parts.push(attentionSection(data.attention));
  parts.push(`<h2>Timing</h2>${keyValueTable(data.timing, 'timing')}`);
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeXml(data.title)}</title><style>${REPORT_STYLE}</style></head>` +
    `<body><main>${parts.join('\n')}</main></body></html>\n`
  );
}

/** One map: the image with each patch tinted by its weight (0..1). */
function attentionSvg(panel: AttentionPanel, weights: readonly number[], label: string): string {
  const zoom = 3;
  const size = panel.side * zoom;
  const G = panel.maps.grid;
  const cell = size / G;
  const cells = weights
    .map((w, i) =>
      w < 0.02
        ? ''
        : `<rect x="${((i % G) * cell).toFixed(2)}" y="${(Math.floor(i / G) * cell).toFixed(2)}" width="${cell.toFixed(2)}" height="${cell.toFixed(2)}" fill="#ff5a00" fill-opacity="${(0.75 * w).toFixed(3)}"/>`,
    )
    .join('');
  return (
    `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">` +
    `<image href="${panel.src}" width="${size}" height="${size}" style="image-rendering:pixelated"/>${cells}</svg>` +
    `<figcaption>${escapeXml(label)}</figcaption></figure>`
  );
}

function attentionSection(panels: readonly AttentionPanel[]): string {
  const rows = panels
    .map((panel) => {
      const verdict = panel.correct
        ? `true ${escapeXml(panel.trueName)}, predicted ${escapeXml(panel.predictedName)}`
        : `true ${escapeXml(panel.trueName)}, <span class="wrong">predicted ${escapeXml(panel.predictedName)}</span>`;
      const maps = [
        attentionSvg(panel, new Array<number>(panel.maps.rollout.length).fill(0), 'image'),
        attentionSvg(panel, panel.maps.rollout, 'rollout'),
        ...panel.maps.heads.map((weights, h) => attentionSvg(panel, weights, `head ${h + 1}`)),
      ].join('');
      return `<div class="attention-row"><div class="muted">#${panel.index}: ${verdict}</div><div class="gallery">${maps}</div></div>`;
    })
    .join('');
  return (
    `<h2>Attention</h2><p class="muted">Where the class token looks, on test images the model got right and ` +
    `on some of its mistakes: the attention rollout through every block (heads averaged, the residual ` +
    `path counted), then the last block's class-token attention per head. Each map is scaled to its own ` +
    `maximum.</p><div id="attention">${rows}</div>`
  );
}
