// The mnist-lab web app served by `mnist-lab serve`: draw a digit and see the chosen run's answer,
// computed in this page on the engine's js backend; browse runs and their curves; start a run and
// watch it train. Errors from the API are shown next to what failed, never thrown.
import { getBackend, VERSION, ZOO_MODEL_NAMES, type Prediction } from '../../src/browser.js';
import { api, messageOf } from './api.js';
import { renderBars, renderPreview } from './bars.js';
import { DrawingPad, PAD_SIZE } from './draw.js';
import { loadModel, predictDrawing, type LoadedModel } from './predictor.js';
import { runLabels, RunsView } from './runs.js';
import { TrainView } from './train.js';
import type { RunSummary } from './types.js';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found)
    throw new Error(`index.html has no element with id '${id}' (the page and app.js are out of step)`);
  return found as T;
}

function say(target: HTMLElement, message: string, isError = false): void {
  target.textContent = message;
  target.classList.toggle('error', isError);
}

const runSelect = element<HTMLSelectElement>('run-select');
const drawStatus = element('draw-status');
const answer = element('answer');
const bars = element('bars');
const preview = element<HTMLCanvasElement>('preview');
let current: LoadedModel | null = null;
const DIGITS = Array.from({ length: 10 }, (_, k) => String(k));

// ---- Draw ----

const pad = new DrawingPad(element<HTMLCanvasElement>('pad'), { onChange: () => predictNow() });

function predictNow(): void {
  if (!pad.hasInk) {
    showPrediction(null);
    return;
  }
  if (!current) return;
  try {
    const result = predictDrawing(current, pad.rgba(), PAD_SIZE, PAD_SIZE);
    showPrediction(result?.prediction ?? null, result?.image ?? null);
    if (result)
      say(drawStatus, `${result.milliseconds.toFixed(1)} ms in this browser (${getBackend().name} backend)`);
  } catch (error) {
    say(drawStatus, `prediction failed: ${messageOf(error)}`, true);
  }
}

function showPrediction(prediction: Prediction | null, image: Uint8Array | null = null): void {
  renderBars(bars, prediction, current?.classNames.length ? current.classNames : DIGITS);
  renderPreview(preview, image);
  answer.textContent = prediction ? prediction.name : '–';
  answer.classList.toggle('long', (prediction?.name.length ?? 0) > 3); // e.g. Fashion-MNIST's 'Sneaker'
  if (prediction) answer.dataset['label'] = String(prediction.label);
  else delete answer.dataset['label'];
}

element('clear').addEventListener('click', () => {
  pad.clear();
  showPrediction(null);
  if (current) say(drawStatus, 'draw a digit');
});

function useModel(loaded: LoadedModel): void {
  current = loaded;
  runSelect.dataset['loaded'] = loaded.runId;
  runSelect.dataset['checkpoint'] = loaded.checkpoint ?? '';
}

async function chooseModel(runId: string): Promise<void> {
  current = null;
  runSelect.dataset['loaded'] = '';
  say(drawStatus, `loading the model of run ${runId}…`);
  try {
    const loaded = await loadModel(runId);
    if (runSelect.value !== runId) return;
    useModel(loaded);
    say(drawStatus, pad.hasInk ? '' : 'model ready: draw a digit');
    predictNow();
  } catch (error) {
    if (runSelect.value === runId) say(drawStatus, `could not load run ${runId}: ${messageOf(error)}`, true);
  }
}

/** Keeps the chosen run's model at its latest checkpoint (a run picked while it trains moves on). */
async function refreshModel(): Promise<void> {
  const shown = current;
  if (!shown) return;
  try {
    const loaded = await loadModel(shown.runId);
    if (loaded === shown || current !== shown) return;
    useModel(loaded);
    say(drawStatus, `run ${loaded.runId}: using its newest checkpoint`);
    predictNow();
  } catch {
    // The run's checkpoint may be mid-write or gone: keep drawing with the model already loaded.
  }
}

runSelect.addEventListener('change', () => void chooseModel(runSelect.value));

/** The selector lists runs that have a model; the current choice is kept when it still exists. */
function fillRunSelect(runs: readonly RunSummary[]): void {
  const withModel = runs.filter((run) => run.hasModel);
  const labels = runLabels(withModel);
  const previous = runSelect.value;
  runSelect.replaceChildren(
    ...withModel.map((run) => {
      const option = document.createElement('option');
      option.value = run.id;
      option.textContent = labels.get(run.id) ?? run.id;
      return option;
    }),
  );
  runSelect.disabled = withModel.length === 0;
  if (withModel.length === 0) {
    say(drawStatus, 'no trained run yet: train one in the Train area, then draw here');
    return;
  }
  if (withModel.some((run) => run.id === previous)) runSelect.value = previous;
  if (runSelect.value !== previous || !current) void chooseModel(runSelect.value);
  else void refreshModel();
}

// ---- Runs ----

const runsView = new RunsView(
  element<HTMLTableElement>('runs-table'),
  element('run-detail'),
  element('runs-status'),
);

/** While a run is in progress the list is refreshed every few seconds, until none is. */
const RUNNING_REFRESH_MS = 3000;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;

async function refreshRuns(): Promise<void> {
  clearTimeout(refreshTimer);
  try {
    const runs = await api.runs();
    runsView.render(runs);
    fillRunSelect(runs);
    if (runs.some((run) => run.status === 'running' || run.status === 'evaluating'))
      refreshTimer = setTimeout(() => void refreshRuns(), RUNNING_REFRESH_MS);
  } catch (error) {
    runsView.showError(messageOf(error));
    say(drawStatus, `could not list the runs: ${messageOf(error)}`, true);
  }
}

// ---- Train ----

const recipeSelect = element<HTMLSelectElement>('train-model');
recipeSelect.replaceChildren(
  ...ZOO_MODEL_NAMES.map((name) => {
    const option = document.createElement('option');
    option.value = name;
    option.textContent = name;
    option.selected = name === 'fast';
    return option;
  }),
);
new TrainView({
  form: element<HTMLFormElement>('train-form'),
  status: element('train-status'),
  chart: element('live-chart'),
  onStarted: () => void refreshRuns(),
  onFinished: () => void refreshRuns(),
});

// ---- start ----

async function showHealth(): Promise<void> {
  const target = element('health');
  try {
    const health = await api.health();
    target.textContent = `v${health.version} · server trains on ${health.backend} · your drawings are read in this browser`;
  } catch (error) {
    say(target, messageOf(error), true);
  }
}

renderBars(bars, null, DIGITS);
renderPreview(preview, null);
element('version').textContent = `page v${VERSION}`;
void showHealth();
void refreshRuns();
// Back on the page: runs may have been added or trained on meanwhile (e.g. from the CLI).
window.addEventListener('focus', () => void refreshRuns());
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void refreshRuns();
});
