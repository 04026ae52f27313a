// The Runs area: a table of runs (newest first) and the detail of the chosen one: per-epoch curves
// from its history, per-batch curves from its event stream (live while it trains), and its report.
import { api, messageOf } from './api.js';
import { ACCURACY_COLOR, CurveChart, LOSS_COLOR } from './charts.js';
import { followRun, type RunStream } from './stream.js';
import type { RunSummary } from './types.js';

export function formatAccuracy(accuracy: number | null): string {
  return accuracy === null ? '–' : `${(accuracy * 100).toFixed(2)}%`;
}

export function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function cell(row: HTMLTableRowElement, text: string, className?: string): HTMLTableCellElement {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

export class RunsView {
  private selected: string | null = null;
  private stream: RunStream | null = null;
  private charts: CurveChart[] = [];

  constructor(
    private readonly table: HTMLTableElement,
    private readonly detail: HTMLElement,
    private readonly status: HTMLElement,
  ) {}

  render(runs: readonly RunSummary[]): void {
    const body = this.table.tBodies[0] ?? this.table.createTBody();
    body.replaceChildren();
    this.status.textContent =
      runs.length === 0 ? "No runs yet: train one below or with 'mnist-lab train'." : '';
    this.status.classList.remove('error');
    for (const run of runs) {
      const row = body.insertRow();
      row.dataset['run'] = run.id;
      row.classList.toggle('selected', run.id === this.selected);
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link';
      button.textContent = run.model;
      button.title = run.id;
      button.addEventListener('click', () => void this.open(run.id));
      cell(row, '').append(button);
      cell(row, run.dataset ?? '–');
      cell(row, formatAccuracy(run.bestAccuracy), 'number');
      cell(row, String(run.epochs), 'number');
      cell(row, formatDate(run.createdAt));
      cell(row, run.status, `status-${run.status}`);
    }
  }

  showError(message: string): void {
    this.status.textContent = message;
    this.status.classList.add('error');
  }

  async open(runId: string): Promise<void> {
    this.selected = runId;
    this.table
      .querySelectorAll<HTMLElement>('tr[data-run]')
      .forEach((row) => row.classList.toggle('selected', row.dataset['run'] === runId));
    this.close();
    this.detail.hidden = false;
    const title = this.detail.querySelector('h3') as HTMLElement;
    const info = this.detail.querySelector('.run-info') as HTMLElement;
    const report = this.detail.querySelector('.run-report') as HTMLElement;
    title.textContent = runId;
    info.textContent = 'loading…';
    info.classList.remove('error');
    report.replaceChildren();
    try {
      const { run, history } = await api.run(runId);
      if (this.selected !== runId) return;
      info.textContent = `${run.model} on ${run.dataset ?? 'unknown data'} · ${run.status} · ${run.epochs} epoch${run.epochs === 1 ? '' : 's'} · best accuracy ${formatAccuracy(run.bestAccuracy)}`;
      const epochChart = new CurveChart(
        this.detail.querySelector('.epoch-chart') as HTMLElement,
        [
          { label: 'loss', color: LOSS_COLOR, axis: 'loss' },
          { label: 'accuracy', color: ACCURACY_COLOR, axis: 'accuracy' },
          { label: 'val loss', color: LOSS_COLOR, axis: 'loss', dashed: true },
          { label: 'val accuracy', color: ACCURACY_COLOR, axis: 'accuracy', dashed: true },
        ],
        'epoch',
        { pointRadius: 3 },
      );
      const plottedEpochs = new Set<number>();
      for (const h of history) {
        epochChart.push(h.epoch + 1, [h.loss, h.accuracy, h.valLoss, h.valAccuracy]);
        plottedEpochs.add(h.epoch);
      }
      const batchChart = new CurveChart(
        this.detail.querySelector('.batch-chart') as HTMLElement,
        [
          { label: 'loss (epoch mean so far)', color: LOSS_COLOR, axis: 'loss' },
          { label: 'accuracy', color: ACCURACY_COLOR, axis: 'accuracy' },
        ],
        'step',
      );
      this.charts = [epochChart, batchChart];
      this.stream = followRun(runId, {
        onEvent: (event) => {
          if (event.type === 'batchEnd') batchChart.push(event.step + 1, [event.loss, event.accuracy]);
          // Epochs ending after the history was read arrive through the stream only.
          if (event.type === 'epochEnd' && !plottedEpochs.has(event.epoch))
            epochChart.push(event.epoch + 1, [event.loss, event.accuracy, event.valLoss, event.valAccuracy]);
        },
        onError: (message) => {
          info.textContent = message;
          info.classList.add('error');
        },
      });
      if (run.hasReport) report.append(reportLinks(runId));
    } catch (error) {
      if (this.selected !== runId) return;
      info.textContent = messageOf(error);
      info.classList.add('error');
    }
  }

  private close(): void {
    this.stream?.close();
    this.stream = null;
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
  }
}

/** "open report" in a new tab, and the report inline, loaded when first unfolded. */
function reportLinks(runId: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  const link = document.createElement('a');
  link.href = api.reportUrl(runId);
  link.target = '_blank';
  link.rel = 'noopener';
  link.textContent = 'Open the report in a new tab';
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = 'Show the report here';
  details.append(summary);
  details.addEventListener('toggle', () => {
    if (!details.open || details.querySelector('iframe')) return;
    const frame = document.createElement('iframe');
    frame.title = `report of run ${runId}`;
    frame.src = api.reportUrl(runId);
    details.append(frame);
  });
  fragment.append(link, details);
  return fragment;
}
