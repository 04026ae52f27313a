// The Runs area: a table of runs (newest first) and the detail of the chosen one: per-epoch curves
// from its history, per-batch curves from its event stream (live while it trains), and its report.
// Each row shows the run's name under its model, so runs of one recipe are told apart at a glance.
import { api, messageOf } from './api.js';
import { EpochChart, StepChart, type CurveChart } from './charts.js';
import { followRun, type RunStream } from './stream.js';
import type { RunSummary } from './types.js';

export function formatAccuracy(accuracy: number | null): string {
  return accuracy === null ? '–' : `${(accuracy * 100).toFixed(2)}%`;
}

/**
 * A start time as short as it can be: "6:14 PM" today, "Nov 29, 6:14 PM" this year, with the year
 * before that (the user's locale decides the format); seconds on request.
 */
export function formatDate(iso: string, options: { seconds?: boolean } = {}): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const now = new Date();
  const today = date.toDateString() === now.toDateString();
  return date.toLocaleString(undefined, {
    ...(today ? {} : { month: 'short', day: 'numeric' }),
    ...(date.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' }),
    hour: 'numeric',
    minute: '2-digit',
    ...(options.seconds ? { second: '2-digit' } : {}),
  });
}

/**
 * A label per run that tells it from the others: model · dataset · best accuracy · start time, to
 * the minute; to the second where two runs would read the same; with the run's name where even
 * that is not enough (e.g. a copied run directory).
 */
export function runLabels(runs: readonly RunSummary[]): Map<string, string> {
  const levels = [
    (run: RunSummary) => [
      run.model,
      run.dataset ?? '?',
      formatAccuracy(run.bestAccuracy),
      formatDate(run.createdAt),
    ],
    (run: RunSummary) => [
      run.model,
      run.dataset ?? '?',
      formatAccuracy(run.bestAccuracy),
      formatDate(run.createdAt, { seconds: true }),
    ],
    (run: RunSummary) => [run.id, run.model, run.dataset ?? '?', formatAccuracy(run.bestAccuracy)],
  ];
  const labels = new Map<string, string>();
  let pending = [...runs];
  for (const [level, parts] of levels.entries()) {
    const texts = new Map(pending.map((run) => [run.id, parts(run).join(' · ')]));
    const uses = new Map<string, number>();
    for (const text of texts.values()) uses.set(text, (uses.get(text) ?? 0) + 1);
    const last = level === levels.length - 1;
    for (const [id, text] of texts) if (last || uses.get(text) === 1) labels.set(id, text);
    pending = pending.filter((run) => !labels.has(run.id));
  }
  return labels;
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
      const model = document.createElement('span');
      model.className = 'run-model';
      model.textContent = run.model;
      const name = document.createElement('span');
      name.className = 'run-id';
      name.textContent = run.id;
      button.append(model, name);
      button.addEventListener('click', () => void this.open(run.id));
      cell(row, '').append(button);
      cell(row, run.dataset ?? '–');
      cell(row, formatAccuracy(run.bestAccuracy), 'number');
      cell(row, String(run.epochs), 'number');
      cell(row, formatDate(run.createdAt, { seconds: true }));
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
      const epochChart = new EpochChart(this.detail.querySelector('.epoch-chart') as HTMLElement);
      for (const epoch of history) epochChart.add(epoch);
      const batchChart = new StepChart(this.detail.querySelector('.batch-chart') as HTMLElement);
      this.charts = [epochChart, batchChart];
      this.stream = followRun(runId, {
        onEvent: (event) => {
          if (event.type === 'batchEnd') batchChart.add(event);
          // Epochs ending after the history was read arrive through the stream only.
          if (event.type === 'epochEnd') epochChart.add(event);
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
