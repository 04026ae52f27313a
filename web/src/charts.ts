// Training curves with Chart.js (only the pieces used are registered, to keep the bundle small):
// loss on the left axis, accuracy (0..1, shown in %) on the right, x = epoch or optimizer step.
// Points are kept in full and drawn downsampled to at most `maxPoints` per series, once per frame.
// The legend names only the series that have points (a run without validation data shows no
// validation curves). The container's data-points attribute says how many points the chart shows,
// data-legend which series its legend names (tests read both).
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { BatchEndEvent } from '../../src/browser.js';
import type { EpochRecord } from './types.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

export interface SeriesSpec {
  label: string;
  color: string;
  axis: 'loss' | 'accuracy';
  dashed?: boolean;
}

interface Point {
  x: number;
  y: number;
}

export const LOSS_COLOR = '#e8590c';
export const ACCURACY_COLOR = '#1971c2';

export class CurveChart {
  private readonly chart: Chart<'line', Point[]>;
  private readonly points: Point[][];
  private readonly maxPoints: number;
  private frameRequested = false;

  constructor(
    private readonly container: HTMLElement,
    series: readonly SeriesSpec[],
    xTitle: string,
    options: { maxPoints?: number; pointRadius?: number } = {},
  ) {
    this.maxPoints = options.maxPoints ?? 400;
    container.replaceChildren();
    const canvas = document.createElement('canvas');
    container.append(canvas);
    this.points = series.map(() => []);
    this.chart = new Chart<'line', Point[]>(canvas, {
      type: 'line',
      data: {
        datasets: series.map((s) => ({
          label: s.label,
          data: [],
          borderColor: s.color,
          backgroundColor: s.color,
          borderWidth: 2,
          borderDash: s.dashed ? [6, 4] : [],
          pointRadius: options.pointRadius ?? 0,
          pointHitRadius: 6,
          tension: 0.2,
          yAxisID: s.axis,
        })),
      },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: {
          legend: {
            labels: {
              boxWidth: 12,
              boxHeight: 2,
              filter: (item, data) => (data.datasets[item.datasetIndex ?? -1]?.data.length ?? 0) > 0,
            },
          },
        },
        scales: {
          x: { type: 'linear', title: { display: true, text: xTitle }, ticks: { precision: 0 } },
          loss: {
            type: 'linear',
            position: 'left',
            beginAtZero: true,
            title: { display: true, text: 'loss' },
          },
          accuracy: {
            type: 'linear',
            position: 'right',
            min: 0,
            max: 1,
            grid: { drawOnChartArea: false },
            title: { display: true, text: 'accuracy' },
            ticks: { callback: (value) => `${Math.round(Number(value) * 100)}%` },
          },
        },
      },
    });
    this.render();
  }

  /** Appends one x with a value per series (undefined: no point for that series). */
  push(x: number, values: readonly (number | undefined)[]): void {
    values.forEach((y, i) => {
      if (y !== undefined && Number.isFinite(y)) this.points[i]?.push({ x, y });
    });
    this.scheduleRender();
  }

  /** Removes every point. */
  reset(): void {
    for (const series of this.points) series.length = 0;
    this.scheduleRender();
  }

  /** Removes the chart; the container says it shows nothing until the next chart draws there. */
  destroy(): void {
    this.chart.destroy();
    this.container.dataset['points'] = '0';
    this.container.dataset['received'] = '0';
    this.container.dataset['legend'] = '[]';
  }

  private scheduleRender(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      this.render();
    });
  }

  private render(): void {
    let shown = 0;
    this.points.forEach((series, i) => {
      const data = downsample(series, this.maxPoints);
      (this.chart.data.datasets[i] as { data: Point[] }).data = data;
      shown = Math.max(shown, data.length);
    });
    this.chart.update('none');
    this.container.dataset['points'] = String(shown);
    this.container.dataset['legend'] = JSON.stringify(
      this.chart.data.datasets.filter((d) => d.data.length > 0).map((d) => d.label),
    );
    this.container.dataset['received'] = String(Math.max(0, ...this.points.map((s) => s.length)));
  }
}

/** A run's batches by optimizer step: the epoch's running mean loss and the batch accuracy. */
export class StepChart extends CurveChart {
  constructor(container: HTMLElement) {
    super(
      container,
      [
        { label: 'loss (epoch mean so far)', color: LOSS_COLOR, axis: 'loss' },
        { label: 'accuracy', color: ACCURACY_COLOR, axis: 'accuracy' },
      ],
      'step',
    );
  }

  add(event: BatchEndEvent): void {
    this.push(event.step + 1, [event.loss, event.accuracy]);
  }
}

/** A run's epochs: training loss and accuracy, and the validation ones when the run has them. */
export class EpochChart extends CurveChart {
  private readonly epochs = new Set<number>();

  constructor(container: HTMLElement) {
    super(
      container,
      [
        { label: 'loss', color: LOSS_COLOR, axis: 'loss' },
        { label: 'accuracy', color: ACCURACY_COLOR, axis: 'accuracy' },
        { label: 'val loss', color: LOSS_COLOR, axis: 'loss', dashed: true },
        { label: 'val accuracy', color: ACCURACY_COLOR, axis: 'accuracy', dashed: true },
      ],
      'epoch',
      { pointRadius: 3 },
    );
  }

  /** Adds an epoch once: the run's history and its event stream may both carry it. */
  add(epoch: EpochRecord): void {
    if (this.epochs.has(epoch.epoch)) return;
    this.epochs.add(epoch.epoch);
    this.push(epoch.epoch + 1, [epoch.loss, epoch.accuracy, epoch.valLoss, epoch.valAccuracy]);
  }
}

/** Every `stride`-th point (stride a power of two, so kept points stay kept) and always the last. */
export function downsample(points: readonly Point[], maxPoints: number): Point[] {
  if (points.length <= maxPoints) return points.slice();
  let stride = 1;
  while (points.length / stride > maxPoints - 1) stride *= 2;
  const kept: Point[] = [];
  for (let i = 0; i < points.length - 1; i += stride) kept.push(points[i] as Point);
  kept.push(points[points.length - 1] as Point);
  return kept;
}
